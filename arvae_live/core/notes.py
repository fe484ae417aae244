"""Token measures -> the notes played back, with the velocities carried over from the input notes.

The model knows no velocities, so every output note takes the velocity of the input note whose onset is nearest
(the earlier one on a tie); without input notes, DEFAULT_VELOCITY. The daemon (osc_bridge), batch MIDI files
(batch.melody_with) and MIDI-port mode (call_response) all make their notes here, so they agree note for note.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import Note, Vocabulary, tokens_to_note_arrays

DEFAULT_VELOCITY = 100  # MIDI velocity of output notes when there are no input notes to carry from
# Fields of notes in onset order, plain Python lists: MIDI pitches, starts and durations in beats, velocities 1..127.
NoteFields = tuple[list[int], list[float], list[float], list[int]]


def carried_note_fields(
    tokens: np.ndarray,
    vocab: Vocabulary,
    source: Sequence[Note],
    length_beats: float | None = None,
    grid: Grid = SIMPLE,
) -> NoteFields:
    """The notes of tokens with carried velocities, as field lists (no Note object per note, for the daemon's
    reply stream).

    Args:
        tokens: int (M, grid.ticks) token ids (or a flat run of ticks), times counted from the first measure's start.
        vocab: the vocabulary the tokens were made with.
        source: the input notes velocities are carried from (times in beats on the same axis); empty for
            DEFAULT_VELOCITY everywhere.
        length_beats: the clip length in beats: notes starting at or after it are dropped and the last one is cut
            there; None keeps every note whole.
        grid: the grid the tokens are on (core/meters.py); times come back in quarter notes.

    Returns:
        (pitches, starts, durations, velocities), one entry per note, in onset order.
    """
    pitches, starts, durs = tokens_to_note_arrays(tokens, vocab, grid)
    if length_beats is not None:
        keep = starts < length_beats - 1e-9
        pitches, starts = pitches[keep], starts[keep]
        durs = np.minimum(durs[keep], length_beats - starts)
    vels = _nearest_velocities(starts, source)
    return pitches.tolist(), starts.tolist(), durs.tolist(), vels.tolist()


def carried_notes(
    tokens: np.ndarray,
    vocab: Vocabulary,
    source: Sequence[Note],
    length_beats: float | None = None,
    grid: Grid = SIMPLE,
) -> list[Note]:
    """`carried_note_fields` as Notes."""
    return [Note(*f) for f in zip(*carried_note_fields(tokens, vocab, source, length_beats, grid), strict=True)]


def _nearest_velocities(starts: np.ndarray, source: Sequence[Note]) -> np.ndarray:
    """int64 (N,) the velocity of the source note whose onset is nearest to each of starts (N,) beats, the earlier
    one on a tie; DEFAULT_VELOCITY everywhere without source notes."""
    if not source:
        return np.full(starts.shape, DEFAULT_VELOCITY, dtype=np.int64)
    # One searchsorted over all onsets. Among source notes with equal onsets (stable order) the one met first from
    # the note's side is taken: the last of an earlier group, the first of a later one.
    src_starts = np.fromiter((s.start_beats for s in source), dtype=np.float64, count=len(source))
    src_vels = np.fromiter((s.velocity for s in source), dtype=np.int64, count=len(source))
    order = np.argsort(src_starts, kind="stable")
    src_starts, src_vels = src_starts[order], src_vels[order]
    i = np.searchsorted(src_starts, starts)
    last = len(src_starts)
    before = src_starts[np.maximum(i - 1, 0)]
    after = src_starts[np.minimum(i, last - 1)]
    i -= (i == last) | ((i > 0) & (starts - before <= after - starts))
    return src_vels[i]
