"""The general dataset's parts: which corpora it lists, transposition on the fly, and novel held-out measures."""

from __future__ import annotations

import numpy as np
import pytest

from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD, REST, Vocabulary
from training.data import measure_keys, novel_mask, random_transpose


def _measure(*pitch_ticks: tuple[int, int]) -> np.ndarray:
    """One measure from (token id, onset tick) pairs, HOLD between onsets."""
    row = np.full(24, HOLD, dtype=np.int64)
    for token, tick in pitch_ticks:
        row[tick] = token
    return row


def test_random_transpose_keeps_rhythm_intervals_and_range():
    vocab = Vocabulary()
    top = vocab.size - 1
    tokens = np.stack(
        [
            _measure((FIRST_PITCH_TOKEN + 3, 0), (FIRST_PITCH_TOKEN + 10, 6), (REST, 12)),  # can move -3..+19
            _measure((FIRST_PITCH_TOKEN, 0), (top, 12)),  # spans the whole range: cannot move
            _measure((REST, 0)),  # no pitch: unchanged
        ]
    )
    shifts = set()
    for seed in range(300):
        out = random_transpose(tokens, np.random.default_rng(seed), vocab)
        pitched = tokens >= FIRST_PITCH_TOKEN
        np.testing.assert_array_equal(out[~pitched], tokens[~pitched])  # holds and rests stay put
        assert out[pitched].min() >= FIRST_PITCH_TOKEN and out.max() <= top
        np.testing.assert_array_equal(out[1:], tokens[1:])
        assert out[0, 6] - out[0, 0] == 7  # the interval survives
        shifts.add(int(out[0, 0] - tokens[0, 0]))
    assert shifts == set(range(-3, top - (FIRST_PITCH_TOKEN + 10) + 1))  # every in-range shift, and no other
    a = random_transpose(tokens, np.random.default_rng(7), vocab)
    np.testing.assert_array_equal(a, random_transpose(tokens, np.random.default_rng(7), vocab))


def test_held_out_measures_seen_in_train_in_any_key_are_not_novel():
    base = _measure((FIRST_PITCH_TOKEN + 2, 0), (FIRST_PITCH_TOKEN + 6, 12))
    up_a_fifth = np.where(base >= FIRST_PITCH_TOKEN, base + 7, base)
    other_rhythm = _measure((FIRST_PITCH_TOKEN + 2, 0), (FIRST_PITCH_TOKEN + 6, 6))
    tokens = np.stack([base, up_a_fifth, other_rhythm, base])
    split = np.array([0, 1, 2, 0])
    assert measure_keys(tokens)[0] == measure_keys(tokens)[1]
    assert measure_keys(tokens)[0] != measure_keys(tokens)[2]
    np.testing.assert_array_equal(novel_mask(tokens, split), [True, False, True, True])  # train always kept


def test_general_lists_every_melodic_corpus_but_the_held_out_one():
    pytest.importorskip("music21")
    from training.corpora import GENERAL_FOLDERS, HELD_OUT_FOLDERS, list_sources

    general, _, _ = list_sources("general")
    held_out, _, _ = list_sources("airds")
    folders = {s.name.split("/")[0] for s in general}
    assert {"bach", *GENERAL_FOLDERS} <= folders
    assert not folders & set(HELD_OUT_FOLDERS)
    assert held_out and {s.name.split("/")[0] for s in held_out} == set(HELD_OUT_FOLDERS)
    assert len({s.name for s in general}) == len(general)  # names are unique ids
