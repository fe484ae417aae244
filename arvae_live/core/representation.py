"""The measure representation: notes <-> token measures on a grid, both directions.

One 4/4 measure (the simple grid, arvae_live/core/meters.py) is 24 ticks, 6 per beat, at 0, 1/4, 1/3, 1/2, 2/3 and
3/4 of the beat (Pati & Lerch 2020, after InpaintNet): 16th notes fall on ticks 0, 1, 3, 5 of a beat and 8th-note
triplets on 0, 2, 4. That grid is *not* uniform: tick lengths are 1/4, 1/12, 1/6, 1/6, 1/12, 1/4 of a beat. The
triple grid (3/4) is 3 such beats, 18 ticks; the compound grid (12/8, 6/8 in pairs) is 4 dotted-quarter beats of 6
uniform 16th-note ticks. Every function takes the grid (default: simple); times are always in quarter notes.

Each tick holds one token:
    HOLD (0)   the note or rest that began earlier goes on ("__" in the paper),
    REST (1)   a rest begins here,
    2 + p - pitch_low   a note of MIDI pitch p begins here (pitch_low..pitch_high, 55..84 by default).

Unlike the reference code, the vocabulary is MIDI numbers (no enharmonic spellings) and has no START/END padding
tokens: windows made only of padding are never built, and partial windows are padded with rests.

A clip is a run of measures; a note tied over a barline continues as HOLD at tick 0 of the next measure, as in the
paper, where windows are cut from one continuous token sequence.

Going from notes to tokens can change the input (off-grid onsets, chords, out-of-range pitches, overlaps); every
change is returned as an `Adjustment` so the caller can warn the user. Nothing is changed silently.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from arvae_live.core.meters import SIMPLE, TICKS_PER_BEAT, Grid
from arvae_live.errors import RepresentationError

# The simple (4/4) grid's sizes, for code that only ever handles it.
BEATS_PER_MEASURE = SIMPLE.beats  # 4
TICKS_PER_MEASURE = SIMPLE.ticks  # 24
# Position of each tick of the simple grid inside its beat, in beats (quarter notes).
TICK_OFFSETS_BEATS = SIMPLE.tick_offsets

HOLD = 0  # the previous note or rest goes on
REST = 1  # a rest begins
FIRST_PITCH_TOKEN = 2  # token of pitch_low; tokens >= this are note onsets

# A time within this many beats of a grid point counts as on the grid (float noise from DAWs and MIDI ticks).
_ON_GRID_TOL_BEATS = 1e-3

# Kinds of Adjustment, i.e. the ways the input can be changed to fit the grid.
SNAPPED = "snapped"  # onset or end moved to the nearest tick
FOLDED = "folded"  # pitch moved by octaves into the vocabulary's range
CHORD_REDUCED = "chord_reduced"  # notes starting on the same tick reduced to the highest
OVERLAP_TRIMMED = "overlap_trimmed"  # a note cut where the next melody note starts
DROPPED = "dropped"  # a note starting after the end of the clip


@dataclass(frozen=True, slots=True)
class Note:
    """One note of a clip, in beats (quarter notes) from the clip start.

    Attributes:
        pitch: MIDI pitch, 0..127.
        start_beats: onset in beats from the clip start, >= 0.
        dur_beats: duration in beats, > 0.
        velocity: MIDI velocity, 1..127.
    """

    pitch: int
    start_beats: float
    dur_beats: float
    velocity: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise RepresentationError(f"pitch must be in range 0..127, got {self.pitch}")
        if not (math.isfinite(self.start_beats) and self.start_beats >= 0):
            raise RepresentationError(f"start_beats must be a finite number >= 0, got {self.start_beats}")
        if not (math.isfinite(self.dur_beats) and self.dur_beats > 0):
            raise RepresentationError(f"dur_beats must be a finite number > 0, got {self.dur_beats}")
        if not 1 <= self.velocity <= 127:
            raise RepresentationError(f"velocity must be in range 1..127, got {self.velocity}")

    @property
    def end_beats(self) -> float:
        return self.start_beats + self.dur_beats


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A change made to the input to fit the representation, for one measure and one kind.

    Attributes:
        kind: one of SNAPPED, FOLDED, CHORD_REDUCED, OVERLAP_TRIMMED, DROPPED.
        measure: index of the measure (0-based, from the clip start) where it happened.
        count: how many notes it concerned in that measure.
    """

    kind: str
    measure: int
    count: int

    @property
    def message(self) -> str:
        what = {
            SNAPPED: "off-grid note(s) snapped to the nearest tick of the grid",
            FOLDED: "pitch(es) outside the model's range folded by octaves",
            CHORD_REDUCED: "chord note(s) dropped, keeping the top line",
            OVERLAP_TRIMMED: "overlapping note(s) shortened to keep one melody line",
            DROPPED: "note(s) after the end of the clip ignored",
        }[self.kind]
        return f"bar {self.measure + 1}: {self.count} {what}"


@dataclass(frozen=True)
class Vocabulary:
    """Token ids: HOLD, REST, then one per MIDI pitch pitch_low..pitch_high inclusive.

    Attributes:
        pitch_low: lowest MIDI pitch with a token, 0..127 (paper: 55, G3).
        pitch_high: highest MIDI pitch with a token, pitch_low+11..127 (paper: 84, C6); the range must hold an
            octave so that any pitch can be folded into it.
    """

    pitch_low: int = 55
    pitch_high: int = 84

    def __post_init__(self) -> None:
        if not (0 <= self.pitch_low <= 127 and 0 <= self.pitch_high <= 127):
            raise RepresentationError(
                f"pitch_low and pitch_high must be in range 0..127, got {self.pitch_low}..{self.pitch_high}"
            )
        if self.pitch_high - self.pitch_low < 11:
            raise RepresentationError(
                f"pitch range {self.pitch_low}..{self.pitch_high} must span at least an octave (12 pitches)"
            )

    @property
    def size(self) -> int:
        """Number of tokens, V = 2 + number of pitches (32 for 55..84)."""
        return FIRST_PITCH_TOKEN + self.pitch_high - self.pitch_low + 1

    @property
    def tokens(self) -> list[str]:
        """Human-readable token names, index = token id ("__", "rest", then MIDI numbers as strings)."""
        return ["__", "rest"] + [str(p) for p in range(self.pitch_low, self.pitch_high + 1)]

    def pitch_to_token(self, pitch: int) -> int:
        assert self.pitch_low <= pitch <= self.pitch_high, f"pitch {pitch} outside {self.pitch_low}..{self.pitch_high}"
        return FIRST_PITCH_TOKEN + pitch - self.pitch_low

    def token_to_pitch(self, token: int) -> int:
        assert FIRST_PITCH_TOKEN <= token < self.size, f"token {token} is not a pitch token"
        return self.pitch_low + token - FIRST_PITCH_TOKEN

    def fold(self, pitch: int) -> int:
        """Move a MIDI pitch by whole octaves into pitch_low..pitch_high (identity when already inside)."""
        while pitch < self.pitch_low:
            pitch += 12
        while pitch > self.pitch_high:
            pitch -= 12
        return pitch

    def to_dict(self, grid: Grid = SIMPLE) -> dict:
        """Plain-JSON form stored in checkpoints, with the ticks per measure of the model's grid."""
        return {
            "tokens": self.tokens,
            "ticks_per_measure": grid.ticks,
            "pitch_low": self.pitch_low,
            "pitch_high": self.pitch_high,
        }

    @classmethod
    def from_dict(cls, d: dict, grid: Grid = SIMPLE) -> Vocabulary:
        """Inverse of to_dict; refuses a vocabulary whose tick count (for the model's grid) or token list this code
        does not produce."""
        try:
            vocab = cls(int(d["pitch_low"]), int(d["pitch_high"]))
            ticks = int(d["ticks_per_measure"])
            tokens = list(d["tokens"])
        except (KeyError, TypeError, ValueError) as err:
            raise RepresentationError(f"malformed vocabulary {d!r}: {err}") from err
        if ticks != grid.ticks or tokens != vocab.tokens:
            raise RepresentationError(
                f"vocabulary with {ticks} ticks per measure and tokens {tokens[:4]}... is not the one this "
                f"version of arvae-live uses for the {grid.name} grid ({grid.ticks} ticks, {vocab.tokens[:4]}...)"
            )
        return vocab


def beats_to_ticks(beats: float | np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Nearest tick to a time in quarter notes from the clip start (global tick index, grid.ticks per measure).

    Args:
        beats: time(s) in quarter notes, >= 0.
        grid: the measure grid.

    Returns:
        int64 array of tick indices, same shape as the input. A time just before a beat rounds up to that beat.
    """
    in_beats = np.asarray(beats, dtype=np.float64) / grid.beat_quarters
    whole = np.floor(in_beats)
    frac = in_beats - whole
    idx = np.abs(frac[..., None] - grid.snap_points).argmin(axis=-1)  # 0..6, where 6 is the next downbeat
    return (whole.astype(np.int64) * TICKS_PER_BEAT + idx).astype(np.int64)


def ticks_to_beats(ticks: int | np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Time in quarter notes of global tick index(es); inverse of beats_to_ticks on the grid."""
    ticks = np.asarray(ticks, dtype=np.int64)
    in_beats = ticks // TICKS_PER_BEAT + np.asarray(grid.tick_offsets)[ticks % TICKS_PER_BEAT]
    return in_beats * grid.beat_quarters


def n_measures_for(length_beats: float, grid: Grid = SIMPLE) -> int:
    """Number of whole measures of the grid needed to hold a clip of length_beats quarter notes (a partial last
    measure counts as one)."""
    return max(0, math.ceil(length_beats / grid.measure_quarters - _ON_GRID_TOL_BEATS))


def notes_to_tokens(
    notes: Iterable[Note], n_measures: int, vocab: Vocabulary, grid: Grid = SIMPLE
) -> tuple[np.ndarray, list[Adjustment]]:
    """Put a clip's notes on the grid as token measures.

    Onsets and ends snap to the nearest tick; pitches outside the vocabulary fold by octaves; notes starting on the
    same tick reduce to the highest (the top line); a note still sounding when the next melody note starts is cut
    there; notes starting at or after the clip end are dropped. Each change is reported.

    Args:
        notes: the clip's notes, times in quarter notes from the clip start, any order.
        n_measures: clip length in measures of the grid, >= 0; notes are cut at its end.
        vocab: the vocabulary giving the pitch range.
        grid: the measure grid (simple: 4/4, 24 ticks).

    Returns:
        (tokens, adjustments): int64 array of shape (n_measures, grid.ticks) and the changes made, one Adjustment
        per measure and kind, in measure order.
    """
    if n_measures < 0:
        raise RepresentationError(f"n_measures must be >= 0, got {n_measures}")
    ticks_per_measure = grid.ticks
    total = n_measures * ticks_per_measure
    changes: Counter[tuple[int, str]] = Counter()

    placed: list[tuple[int, int, int]] = []  # (onset_tick, -pitch, end_tick)
    for note in notes:
        onset = int(beats_to_ticks(note.start_beats, grid))
        end = int(beats_to_ticks(note.end_beats, grid))
        if onset >= total:
            changes[(n_measures - 1 if n_measures else 0, DROPPED)] += 1
            continue
        measure = onset // ticks_per_measure
        if (
            abs(float(ticks_to_beats(onset, grid)) - note.start_beats) > _ON_GRID_TOL_BEATS
            or abs(float(ticks_to_beats(end, grid)) - note.end_beats) > _ON_GRID_TOL_BEATS
        ):
            changes[(measure, SNAPPED)] += 1
        pitch = vocab.fold(note.pitch)
        if pitch != note.pitch:
            changes[(measure, FOLDED)] += 1
        placed.append((onset, -pitch, max(end, onset + 1)))

    placed.sort()
    melody: list[list[int]] = []  # [onset, pitch, end]
    for onset, neg_pitch, end in placed:
        if melody and melody[-1][0] == onset:  # a lower note on a tick already taken by the top note
            changes[(onset // ticks_per_measure, CHORD_REDUCED)] += 1
            continue
        melody.append([onset, -neg_pitch, end])
    for prev, nxt in zip(melody, melody[1:]):
        if prev[2] > nxt[0]:
            changes[(nxt[0] // ticks_per_measure, OVERLAP_TRIMMED)] += 1
            prev[2] = nxt[0]

    flat = np.full(total, HOLD, dtype=np.int64)
    cursor = 0  # first tick not covered by a note so far
    for onset, pitch, end in melody:
        if onset > cursor:
            flat[cursor] = REST
        flat[onset] = vocab.pitch_to_token(pitch)
        cursor = min(end, total)
    if cursor < total:
        flat[cursor] = REST

    adjustments = [Adjustment(kind, m, n) for (m, kind), n in sorted(changes.items())]
    return flat.reshape(n_measures, ticks_per_measure), adjustments


def tokens_to_note_arrays(
    tokens: np.ndarray | Sequence[Sequence[int]], vocab: Vocabulary, grid: Grid = SIMPLE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tokens_to_notes as arrays, for callers that go on with arrays (velocities, file encoding) before making Notes.

    Args:
        tokens: int array of shape (n_measures, grid.ticks) (or a flat run of ticks), ids in 0..vocab.size-1.
        vocab: the vocabulary the tokens were made with.
        grid: the grid the tokens are on.

    Returns:
        (pitches int64 MIDI numbers, starts float64 quarters, durations float64 quarters), one entry per note in onset
        order: exactly the fields of tokens_to_notes' notes.
    """
    flat = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= vocab.size):
        raise RepresentationError(f"token ids must be in range 0..{vocab.size - 1}")
    # Every non-HOLD tick ends the event before it, so a note runs from its onset tick to the next non-HOLD tick (or
    # the clip end). The times are computed as ticks_to_beats computes them, so they are the same floats as a
    # tick-by-tick walk gives (tests/test_fast_paths.py checks it against one).
    events = np.flatnonzero(flat != HOLD)
    ends = np.empty_like(events)
    ends[:-1] = events[1:]
    ends[-1:] = flat.size
    is_note = flat[events] != REST
    onsets, ends = events[is_note], ends[is_note]
    starts = ticks_to_beats(onsets, grid)
    return flat[onsets] + (vocab.pitch_low - FIRST_PITCH_TOKEN), starts, ticks_to_beats(ends, grid) - starts


def tokens_to_notes(
    tokens: np.ndarray | Sequence[Sequence[int]],
    vocab: Vocabulary,
    velocity: int = 100,
    grid: Grid = SIMPLE,
) -> list[Note]:
    """Read notes back from token measures; the inverse of notes_to_tokens on the grid.

    A HOLD at the very start of the clip (nothing to continue) is silence. A HOLD at tick 0 of a later measure
    continues the note of the previous measure, so ties over barlines come back as one note.

    Args:
        tokens: int array of shape (n_measures, grid.ticks) (or a flat run of ticks), ids in 0..vocab.size-1.
        vocab: the vocabulary the tokens were made with.
        velocity: velocity of every returned note, 1..127.
        grid: the grid the tokens are on.

    Returns:
        The notes, in onset order, times in quarter notes from the start of the first measure.
    """
    pitches, starts, durs = tokens_to_note_arrays(tokens, vocab, grid)
    return [Note(p, s, d, velocity) for p, s, d in zip(pitches.tolist(), starts.tolist(), durs.tolist(), strict=True)]
