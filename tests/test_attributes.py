"""Attribute values of hand-written measures, worked out by hand from the paper's formulas (not by the code)."""

import numpy as np
import pytest
from conftest import tick_notes

from arvae_live.core.attributes import ATTRIBUTES, AttributeSpec, compute_attributes, get_attribute
from arvae_live.core.representation import notes_to_tokens
from arvae_live.errors import UnknownAttributeError

SUM_W = 27.79  # 0.20+0.67+0.25+0.67 + 4*(1+2+0.5+2+1)


def attrs(vocab, *spec):
    tokens, _ = notes_to_tokens(tick_notes(*spec), 1, vocab)
    return {k: float(v[0]) for k, v in compute_attributes(tokens, tuple(ATTRIBUTES)).items()}


def test_four_quarters(vocab):
    a = attrs(vocab, (60, 0, 6), (62, 6, 6), (64, 12, 6), (65, 18, 6))
    assert a["rhythmic_complexity"] == pytest.approx((0.20 + 0.67 + 0.25 + 0.67) / SUM_W)
    assert a["note_density"] == pytest.approx(4 / 24)
    assert a["pitch_range"] == pytest.approx(5 / 26)
    assert a["contour"] == pytest.approx(5 / 26)


def test_triplets_and_syncopation(vocab):
    # triplet C5 A4 F4 on beat 1, then an off-beat 8th D5 at beat 2.5 held to the end
    a = attrs(vocab, (72, 0, 2), (69, 2, 2), (65, 4, 2), (74, 9, 15))
    assert a["rhythmic_complexity"] == pytest.approx((0.20 + 2 + 2 + 0.5) / SUM_W)
    assert a["note_density"] == pytest.approx(4 / 24)
    assert a["pitch_range"] == pytest.approx((74 - 65) / 26)
    assert a["contour"] == pytest.approx((74 - 72) / 26)  # last minus first, not the sum of absolute steps


def test_falling_contour_and_tie_in(vocab):
    # a measure that starts with a tied-in note (HOLD at tick 0) then falls G5 -> D5
    tokens, _ = notes_to_tokens(tick_notes((60, 0, 30), (79, 30, 6), (74, 36, 12)), 2, vocab)
    a = {k: float(v[1]) for k, v in compute_attributes(tokens).items()}
    assert a["note_density"] == pytest.approx(2 / 24)
    assert a["rhythmic_complexity"] == pytest.approx((0.67 + 0.25) / SUM_W)  # onsets on the downbeats of beats 2, 3
    assert a["contour"] == pytest.approx(-5 / 26)
    assert a["pitch_range"] == pytest.approx(5 / 26)


def test_one_note_and_empty_measures_are_zero_range_and_contour(vocab):
    a = attrs(vocab, (60, 6, 12))
    assert (a["pitch_range"], a["contour"]) == (0.0, 0.0)
    assert a["note_density"] == pytest.approx(1 / 24)
    assert a["rhythmic_complexity"] == pytest.approx(0.67 / SUM_W)
    empty = attrs(vocab)
    assert empty == {
        "rhythmic_complexity": 0.0,
        "pitch_range": 0.0,
        "note_density": 0.0,
        "contour": 0.0,
        "register": (55 + 84) / 2,
        "syncopation": 0.0,
    }


def test_registry_and_spec(vocab):
    assert set(ATTRIBUTES) == {
        "rhythmic_complexity",
        "pitch_range",
        "note_density",
        "contour",
        "register",
        "syncopation",
    }
    with pytest.raises(UnknownAttributeError, match="known: rhythmic_complexity"):
        get_attribute("loudness")
    spec = AttributeSpec("note_density", 2, 0.0, 0.4, (-2.0, 0.0, 2.0), (0.05, 0.15, 0.3))
    assert spec.normalise(0.2) == pytest.approx(0.5)
    assert spec.normalise(0.8) == 1.0  # clipped
    assert spec.denormalise(0.25) == pytest.approx(0.1)
    assert spec.latent_for(0.15) == pytest.approx(0.0)
    assert spec.latent_for(0.225) == pytest.approx(1.0)
    assert AttributeSpec.from_dict(spec.to_dict()) == spec
    assert np.all(np.diff(spec.calibration_raw) > 0)


def test_register_is_the_mean_onset_pitch(vocab):
    a = attrs(vocab, (60, 0, 6), (64, 6, 6), (67, 12, 12))
    assert a["register"] == pytest.approx((60 + 64 + 67) / 3)
    # a bar with no onset (one note tied in from the bar before) sits in the middle of the vocabulary's range
    tokens, _ = notes_to_tokens(tick_notes((60, 0, 48)), 2, vocab)
    assert compute_attributes(tokens, ("register",))["register"][1] == pytest.approx((55 + 84) / 2)


def test_syncopation_scores_notes_held_across_stronger_beats(vocab):
    # quarter, half on beat 2 held over beat 3 (level 2 -> 3: 1), quarter: 1 / 3 onsets
    assert attrs(vocab, (60, 0, 6), (62, 6, 12), (64, 18, 6))["syncopation"] == pytest.approx(1 / 3)
    # an 8th off-beat held over beat 2 (level 1 -> 2: 1) and one held over beat 3 (level 1 -> 3: 2): 3 / 2 onsets
    assert attrs(vocab, (60, 3, 6), (62, 9, 15))["syncopation"] == pytest.approx(3 / 2)
    # a 16th before beat 3 held over it: level 0 -> 3
    assert attrs(vocab, (60, 0, 11), (62, 11, 13))["syncopation"] == pytest.approx(3 / 2)
    # density alone does not raise it: straight 16ths and straight quarters both score 0
    ticks_16th = (0, 1, 3, 5, 6, 7, 9, 11, 12, 13, 15, 17, 18, 19, 21, 23)  # 16ths fall on ticks 0, 1.5 -> 1, 3, ...
    notes = [(60 + k % 5, t, (list(ticks_16th) + [24])[k + 1] - t) for k, t in enumerate(ticks_16th)]
    assert attrs(vocab, *notes)["syncopation"] == 0.0
    assert attrs(vocab, (60, 0, 6), (62, 6, 6), (64, 12, 6), (65, 18, 6))["syncopation"] == 0.0
    # a rest breaks the hold: the 8th off-beat note ends before beat 2
    assert attrs(vocab, (60, 3, 2))["syncopation"] == 0.0


def test_new_attributes_stay_in_their_registry_range():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 32, size=(2000, 24))
    for name in ("register", "syncopation"):
        values = get_attribute(name).fn(tokens)
        assert values.min() >= ATTRIBUTES[name].raw_low and values.max() <= ATTRIBUTES[name].raw_high
