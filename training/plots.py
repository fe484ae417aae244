"""Latent-traversal figures like the paper's: piano rolls of measures decoded along one attribute's latent dim.

For each of a few measures: encode it (mu), set the attribute's dim to `steps` values from low to high (the other
dims keep the measure's own code), decode each with argmax, and draw the input and the decoded measures side by side
as one piano roll, with the attribute value measured on each decoded measure drawn as a curve above it. A working
model shows a rising curve and music that changes in the one respect the attribute names.

Drawn with arvae_live/piano_roll.py: matplotlib's object API (a Figure, no pyplot, no global backend switch), the
PNG written atomically.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from arvae_live.core.attributes import AttributeSpec, get_attribute
from arvae_live.core.batched import decode_batched, encode_batched
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import Vocabulary
from arvae_live.piano_roll import draw_roll, save_png

log = logging.getLogger(__name__)

_NOTE_COLOUR = "#2b6cb0"
_INPUT_COLOUR = "#718096"


def traversal_tokens(
    model: MeasureVAE,
    tokens: np.ndarray,
    dim: int,
    grid: np.ndarray,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Decode measures along one latent dim.

    Args:
        model: the model (run in eval mode; moved to `device`).
        tokens: int token ids (M, model.ticks) of the measures to traverse.
        dim: latent dim to sweep, 0..latent_dim-1.
        grid: latent values for that dim, shape (S,).
        device: where to run the model (it is moved there); None: where it is.

    Returns:
        int64 (M, S, model.ticks): measure m decoded with z[dim] = grid[s] and its own mu elsewhere.
    """
    mu = encode_batched(model, tokens, device=device).mu  # (M, Z)
    codes = np.repeat(mu[:, None], len(grid), axis=1)  # (M, S, Z)
    codes[:, :, dim] = np.asarray(grid, dtype=np.float32)
    decoded = decode_batched(model, codes.reshape(-1, mu.shape[1])).tokens  # (M*S, ticks)
    return decoded.reshape(len(tokens), len(grid), model.ticks)


def traversal_figure(
    model: MeasureVAE,
    tokens: np.ndarray,
    spec: AttributeSpec,
    path: str | os.PathLike,
    steps: int = 7,
    *,
    vocab: Vocabulary | None = None,
    z_range: tuple[float, float] = (-4.0, 4.0),
    max_measures: int = 3,
) -> Path:
    """Write a PNG of measures decoded along an attribute's latent dim, from z_range low to high.

    Each measure gets a row: the attribute value of every decoded step (a curve, the input's value dashed) above a
    piano roll of the input (grey) followed by the `steps` decoded measures (blue), labelled with their latent value.

    Args:
        model: the model, run where it is (on its device).
        tokens: int token ids (M, model.ticks); the first max_measures are drawn.
        spec: the attribute; needs a latent_dim.
        path: where to write the PNG (replaced atomically).
        steps: decoded steps per measure, >= 2.
        vocab: the vocabulary of the tokens (the default 55..84 when None).
        z_range: (low, high) latent values of the first and last step (the paper's traversals span -4..4).
        max_measures: at most this many rows, >= 1.

    Returns:
        The path written.

    Raises:
        ValueError: the attribute has no latent dim, or bad steps / tokens.
    """
    from matplotlib.figure import Figure

    if spec.latent_dim is None:
        raise ValueError(f"attribute {spec.name} has no regularised latent dim to traverse")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.ndim != 2 or tokens.shape[1] != model.ticks or len(tokens) == 0:
        raise ValueError(
            f"expected at least one measure as (M, {model.ticks}) tokens ({model.grid.name} grid), "
            f"got shape {tokens.shape}"
        )
    vocab = vocab or Vocabulary()
    tokens = tokens[:max_measures]
    grid = np.linspace(z_range[0], z_range[1], steps)
    decoded = traversal_tokens(model, tokens, spec.latent_dim, grid)  # (M, S, ticks)
    fn = get_attribute(spec.name).fn
    values = fn(decoded.reshape(-1, model.ticks), model.grid).reshape(len(tokens), steps)  # (M, S)
    input_values = fn(tokens, model.grid)  # (M,)

    rows = len(tokens)
    fig = Figure(figsize=(max(8.0, 1.45 * (steps + 1)), 3.4 * rows), layout="constrained")
    sub = fig.subfigures(rows, 1, squeeze=False)[:, 0]
    for m in range(rows):
        ax_curve, ax_roll = sub[m].subplots(2, 1, sharex=True, height_ratios=[1, 2.4])
        centres = draw_roll(ax_roll, [tokens[m], *decoded[m]], [_INPUT_COLOUR] + [_NOTE_COLOUR] * steps, vocab)
        ax_curve.plot(centres[1:], values[m], "o-", color=_NOTE_COLOUR, ms=4)
        ax_curve.axhline(input_values[m], color=_INPUT_COLOUR, ls="--", lw=1)
        ax_curve.plot(centres[:1], [input_values[m]], "s", color=_INPUT_COLOUR, ms=4)
        ax_curve.set_ylabel(spec.name.replace("_", " "), fontsize=8)
        ax_curve.grid(axis="y", color="#edf2f7")
        ax_roll.set_xticks(centres, ["input"] + [f"z[{spec.latent_dim}]={g:+.2g}" for g in grid], fontsize=8)
        ax_roll.tick_params(axis="x", length=0)
        sub[m].suptitle(
            f"measure {m + 1}: {spec.name} along z[{spec.latent_dim}] (input {input_values[m]:.3g})", fontsize=10
        )

    path = save_png(fig, path)
    log.info("wrote traversal of %s on z[%d] to %s", spec.name, spec.latent_dim, path)
    return path
