"""Attribute traversal (Pati & Lerch 2020, section 5): decode a clip along one attribute from low to high.

Every step aims the attribute at one value of an evenly spaced 0..1 grid (normalised over the model's range) in
every measure of the clip, with the other attributes held at the input's values; all steps run as one batched
engine call. Open loop is the paper's traversal (the regularised latent dimension moved to its calibrated value);
closed loop (the default) also measures the decoded candidates and refines them, as the daemon does.

The picture (`plot_traversal`) has one piano-roll row for the input and one per step, stacked, over the selected
bars, with note names on the pitch axis; below them the achieved attribute per step against the value asked, the
curve the paper plots to show that the dimension controls the attribute. Its size is bounded (at most
MAX_FIGURE_INCHES at 100 dpi) however long the clip: a long piece is drawn narrower per bar, never wider.
It uses matplotlib's object API (a Figure and an Agg canvas), so no global backend or state changes.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvae_live.core.atomic import write_atomic
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import Vocabulary, tokens_to_notes

log = logging.getLogger(__name__)


MAX_FIGURE_INCHES = (20.0, 24.0)  # width, height; at 100 dpi a PNG is at most 2000 x 2400 px
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """Scientific pitch notation of a MIDI pitch: 60 -> "C4", 69 -> "A4"."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True)
class Traversal:
    """The result of traverse.

    Attributes:
        attribute: the attribute traversed.
        values: float (S,), the normalised 0..1 value asked at each step, increasing.
        tokens: int64 (S, M, T), the clip decoded at each step.
        achieved: float (S, M), the normalised attribute of each decoded measure.
        before: float (M,), the normalised attribute of each input measure.
        engine_ms: engine time for all steps together.
        source: int64 (M, T), the input measures.
    """

    attribute: str
    values: np.ndarray
    tokens: np.ndarray
    achieved: np.ndarray
    before: np.ndarray
    engine_ms: float
    source: np.ndarray


def traverse(
    lm, tokens: np.ndarray, attribute: str, steps: int = 7, closed_loop: bool = True, seed: int = 0
) -> Traversal:
    """Decode the measures of a clip at `steps` values of one attribute, from 0 to 1.

    Args:
        lm: an engine.LiveModel.
        tokens: int64 (M, T), the clip's measures (T = the model's grid.ticks, 24 or 18).
        attribute: a steerable attribute of the model.
        steps: number of values, >= 2, evenly spaced over 0..1 inclusive.
        closed_loop: refine by measuring (True), or the paper's open-loop latent move (False).
        seed: random seed passed to the engine.

    Raises:
        UnknownAttributeError: the model has no such attribute, or cannot steer it.
    """
    assert steps >= 2, f"steps must be >= 2, got {steps}"
    lm.spec(attribute)  # fail before any work on a name the model lacks
    M = tokens.shape[0]
    values = np.linspace(0.0, 1.0, steps)
    batch = np.tile(tokens, (steps, 1))  # (S*M, T): step s holds rows s*M..s*M+M-1
    res = lm.regenerate(batch, {attribute: np.repeat(values, M)}, closed_loop=closed_loop, seed=seed)
    return Traversal(
        attribute=attribute,
        values=values,
        tokens=res.tokens[0].reshape(steps, M, -1),
        achieved=res.achieved[attribute][0].reshape(steps, M),
        before=lm.measure_attributes(tokens)[attribute],
        engine_ms=res.engine_ms,
        source=np.asarray(tokens),
    )


def _roll(ax, tokens: np.ndarray, vocab: Vocabulary, color: str, grid: Grid = SIMPLE) -> list[int]:
    """Draw one row's notes as rectangles (one PolyCollection), x in quarter notes; returns their pitches."""
    from matplotlib.collections import PolyCollection

    notes = tokens_to_notes(tokens, vocab, grid=grid)
    boxes = [
        [(n.start_beats, n.pitch - 0.4), (n.start_beats + 0.95 * n.dur_beats, n.pitch - 0.4),
         (n.start_beats + 0.95 * n.dur_beats, n.pitch + 0.4), (n.start_beats, n.pitch + 0.4)]
        for n in notes
    ]  # fmt: skip
    ax.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="none"))
    return [n.pitch for n in notes]


def plot_traversal(
    tr: Traversal, vocab: Vocabulary, path: Path, title: str, first_bar: int = 1, grid: Grid = SIMPLE
) -> Path:
    """Write a PNG: the input's and every step's piano roll, stacked, and the achieved attribute against the asked
    value (see the module docstring).

    Args:
        tr: the traversal.
        vocab: the model's vocabulary (token ids -> pitches).
        path: the PNG to write (atomically).
        title: the figure title.
        first_bar: the score's number of the first measure traversed, for the bar axis.
        grid: the tokens' grid: bar lines every grid.measure_quarters (4, 3 or 6 quarter notes).

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    S, M = tr.achieved.shape
    measure = grid.measure_quarters
    span = M * measure
    max_w, max_h = MAX_FIGURE_INCHES
    width = float(np.clip(6.0 + 0.25 * span, 10.0, max_w))
    row_h = min(1.2, (max_h - 4.0) / (S + 1))
    fig = Figure(figsize=(width, 4.0 + row_h * (S + 1)), layout="constrained")
    FigureCanvasAgg(fig)
    layout = fig.add_gridspec(S + 2, 1, height_ratios=[row_h] * (S + 1) + [3.0])
    rows = [fig.add_subplot(layout[0])]
    rows += [fig.add_subplot(layout[k], sharex=rows[0], sharey=rows[0]) for k in range(1, S + 1)]
    pitches = _roll(rows[0], tr.source, vocab, "0.35", grid)
    rows[0].set_ylabel(f"input\n{float(tr.before.mean()):.2f}", rotation=0, ha="right", va="center", fontsize=8)
    for s in range(S):
        pitches += _roll(rows[s + 1], tr.tokens[s], vocab, f"C{s % 10}", grid)
        label = f"step {s + 1}\n{tr.values[s]:.2f} -> {float(tr.achieved[s].mean()):.2f}"
        rows[s + 1].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    lo, hi = (min(pitches) - 1, max(pitches) + 1) if pitches else (vocab.pitch_low, vocab.pitch_high)
    names_every = 12 if hi - lo > 14 * row_h else 6  # C only in short rows, C and F# in taller ones
    ticks = [p for p in range(lo, hi + 1) if p % names_every == 0] or [lo]
    bar_step = max(1, int(np.ceil(M / 24)))  # at most ~24 bar labels
    for ax in rows:
        ax.set_ylim(lo - 0.5, hi + 0.5)
        ax.set_yticks(ticks, [note_name(p) for p in ticks], fontsize=7)
        ax.set_xlim(0, span)
        for m in range(1, M):
            ax.axvline(m * measure, color="0.85", lw=0.5, zorder=0)
        ax.tick_params(labelbottom=False)
    rows[-1].tick_params(labelbottom=True)
    rows[-1].set_xticks(
        [m * measure for m in range(0, M, bar_step)], [str(first_bar + m) for m in range(0, M, bar_step)]
    )
    rows[-1].set_xlabel("bar", fontsize=8)
    rows[0].set_title(f"{title}\nrows: asked -> achieved {tr.attribute}, mean over bars (normalised 0..1)",
                      fontsize=9)  # fmt: skip

    curve = fig.add_subplot(layout[S + 1])
    curve.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="asked")
    for m in range(M):
        curve.plot(tr.values, tr.achieved[:, m], "o", color="0.7", ms=3, label="per bar" if m == 0 else None)
    curve.plot(tr.values, tr.achieved.mean(axis=1), "o-", color="C3", lw=2, label="achieved, mean over bars")
    curve.axhline(float(tr.before.mean()), color="C0", lw=1, ls=":", label="input, mean")
    curve.set_xlabel(f"{tr.attribute} asked (normalised 0..1)")
    curve.set_ylabel("achieved")
    curve.set_xlim(-0.03, 1.03)
    curve.set_ylim(-0.03, 1.03)
    curve.grid(alpha=0.3)
    curve.legend(loc="upper left", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return write_atomic(path, buf.getvalue())
