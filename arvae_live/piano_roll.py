"""Piano rolls on a matplotlib Axes, drawn with the object API: how this project draws melodies in figures.

The trainer's traversal figures (training/plots.py) draw with it, and the live side's traversal picture can too.
Callers build a `matplotlib.figure.Figure` and never use pyplot: a Figure has no global state and saves through its
own Agg canvas, so no backend is ever switched (a `matplotlib.use` call would change it for the whole process, a
notebook or an application embedding us included). matplotlib is imported inside the functions, so importing this
module costs nothing where nothing is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arvae_live.core.atomic import atomic_open
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import Vocabulary, tokens_to_notes

# Horizontal gap between two segments, in beats, so that a note ending one and a note starting the next do not merge.
GAP_BEATS = 0.5
# Visible gap after each note, in beats (a 16th is 0.25, the shortest tick 1/12), so repeated pitches stay apart.
_NOTE_GAP_BEATS = 0.04
_SEGMENT_LINE = "#cbd5e0"  # between segments
_BAR_LINE = "#e2e8f0"  # between the measures of one segment
_BEAT_LINE = "#edf2f7"  # faint beat lines help read syncopation
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI note number: 60 -> "C4", 61 -> "C#4"."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def draw_roll(
    ax: Any, segments: Sequence[np.ndarray], colours: Sequence[str], vocab: Vocabulary, grid: Grid = SIMPLE
) -> list[float]:
    """Draw token segments side by side on ax, one colour each, with beat and bar lines and named pitches.

    Args:
        ax: a matplotlib Axes.
        segments: int token ids, each (T,) for one measure or (M, T) for M consecutive measures (T = grid.ticks).
        colours: one matplotlib colour per segment.
        vocab: the tokens' vocabulary.
        grid: the tokens' grid: a measure is grid.measure_quarters wide (4, 3 or 6), beat lines every grid beat.

    Returns:
        The x centre of each segment, in beats from the left edge (for tick labels).
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    assert len(segments) == len(colours), f"{len(segments)} segments but {len(colours)} colours"
    rows = [np.atleast_2d(seg) for seg in segments]  # (M_k, T) each
    measure = grid.measure_quarters
    widths = np.array([len(r) * measure for r in rows], dtype=float)
    starts = np.concatenate([[0.0], np.cumsum(widths + GAP_BEATS)[:-1]])  # left edge of each segment, beats
    rects, rect_colours, pitches = [], [], []
    for x0, seg, colour in zip(starts, rows, colours):
        for note in tokens_to_notes(seg, vocab, grid=grid):
            length = max(note.dur_beats - _NOTE_GAP_BEATS, _NOTE_GAP_BEATS)
            rects.append(Rectangle((x0 + note.start_beats, note.pitch - 0.4), length, 0.8))
            rect_colours.append(colour)
            pitches.append(note.pitch)
    # One collection rather than one artist per note: thousands of artists are what make figures slow.
    ax.add_collection(PatchCollection(rects, facecolors=rect_colours, linewidths=0))
    ax.vlines(starts[1:] - GAP_BEATS / 2, 0, 128, color=_SEGMENT_LINE, lw=0.8)
    bars = np.concatenate([x0 + measure * np.arange(1, len(r)) for x0, r in zip(starts, rows)])
    ax.vlines(bars, 0, 128, color=_BAR_LINE, lw=0.7, zorder=0)
    beats = np.concatenate(
        [x0 + grid.beat_quarters * np.arange(1, w / grid.beat_quarters) for x0, w in zip(starts, widths)]
    )
    ax.vlines(np.setdiff1d(beats, bars), 0, 128, color=_BEAT_LINE, lw=0.6, zorder=0)
    lo, hi = (min(pitches), max(pitches)) if pitches else (60, 72)
    ax.set_ylim(lo - 2.5, hi + 2.5)
    ax.set_xlim(-0.25, starts[-1] + widths[-1] + 0.25)
    step = 1 if hi - lo <= 14 else 12  # every pitch on a narrow roll, only the Cs on a wide one
    named = [p for p in range(lo - 2, hi + 3) if p % step == 0]
    ax.set_yticks(named, [note_name(p) for p in named], fontsize=7 if step == 1 else None)
    ax.set_ylabel("pitch")
    return list(starts + widths / 2)


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write a Figure as a PNG, atomically (a reader never sees half a file). Returns the path."""
    path = Path(path)
    with atomic_open(path) as f:
        fig.savefig(f, format="png", dpi=dpi)
    return path
