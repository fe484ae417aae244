"""Evaluation metrics: the AR-VAE paper's disentanglement scores, reconstruction and note accuracy, and a runner.

The disentanglement metrics are pure functions of a latent matrix z (N, Z) and an attribute matrix attrs (N, K) and
follow the ar-vae repository's `utils/evaluation.py` exactly (Pati & Lerch 2020, section 6; docs/metrics.md), so
that our numbers compare with the paper's box plots:

    interpretability  per attribute: latent dim of highest kNN mutual information, R^2 of a 1-D linear fit on it
    mig               mean over attributes of (top1 - top2 MI over latent dims) / self-MI of the attribute
    modularity        Ridgeway & Zemel, on the same continuous MI matrix, mean over latent dims
    sap               mean over attributes of (top1 - top2 squared Pearson r over latent dims)
    scc               mean over attributes of the largest |Spearman rho| over latent dims (0 where p > 0.05)

Mutual information uses sklearn's `mutual_info_regression` (k=3 neighbours, as the paper) with a fixed
`random_state`, so a run is reproducible; the paper left it unseeded (about +-0.01 between runs).

Deviations from the reference, on purpose (docs/metrics.md): the model is evaluated in eval mode (the reference's
test-only runs kept dropout on); z is sampled as the paper does, but from a seeded generator; a constant attribute
gives 0 instead of NaN in SAP and SCC.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from arvae_live.core.attributes import AttributeSpec, compute_attributes
from arvae_live.core.batched import decode_batched, encode_batched
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import FIRST_PITCH_TOKEN

log = logging.getLogger(__name__)

# Below this variance a latent dim or attribute counts as constant (the reference's SAP threshold).
_VAR_EPS = 1e-12
# SCC keeps a Spearman correlation only when it is significant at this level (as the reference).
_SCC_P_MAX = 0.05


class MetricResult(NamedTuple):
    """A metric's score and what it was made of.

    Attributes:
        score: the metric, a mean over attributes (over latent dims for modularity).
        details: named arrays; per-attribute entries have shape (K,), matrices (Z, K).
    """

    score: float
    details: dict[str, np.ndarray]


def _check(z: np.ndarray, attrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(z, dtype=np.float64)
    attrs = np.asarray(attrs, dtype=np.float64)
    if attrs.ndim == 1:
        attrs = attrs[:, None]
    if z.ndim != 2 or attrs.ndim != 2 or z.shape[0] != attrs.shape[0]:
        raise ValueError(f"expected z (N, Z) and attrs (N, K) with the same N, got {z.shape} and {attrs.shape}")
    if z.shape[0] < 4:
        raise ValueError(f"need at least 4 points to estimate the metrics, got {z.shape[0]}")
    if not (np.isfinite(z).all() and np.isfinite(attrs).all()):
        raise ValueError("z and attrs must be finite")
    return z, attrs


def mutual_info_matrix(z: np.ndarray, attrs: np.ndarray, seed: int = 0) -> np.ndarray:
    """kNN mutual information between every latent dim and every attribute (the paper's `_compute_mutual_info`).

    Args:
        z: latent codes, float (N, Z).
        attrs: attribute values, float (N, K).
        seed: random_state of sklearn's estimator (it adds tiny noise to break ties).

    Returns:
        MI in nats, float64 (Z, K), >= 0.
    """
    from sklearn.feature_selection import mutual_info_regression

    z, attrs = _check(z, attrs)
    return np.stack([mutual_info_regression(z, attrs[:, j], random_state=seed) for j in range(attrs.shape[1])], axis=1)


def _mi(z: np.ndarray, attrs: np.ndarray, mi: np.ndarray | None, seed: int) -> np.ndarray:
    if mi is None:
        return mutual_info_matrix(z, attrs, seed)
    mi = np.asarray(mi, dtype=np.float64)
    assert mi.shape == (z.shape[1], attrs.shape[1]), f"mi must be (Z, K) = {(z.shape[1], attrs.shape[1])}"
    return mi


def interpretability(z: np.ndarray, attrs: np.ndarray, *, mi: np.ndarray | None = None, seed: int = 0) -> MetricResult:
    """Interpretability (Adel et al. 2018, as ar-vae computes it).

    For each attribute: the latent dim with the highest mutual information, then the R^2 of a linear regression of
    the attribute on that one dim, fitted and scored on the same data.

    Args:
        z: latent codes, float (N, Z).
        attrs: attribute values, float (N, K).
        mi: a precomputed `mutual_info_matrix(z, attrs)` (Z, K), to share one estimate between metrics.
        seed: MI estimator seed when mi is not given.

    Returns:
        score = mean R^2 over attributes, in 0..1; details "dim" (K,) chosen dims, "r2" (K,), "mi" (Z, K).
    """
    from sklearn.linear_model import LinearRegression

    z, attrs = _check(z, attrs)
    mi = _mi(z, attrs, mi, seed)
    dims = mi.argmax(axis=0)
    r2 = np.empty(attrs.shape[1])
    for j, d in enumerate(dims):
        x = z[:, d : d + 1]
        r2[j] = LinearRegression().fit(x, attrs[:, j]).score(x, attrs[:, j])
    return MetricResult(float(r2.mean()), {"dim": dims, "r2": r2, "mi": mi})


def mig(z: np.ndarray, attrs: np.ndarray, *, mi: np.ndarray | None = None, seed: int = 0) -> MetricResult:
    """Mutual information gap, the paper's continuous variant.

    MIG = mean over attributes j of (largest - second largest MI(z_i; a_j) over i) / H_j, where the "entropy" H_j is
    the kNN estimate of MI(a_j; a_j) (the reference's `_compute_entropy`).

    Args:
        z: latent codes, float (N, Z) with Z >= 2.
        attrs: attribute values, float (N, K).
        mi: a precomputed `mutual_info_matrix(z, attrs)`.
        seed: MI estimator seed.

    Returns:
        score, about 0..1 (kNN estimates can stray slightly outside); details "gap" (K,) normalised gaps, "dim" (K,)
        the dim of highest MI, "entropy" (K,), "mi" (Z, K).
    """
    from sklearn.feature_selection import mutual_info_regression

    z, attrs = _check(z, attrs)
    if z.shape[1] < 2:
        raise ValueError("MIG needs at least 2 latent dims")
    mi = _mi(z, attrs, mi, seed)
    entropy = np.array([mutual_info_regression(a[:, None], a, random_state=seed)[0] for a in attrs.T], dtype=np.float64)
    top = np.sort(mi, axis=0)[::-1]  # (Z, K), descending
    # A constant attribute has no information to share (self-MI 0): its gap counts as 0, not NaN.
    gap = np.divide(top[0] - top[1], entropy, out=np.zeros_like(entropy), where=entropy > 0)
    return MetricResult(float(gap.mean()), {"gap": gap, "dim": mi.argmax(axis=0), "entropy": entropy, "mi": mi})


def modularity(z: np.ndarray, attrs: np.ndarray, *, mi: np.ndarray | None = None, seed: int = 0) -> MetricResult:
    """Modularity (Ridgeway & Zemel 2018) on the continuous MI matrix, as the reference computes it.

    For each latent dim i, with m = MI(z_i; a_j) over the K attributes:
    delta_i = (sum_j m_j^2 - max_j m_j^2) / (max_j m_j^2 * (K - 1)), score_i = 1 - delta_i, and 0 when max_j m_j is 0.
    The result is the mean over *all* latent dims, unregularised ones included.

    Args:
        z: latent codes, float (N, Z).
        attrs: attribute values, float (N, K) with K >= 2.
        mi: a precomputed `mutual_info_matrix(z, attrs)`.
        seed: MI estimator seed.

    Returns:
        score in 0..1; details "per_latent" (Z,), "mi" (Z, K).
    """
    z, attrs = _check(z, attrs)
    if attrs.shape[1] < 2:
        raise ValueError("modularity needs at least 2 attributes")
    mi = _mi(z, attrs, mi, seed)
    sq = mi**2
    top = sq.max(axis=1)
    delta = np.divide(sq.sum(axis=1) - top, top * (sq.shape[1] - 1), out=np.ones_like(top), where=top > 0)
    per_latent = np.where(top > 0, 1.0 - delta, 0.0)
    return MetricResult(float(per_latent.mean()), {"per_latent": per_latent, "mi": mi})


def sap(z: np.ndarray, attrs: np.ndarray) -> MetricResult:
    """Separated attribute predictability, the paper's continuous variant.

    S_ij = Cov(z_i, a_j)^2 / (Var z_i Var a_j) (squared Pearson r, sample covariances), 0 when either variance is
    below 1e-12; SAP = mean over attributes of (largest - second largest S_ij over latent dims).

    Args:
        z: latent codes, float (N, Z) with Z >= 2.
        attrs: attribute values, float (N, K).

    Returns:
        score in 0..1; details "gap" (K,), "dim" (K,) the most predictive dim, "matrix" (Z, K) of S.
    """
    z, attrs = _check(z, attrs)
    if z.shape[1] < 2:
        raise ValueError("SAP needs at least 2 latent dims")
    zc = z - z.mean(axis=0)
    ac = attrs - attrs.mean(axis=0)
    n = z.shape[0]
    cov = zc.T @ ac / (n - 1)  # (Z, K)
    var_z = (zc**2).sum(axis=0) / (n - 1)  # (Z,)
    var_a = (ac**2).sum(axis=0) / (n - 1)  # (K,)
    denom = var_z[:, None] * var_a[None, :]
    ok = (var_z[:, None] > _VAR_EPS) & (var_a[None, :] > _VAR_EPS)
    s = np.divide(cov**2, denom, out=np.zeros_like(cov), where=ok)
    top = np.sort(s, axis=0)[::-1]
    gap = top[0] - top[1]
    return MetricResult(float(gap.mean()), {"gap": gap, "dim": s.argmax(axis=0), "matrix": s})


def scc(z: np.ndarray, attrs: np.ndarray) -> MetricResult:
    """Spearman correlation coefficient score, as the reference computes it.

    S_ij = |Spearman rho(z_i, a_j)| when its p-value is <= 0.05, else 0 (also 0 for a constant column);
    SCC = mean over attributes of max_i S_ij.

    Args:
        z: latent codes, float (N, Z).
        attrs: attribute values, float (N, K).

    Returns:
        score in 0..1; details "rho" (K,) the best |rho| per attribute, "dim" (K,) its dim, "matrix" (Z, K).
    """
    from scipy.stats import spearmanr

    z, attrs = _check(z, attrs)
    s = np.zeros((z.shape[1], attrs.shape[1]))
    for i in range(z.shape[1]):
        for j in range(attrs.shape[1]):
            rho, p = _spearman(spearmanr, z[:, i], attrs[:, j])
            if p <= _SCC_P_MAX:
                s[i, j] = abs(rho)
    best = s.max(axis=0)
    return MetricResult(float(best.mean()), {"rho": best, "dim": s.argmax(axis=0), "matrix": s})


def _spearman(spearmanr, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(rho, p), with (0, 1) for a constant input, where scipy returns NaN and warns."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0, 1.0
    res = spearmanr(x, y)
    return float(res.statistic), float(res.pvalue)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Signed Spearman rank correlation of two 1-D arrays, in -1..1; 0 when either is constant."""
    from scipy.stats import spearmanr

    return _spearman(spearmanr, np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))[0]


def token_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Share of token positions where the prediction equals the target (the paper's reconstruction accuracy).

    Every position counts, holds and rests included, so it is dominated by the easy HOLD ticks.

    Args:
        pred, target: int token ids of the same shape, e.g. (N, 24).

    Returns:
        accuracy in 0..1.
    """
    pred, target = np.asarray(pred), np.asarray(target)
    assert pred.shape == target.shape and pred.size > 0, f"shapes {pred.shape} and {target.shape}"
    return float((pred == target).mean())


def note_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Note-level accuracy: of the ticks where the target or the prediction starts a note, the share where both
    start the same pitch.

    A tick counts when either token is a pitch token (id >= FIRST_PITCH_TOKEN); it is correct when the two tokens are
    equal there. So a missed note, a wrong pitch, and a spurious extra note each cost one counted tick; ticks where
    both hold or rest (HOLD and REST tokens, whatever they are) do not count. Note durations are not judged. Pooled over
    all measures (a micro average); 1.0 when no tick counts (nothing to get wrong).

    Args:
        pred, target: int token ids of the same shape, e.g. (N, 24).

    Returns:
        accuracy in 0..1.
    """
    pred, target = np.asarray(pred), np.asarray(target)
    assert pred.shape == target.shape, f"shapes {pred.shape} and {target.shape}"
    counted = (pred >= FIRST_PITCH_TOKEN) | (target >= FIRST_PITCH_TOKEN)
    n = int(counted.sum())
    return float((pred == target)[counted].sum() / n) if n else 1.0


class Reconstruction(NamedTuple):
    """Measures encoded, a z chosen, and decoded free-running with argmax (see `reconstruct`).

    Attributes:
        mu: float64 (N, Z), posterior means.
        z: float64 (N, Z), the codes decoded: sampled from the posterior, or mu.
        tokens: int64 (N, ticks), the decoded measures.
        ce: mean cross-entropy of the free-running logits against the input, nats per token (0.0 for no measures).
    """

    mu: np.ndarray
    z: np.ndarray
    tokens: np.ndarray
    ce: float


def reconstruct(
    model: MeasureVAE,
    tokens: np.ndarray,
    *,
    seed: int | None = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> Reconstruction:
    """Encode measures, sample z (or take the posterior mean), decode free-running with argmax, in eval mode.

    Args:
        model: the model; run in eval mode (its mode is restored afterwards).
        tokens: int token ids (N, model.ticks).
        seed: seed of the z sampling (the paper evaluates on sampled z); None decodes the posterior mean mu (what
            the daemon does for its first variation).
        batch_size: measures per forward pass, >= 1.
        device: where to run (the model is moved there); None: where the model is.
        progress: show a tqdm bar over the decoding batches.

    Returns:
        The Reconstruction.
    """
    enc = encode_batched(model, tokens, seed=seed, batch_size=batch_size, device=device)
    dec = decode_batched(model, enc.z, targets=tokens, batch_size=batch_size, progress=progress, desc="evaluate")
    ce = float(dec.ce.mean()) if len(dec.ce) else 0.0
    return Reconstruction(enc.mu.astype(np.float64), enc.z.astype(np.float64), dec.tokens, ce)


def validation_metrics(
    model: MeasureVAE,
    tokens: np.ndarray,
    attrs: np.ndarray,
    latent_dims: Sequence[tuple[str, int | None]],
    *,
    seed: int = 0,
    batch_size: int = 512,
) -> dict[str, float]:
    """The trainer's per-epoch validation: free-running reconstruction on sampled z (paper section 6), on the
    model's device.

    Args:
        model: the model (its train/eval mode is restored afterwards).
        tokens: validation int token ids (N, model.ticks).
        attrs: float (N, K) raw attribute values of `tokens`, column k for latent_dims[k].
        latent_dims: (attribute name, its regularised latent dim or None), one per column of attrs.
        seed: seed of the z sampling (its own generator: the training RNG stream is untouched).
        batch_size: measures per forward pass.

    Returns:
        val_recon_loss (mean CE, nats per token), val_recon_acc (token accuracy over all the grid's ticks, holds
        included as the paper), val_note_acc (`note_accuracy`, the `note_acc` of `arvae-train evaluate`), and
        val_spearman.<name> (Spearman rho of mu on the attribute's dim against it) for each regularised attribute
        that varies, with more than 2 measures.
    """
    if len(tokens) == 0:
        return {"val_recon_loss": 0.0, "val_recon_acc": 0.0, "val_note_acc": 1.0}
    rec = reconstruct(model, tokens, seed=seed, batch_size=batch_size)
    metrics = {
        "val_recon_loss": rec.ce,
        "val_recon_acc": token_accuracy(rec.tokens, tokens),
        "val_note_acc": note_accuracy(rec.tokens, tokens),  # pooled over all measures, a micro average
    }
    for k, (name, dim) in enumerate(latent_dims):
        if dim is not None and len(tokens) > 2 and np.ptp(attrs[:, k]) > 0:
            metrics[f"val_spearman.{name}"] = spearman(rec.mu[:, dim], attrs[:, k])
    return metrics


class MetricExtras(NamedTuple):
    """What model_metrics adds beyond the paper's metrics.

    novel: bool (N,), True for measures that occur in no transposition in the train split; adds the accuracies on
        those alone ("recon_acc_novel", "note_acc_novel", "n_novel"): a melody repeats itself, so most held-out
        measures of a corpus were seen in training (docs/metrics.md). None: not known.
    z_draws: with >= 2, modularity is also computed on z_draws - 1 more posterior samples ("modularity_mean",
        "modularity_sd" over all draws): one draw of z moves it by a few hundredths.
    """

    novel: np.ndarray | None = None
    z_draws: int = 1


def model_metrics(
    model: MeasureVAE,
    tokens: np.ndarray,
    attribute_specs: Sequence[AttributeSpec],
    *,
    batch_size: int = 256,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
    extras: MetricExtras | None = None,
) -> dict[str, float]:
    """All evaluation metrics of a model on held-out measures, as a flat dict (what goes into checkpoints).

    Encodes the measures in eval mode, samples z from the posterior with a generator seeded by `seed`, decodes
    free-running (argmax fed back, no teacher forcing), and computes the attributes of the *input* measures.

    Args:
        model: the model.
        tokens: held-out int token ids (N, model.ticks), N >= 4.
        attribute_specs: the model's attributes; all enter the disentanglement metrics, those with a latent_dim also
            get "spearman.<name>" (signed Spearman rho of that dim against the attribute).
        batch_size: measures per forward pass.
        seed: seed of z sampling and of the MI estimator.
        device: where to run the model.
        progress: show a tqdm bar.
        extras: novel-measure accuracies and modularity over several z draws (MetricExtras), or None.

    Returns:
        {"interpretability", "interpretability.<name>", "interpretability_dim.<name>", "mig", "mig.<name>", "sap",
        "sap.<name>", "scc", "scc.<name>", "modularity" (with >= 2 attributes), "recon_acc", "note_acc", "recon_ce",
        "recon_acc_mean", "note_acc_mean" (decoding the posterior mean instead of a sample),
        "spearman.<name>", "n_measures"}; accuracies in 0..1, dims as floats, recon_ce in nats per token.
    """
    if len(tokens) < 4:
        raise ValueError(f"need at least 4 held-out measures, got {len(tokens)}")
    names = [s.name for s in attribute_specs]
    _, z, pred, ce = reconstruct(model, tokens, seed=seed, batch_size=batch_size, device=device, progress=progress)
    attrs = np.stack(list(compute_attributes(np.asarray(tokens), names, model.grid).values()), axis=1)  # (N, K)
    log.info("metrics on %d measures, %d latent dims, %d attributes", len(tokens), z.shape[1], len(names))

    out: dict[str, float] = {"n_measures": float(len(tokens))}
    mi = mutual_info_matrix(z, attrs, seed)
    results = {
        "interpretability": interpretability(z, attrs, mi=mi),
        "mig": mig(z, attrs, mi=mi, seed=seed),
        "sap": sap(z, attrs),
        "scc": scc(z, attrs),
    }
    for key, res in results.items():
        out[key] = res.score
        per = res.details["r2"] if key == "interpretability" else res.details.get("gap", res.details.get("rho"))
        for name, value in zip(names, per):
            out[f"{key}.{name}"] = float(value)
    for name, dim in zip(names, results["interpretability"].details["dim"]):
        out[f"interpretability_dim.{name}"] = float(dim)
    if len(names) >= 2:  # modularity compares attributes with each other
        out["modularity"] = modularity(z, attrs, mi=mi).score
    out["recon_acc"] = token_accuracy(pred, tokens)
    out["note_acc"] = note_accuracy(pred, tokens)
    out["recon_ce"] = float(ce)
    # The paper's accuracy decodes a sampled z; the daemon's first variation decodes the mean, so report that too.
    pred_mean = reconstruct(model, tokens, seed=None, batch_size=batch_size, device=device).tokens
    out["recon_acc_mean"] = token_accuracy(pred_mean, tokens)
    out["note_acc_mean"] = note_accuracy(pred_mean, tokens)
    novel = extras.novel if extras is not None else None
    if novel is not None and novel.any():
        out["n_novel"] = float(novel.sum())
        out["recon_acc_novel"] = token_accuracy(pred[novel], tokens[novel])
        out["note_acc_novel"] = note_accuracy(pred[novel], tokens[novel])
    if extras is not None and extras.z_draws >= 2 and len(names) >= 2:
        draws = [out["modularity"]]
        for s in range(seed + 1, seed + extras.z_draws):
            z_s = encode_batched(model, tokens, seed=s, batch_size=batch_size, device=device).z.astype(np.float64)
            draws.append(modularity(z_s, attrs, seed=s).score)
        out["modularity_mean"], out["modularity_sd"] = float(np.mean(draws)), float(np.std(draws, ddof=1))
    for j, spec in enumerate(attribute_specs):
        if spec.latent_dim is not None:
            out[f"spearman.{spec.name}"] = spearman(z[:, spec.latent_dim], attrs[:, j])
    return out
