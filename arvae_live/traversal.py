"""Attribute traversal (Pati & Lerch 2020, section 5): decode a clip along one attribute from low to high.

Every step aims the attribute at one value of an evenly spaced 0..1 grid (normalised over the model's range) in
every measure of the clip, with the other attributes held at the input's values; all steps run as one batched
engine call. Open loop is the paper's traversal (the regularised latent dimension moved to its calibrated value);
closed loop (the default) also measures the decoded candidates and refines them, as the daemon does.

The picture shows each step's piano roll side by side, and below it the achieved attribute per step against the
value asked, the curve the paper plots to show that the dimension controls the attribute.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvae_live.core.atomic import write_atomic
from arvae_live.core.representation import BEATS_PER_MEASURE, Vocabulary, tokens_to_notes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Traversal:
    """The result of traverse.

    Attributes:
        attribute: the attribute traversed.
        values: float (S,), the normalised 0..1 value asked at each step, increasing.
        tokens: int64 (S, M, 24), the clip decoded at each step.
        achieved: float (S, M), the normalised attribute of each decoded measure.
        before: float (M,), the normalised attribute of each input measure.
        engine_ms: engine time for all steps together.
    """

    attribute: str
    values: np.ndarray
    tokens: np.ndarray
    achieved: np.ndarray
    before: np.ndarray
    engine_ms: float


def traverse(
    lm, tokens: np.ndarray, attribute: str, steps: int = 7, closed_loop: bool = True, seed: int = 0
) -> Traversal:
    """Decode the measures of a clip at `steps` values of one attribute, from 0 to 1.

    Args:
        lm: an engine.LiveModel.
        tokens: int64 (M, 24), the clip's measures.
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
    batch = np.tile(tokens, (steps, 1))  # (S*M, 24): step s holds rows s*M..s*M+M-1
    res = lm.regenerate(batch, {attribute: np.repeat(values, M)}, closed_loop=closed_loop, seed=seed)
    return Traversal(
        attribute=attribute,
        values=values,
        tokens=res.tokens[0].reshape(steps, M, -1),
        achieved=res.achieved[attribute][0].reshape(steps, M),
        before=lm.measure_attributes(tokens)[attribute],
        engine_ms=res.engine_ms,
    )


def plot_traversal(tr: Traversal, vocab: Vocabulary, path: Path, title: str) -> Path:
    """Write a PNG: the piano roll of every step side by side, and the achieved attribute against the asked value.

    Args:
        tr: the traversal.
        vocab: the model's vocabulary (token ids -> pitches).
        path: the PNG to write (atomically).
        title: the figure title.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    S, M = tr.achieved.shape
    span = M * BEATS_PER_MEASURE  # beats per step
    fig, (roll, curve) = plt.subplots(
        2, 1, figsize=(max(8.0, 1.2 * S * max(1.0, M**0.5)), 7.0), gridspec_kw={"height_ratios": [3, 2]}
    )
    pitches = []
    for s in range(S):
        x0 = s * (span + 1)  # one empty beat between steps
        for n in tokens_to_notes(tr.tokens[s], vocab):
            roll.broken_barh([(x0 + n.start_beats, n.dur_beats * 0.95)], (n.pitch - 0.4, 0.8), color=f"C{s % 10}")
            pitches.append(n.pitch)
        for m in range(1, M):
            roll.axvline(x0 + m * BEATS_PER_MEASURE, color="0.85", lw=0.5)
        roll.text(x0 + span / 2, 1.0, f"{tr.values[s]:.2f}", transform=roll.get_xaxis_transform(), ha="center",
                  va="bottom", fontsize=9)  # fmt: skip
        if s:
            roll.axvline(x0 - 0.5, color="0.3", lw=1.0)
    lo, hi = (min(pitches) - 2, max(pitches) + 2) if pitches else (vocab.pitch_low, vocab.pitch_high)
    roll.set_ylim(lo, hi)
    roll.set_xlim(-0.5, S * (span + 1) - 0.5)
    roll.set_xticks([s * (span + 1) + span / 2 for s in range(S)], [f"step {s + 1}" for s in range(S)])
    roll.set_ylabel("MIDI pitch")
    roll.set_title(title, pad=18)

    curve.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="asked")
    for m in range(M):
        curve.plot(tr.values, tr.achieved[:, m], "o", color="0.7", ms=3, label="per measure" if m == 0 else None)
    curve.plot(tr.values, tr.achieved.mean(axis=1), "o-", color="C3", lw=2, label="achieved, mean over measures")
    curve.axhline(float(tr.before.mean()), color="C0", lw=1, ls=":", label="input, mean")
    curve.set_xlabel(f"{tr.attribute} asked (normalised 0..1)")
    curve.set_ylabel("achieved")
    curve.set_xlim(-0.03, 1.03)
    curve.set_ylim(-0.03, 1.03)
    curve.grid(alpha=0.3)
    curve.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return write_atomic(path, buf.getvalue())
