"""Calibration: for each regularised latent dim, a monotone table from latent value to the decoded attribute value.

The live engine turns a performer's target (a raw attribute value) into a first guess for the latent value with
`AttributeSpec.latent_for(raw)` = np.interp(raw, calibration_raw, calibration_z). This module measures that table on
real held-out measures: encode a sample (mu), set the attribute's dim to each point of a grid (the other dims keep
each measure's own code), decode with argmax, compute the attribute, and average over the sample per grid point.

np.interp needs strictly increasing calibration_raw, so the measured curve is made monotone by isotonic regression
(pool-adjacent-violators: a local dip is averaged with its neighbours, which is the least-squares monotone fit), and
each flat stretch is kept as one point at the middle of its z span. An attribute that *decreases* along its dim (the
AR loss only fixes the sign when training worked; an untrained or badly trained model may go either way) is logged and
stored with calibration_raw increasing and calibration_z decreasing, which latent_for reads correctly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from arvae_live.core.attributes import AttributeSpec, get_attribute
from arvae_live.core.batched import decode_batched, encode_batched
from arvae_live.core.model import MeasureVAE

log = logging.getLogger(__name__)


def monotone_table(z: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Turn a measured curve raw(z) into a table usable by np.interp(raw, table_raw, table_z).

    The direction is the sign of the Spearman correlation between z and raw (increasing when it is 0). The curve is
    fitted by isotonic regression in that direction; runs of equal fitted values collapse to one point placed at the
    middle of their z span. The table is then ordered by raw.

    Args:
        z: the grid of latent values, strictly increasing, shape (P,), P >= 1.
        raw: the mean attribute value decoded at each grid point, shape (P,).

    Returns:
        (table_z, table_raw, decreasing): table_raw strictly increasing; table_z increasing, or decreasing when
        `decreasing` is True; both of the same length, 1..P (1 when raw is flat along z).
    """
    from scipy.stats import spearmanr
    from sklearn.isotonic import IsotonicRegression

    z = np.asarray(z, dtype=np.float64)
    raw = np.asarray(raw, dtype=np.float64)
    assert z.ndim == 1 and z.shape == raw.shape and z.size >= 1, f"z {z.shape} and raw {raw.shape}"
    assert np.all(np.diff(z) > 0), "z grid must be strictly increasing"
    decreasing = bool(z.size > 1 and np.ptp(raw) > 0 and spearmanr(z, raw).statistic < 0)
    if decreasing:  # walk the grid backwards so that raw rises along the walk
        z, raw = z[::-1], raw[::-1]
    fitted = IsotonicRegression(increasing=True).fit_transform(np.arange(z.size, dtype=np.float64), raw)
    # PAVA gives every member of a pooled block the same mean; the tolerance only absorbs float noise.
    new_block = np.concatenate([[True], np.diff(fitted) > 1e-12 * max(1.0, float(np.abs(fitted).max()))])
    starts = np.flatnonzero(new_block)
    ends = np.append(starts[1:], z.size) - 1
    table_z = (z[starts] + z[ends]) / 2  # the middle of each block's z span
    table_raw = fitted[starts]
    return table_z, table_raw, decreasing


def attribute_curve(
    model: MeasureVAE,
    mu: np.ndarray,
    dim: int,
    attribute: str,
    grid: np.ndarray,
    *,
    batch_size: int = 1024,
) -> np.ndarray:
    """Mean decoded attribute value at each point of a grid on one latent dim.

    Args:
        model: the model (run in eval mode, where it is).
        mu: latent codes of the sample measures, float (M, Z).
        dim: the latent dim to sweep, 0..Z-1.
        attribute: registry name of the attribute to measure.
        grid: latent values for `dim`, shape (P,).
        batch_size: codes decoded per forward pass.

    Returns:
        float64 (P,): the mean over the M measures of the raw attribute of the argmax decoding.
    """
    mu = np.asarray(mu, dtype=np.float32)
    codes = np.repeat(mu[None], len(grid), axis=0)  # (P, M, Z)
    codes[:, :, dim] = np.asarray(grid, dtype=np.float32)[:, None]
    decoded = decode_batched(model, codes.reshape(-1, mu.shape[1]), batch_size=batch_size).tokens  # (P*M, ticks)
    values = get_attribute(attribute).fn(decoded, model.grid)  # latent-grid-major
    return np.asarray(values, dtype=np.float64).reshape(len(grid), len(mu)).mean(axis=1)


def calibrate(
    model: MeasureVAE,
    tokens: np.ndarray,
    specs: Sequence[AttributeSpec],
    *,
    n_points: int = 21,
    z_range: tuple[float, float] = (-4.0, 4.0),
    n_measures: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> list[AttributeSpec]:
    """Measure the latent -> attribute table of every regularised attribute.

    Args:
        model: the trained model, run in eval mode where it is (on its device).
        tokens: held-out int token ids (N, model.ticks), N >= 1.
        specs: the model's attributes; those with latent_dim None are returned unchanged.
        n_points: grid points on z_range, >= 2.
        z_range: (low, high) latent values swept, low < high (the prior's +-4 sigma by default, as the paper's
            traversals).
        n_measures: how many held-out measures (drawn without replacement, seeded) the curve averages over.
        seed: seed of that draw.
        progress: show a tqdm bar over attributes.

    Returns:
        The specs in the same order, with calibration_z and calibration_raw replaced by the monotone table
        (calibration_raw strictly increasing, 1..n_points entries).
    """
    from tqdm import tqdm

    tokens = np.asarray(tokens, dtype=np.int64)
    assert tokens.ndim == 2 and tokens.shape[1] == model.ticks, (
        f"expected (N, {model.ticks}) tokens for the {model.grid.name} grid, got {tokens.shape}"
    )
    if len(tokens) < 1:
        raise ValueError("calibration needs at least one measure")
    if n_points < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    if not z_range[0] < z_range[1]:
        raise ValueError(f"z_range must be (low, high) with low < high, got {z_range}")
    rng = np.random.default_rng(seed)
    sample = tokens[np.sort(rng.choice(len(tokens), size=min(n_measures, len(tokens)), replace=False))]
    mu = encode_batched(model, sample).mu  # (M, Z)
    grid = np.linspace(z_range[0], z_range[1], n_points)

    out = []
    for spec in tqdm(specs, desc="calibrate", unit="attr", disable=not progress):
        if spec.latent_dim is None:
            out.append(spec)
            continue
        curve = attribute_curve(model, mu, spec.latent_dim, spec.name, grid)
        table_z, table_raw, decreasing = monotone_table(grid, curve)
        if decreasing:
            log.warning(
                "%s decreases along z[%d] (%.3g at z=%g, %.3g at z=%g); its calibration runs the other way",
                spec.name, spec.latent_dim, curve[0], grid[0], curve[-1], grid[-1],
            )  # fmt: skip
        if len(table_z) == 1:
            log.warning(
                "%s does not change along z[%d] (always %.3g): the model cannot steer it; one-point calibration",
                spec.name, spec.latent_dim, table_raw[0],
            )  # fmt: skip
        else:
            log.info(
                "%s on z[%d]: %d calibration points, raw %.3g..%.3g",
                spec.name, spec.latent_dim, len(table_z), table_raw[0], table_raw[-1],
            )  # fmt: skip
        out.append(
            replace(spec, calibration_z=tuple(map(float, table_z)), calibration_raw=tuple(map(float, table_raw)))
        )
    return out
