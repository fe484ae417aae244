"""Random melodies on a measure grid (core/meters.py: 24 ticks for 4/4 and 12/8, 18 for 3/4), as token measures:
the data of the `tiny` preset and of the tests.

Each measure draws its own number of notes, onset ticks, rests, pitch step size and direction, so the four paper
attributes (rhythmic complexity, note density, pitch range, contour) vary widely and not in lockstep. Seeded: the
same seed gives the same measures on every machine.
"""

from __future__ import annotations

import numpy as np

from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import HOLD, REST, Vocabulary


def random_measures(
    n: int, seed: int, vocab: Vocabulary | None = None, max_notes: int = 12, grid: Grid = SIMPLE
) -> np.ndarray:
    """n random monophonic measures as token ids.

    Args:
        n: number of measures, >= 0.
        seed: random seed; equal seeds give equal measures.
        vocab: the vocabulary (default: MIDI 55..84).
        max_notes: most onsets in a measure, 1..grid.ticks.
        grid: the measure grid; the simple grid's measures are the same as before grids existed (same seed, same
            measures).

    Returns:
        int64 array (n, grid.ticks): a note or rest starts at tick 0, every token is HOLD, REST or a pitch token.
    """
    vocab = vocab or Vocabulary()
    ticks = grid.ticks
    assert 1 <= max_notes <= ticks, f"max_notes must be in 1..{ticks}, got {max_notes}"
    rng = np.random.default_rng(seed)
    out = np.full((n, ticks), HOLD, dtype=np.int64)
    for row in out:
        k = int(rng.integers(1, max_notes + 1))
        onsets = np.sort(rng.choice(ticks, size=k, replace=False))
        # A random walk: its step size and drift set pitch range and contour independently of the rhythm.
        step_size = int(rng.integers(0, 6))
        drift = float(rng.uniform(-1.0, 1.0))
        pitch = int(rng.integers(vocab.pitch_low + 5, vocab.pitch_high - 5))
        for onset in onsets:
            row[onset] = vocab.pitch_to_token(int(np.clip(pitch, vocab.pitch_low, vocab.pitch_high)))
            pitch += int(round(drift * step_size + rng.integers(-step_size, step_size + 1) / 2))
        if onsets[0] != 0:
            row[0] = REST
        # Some notes end early: a rest starts inside a note (never inside a rest, which would merge with it).
        free = np.flatnonzero(row == HOLD)
        if free.size and rng.random() < 0.5:
            for t in np.sort(rng.choice(free, size=min(free.size, int(rng.integers(1, 3))), replace=False)):
                sounding = row[:t][row[:t] != HOLD]
                if sounding.size and sounding[-1] != REST:
                    row[t] = REST
    return out
