"""Notes <-> tokens on the 24-tick grid, with expected tokens written out by hand."""

import numpy as np
import pytest
from conftest import tick_notes

from arvae_live.core.representation import (
    CHORD_REDUCED,
    DROPPED,
    FOLDED,
    HOLD,
    OVERLAP_TRIMMED,
    REST,
    SNAPPED,
    Note,
    Vocabulary,
    beats_to_ticks,
    notes_to_tokens,
    ticks_to_beats,
    tokens_to_notes,
)
from arvae_live.errors import RepresentationError

H = HOLD
R = REST


def P(pitch: int) -> int:  # token of a pitch in the default vocabulary (55..84)
    return 2 + pitch - 55


def test_grid_positions_are_16ths_and_triplets():
    assert list(ticks_to_beats(range(7))) == pytest.approx([0, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0])
    assert list(beats_to_ticks([0, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0, 4.0])) == [0, 1, 2, 3, 4, 5, 6, 24]
    # snapping: 0.3 is nearer 1/3 (tick 2) than 1/4 (tick 1); 0.95 rounds up into the next beat
    assert list(beats_to_ticks([0.3, 0.95, 0.1])) == [2, 6, 0]


def test_quarters_by_hand(vocab):
    tokens, adj = notes_to_tokens(tick_notes((60, 0, 6), (62, 6, 6), (64, 12, 6), (65, 18, 6)), 1, vocab)
    expected = [P(60), H, H, H, H, H, P(62), H, H, H, H, H, P(64), H, H, H, H, H, P(65), H, H, H, H, H]
    assert tokens.tolist() == [expected]
    assert adj == []


def test_triplets_rests_and_16ths_by_hand(vocab):
    # beat 1: 8th-note triplet C D E; beat 2: rest; beat 3: four 16ths; beat 4: 8th G, 8th rest
    notes = tick_notes(
        (60, 0, 2), (62, 2, 2), (64, 4, 2), (65, 12, 1), (67, 13, 2), (69, 15, 2), (71, 17, 1), (72, 18, 3)
    )
    tokens, adj = notes_to_tokens(notes, 1, vocab)
    expected = [P(60), H, P(62), H, P(64), H,  R, H, H, H, H, H,
                P(65), P(67), H, P(69), H, P(71),  P(72), H, H, R, H, H]  # fmt: skip
    assert tokens.tolist() == [expected]
    assert adj == []


def test_tie_across_barline_is_a_hold_at_tick_0(vocab):
    # a half note starting on beat 4 of bar 1, tied into bar 2
    tokens, _adj = notes_to_tokens(tick_notes((67, 18, 12)), 2, vocab)
    assert tokens[0].tolist() == [R] + [H] * 17 + [P(67)] + [H] * 5
    assert tokens[1].tolist() == [H] * 6 + [R] + [H] * 17
    back = tokens_to_notes(tokens, vocab)
    assert back == [Note(67, 3.0, 2.0)]


def test_empty_measures_are_one_rest(vocab):
    tokens, adj = notes_to_tokens([], 2, vocab)
    assert tokens.tolist() == [[R] + [H] * 23, [H] * 24]
    assert tokens_to_notes(tokens, vocab) == []
    assert adj == []


def test_round_trip_is_identity_on_the_grid(vocab):
    notes = tick_notes(
        (60, 0, 2),
        (62, 2, 2),
        (64, 4, 2),
        (65, 12, 1),
        (67, 13, 2),
        (69, 15, 2),
        (71, 17, 1),
        (72, 18, 9),
        (55, 30, 1),
        (84, 31, 5),
        (70, 40, 8),
    )
    tokens, adj = notes_to_tokens(notes, 2, vocab)
    assert adj == []
    assert tokens_to_notes(tokens, vocab) == notes


def test_round_trip_random_grid_melodies(vocab):
    rng = np.random.default_rng(0)
    for _trial in range(50):
        cuts = np.sort(rng.choice(np.arange(1, 96), size=rng.integers(1, 30), replace=False))
        bounds = [0, *cuts.tolist(), 96]
        notes = []
        for a, b in zip(bounds, bounds[1:]):
            if rng.random() < 0.7:  # note, else rest
                notes.append((int(rng.integers(55, 85)), a, b - a))
        notes = tick_notes(*notes)
        tokens, adj = notes_to_tokens(notes, 4, vocab)
        assert adj == []
        assert tokens_to_notes(tokens, vocab) == notes


def test_changes_are_reported_never_silent(vocab):
    notes = [
        Note(60, 0.1, 0.9),  # off grid: snaps to 0..1
        Note(48, 1.0, 1.0),  # below range: folds to 60
        Note(64, 2.0, 1.0),
        Note(67, 2.0, 1.0),  # chord: keeps 67
        Note(69, 3.0, 2.0),
        Note(71, 4.5, 1.0),  # 69 overlaps into bar 2 past the next onset
        Note(72, 9.0, 1.0),  # starts after the 2-bar clip: dropped
    ]
    tokens, adj = notes_to_tokens(notes, 2, vocab)
    kinds = {(a.kind, a.measure, a.count) for a in adj}
    assert kinds == {(SNAPPED, 0, 1), (FOLDED, 0, 1), (CHORD_REDUCED, 0, 1), (OVERLAP_TRIMMED, 1, 1), (DROPPED, 1, 1)}
    assert tokens_to_notes(tokens, vocab) == [
        Note(60, 0.0, 1.0),
        Note(60, 1.0, 1.0),
        Note(67, 2.0, 1.0),
        Note(69, 3.0, 1.5),
        Note(71, 4.5, 1.0),
    ]
    assert all(a.message.startswith(f"bar {a.measure + 1}:") for a in adj)


def test_bad_values_are_refused(vocab):
    with pytest.raises(RepresentationError, match="velocity"):
        Note(60, 0.0, 1.0, velocity=0)
    with pytest.raises(RepresentationError, match="dur_beats"):
        Note(60, 0.0, 0.0)
    with pytest.raises(RepresentationError, match="pitch"):
        Note(128, 0.0, 1.0)
    with pytest.raises(RepresentationError, match="token ids"):
        tokens_to_notes(np.full((1, 24), 99), vocab)
    with pytest.raises(RepresentationError, match="octave"):
        Vocabulary(60, 65)


def test_vocabulary_dict_round_trip():
    v = Vocabulary(48, 90)
    assert Vocabulary.from_dict(v.to_dict()) == v
    assert v.size == 2 + 43
    with pytest.raises(RepresentationError):
        Vocabulary.from_dict({**v.to_dict(), "ticks_per_measure": 16})
