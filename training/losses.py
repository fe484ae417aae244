"""The training objectives as pure functions of tensors: ELBO terms, the AR regulariser, GLSR and CSVAE terms.

Each function takes what it needs (logits, posterior parameters, latent codes, attribute values) and returns a
scalar (or per-sample) tensor; the loop in train.py adds them up per objective. Formulas, and where
they depart from the papers (Pati & Lerch 2020; Hadjeres et al. 2017 for GLSR; Klys et al. 2018 for CSVAE), are in
docs/training.md, "Objectives".
The only module here is the CSVAE adversary, a small MLP that lives in training only and is never exported.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import FIRST_PITCH_TOKEN

# ---- ELBO ----------------------------------------------------------------------------------------------------------


def reconstruction_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over all B*T token positions, T = the grid's ticks (24, or 18 for 3/4) (paper:
    CrossEntropyLoss(reduction='mean')).

    Args:
        logits: (B, T, V), any float dtype (computed in float32).
        tokens: int64 (B, T), the targets.
    """
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tokens.reshape(-1))


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dims: (B, Z) -> (B,), in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def gaussian_kl(
    mu: torch.Tensor, logvar: torch.Tensor, prior_mu: torch.Tensor, prior_logvar: torch.Tensor
) -> torch.Tensor:
    """Elementwise KL(N(mu, exp(logvar)) || N(prior_mu, exp(prior_logvar))), same shape as mu, in nats."""
    return 0.5 * (prior_logvar - logvar + (logvar.exp() + (mu - prior_mu).pow(2)) / prior_logvar.exp() - 1.0)


def beta_at(step: int, beta: float, schedule: str = "constant", warmup_steps: int = 0, anneal_steps: int = 0) -> float:
    """The KL weight at an optimiser step (0-based).

    0 during the first warmup_steps; then "constant" is beta at once, "linear" rises linearly to beta over
    anneal_steps, and "exp" follows the dMelodies schedule exp(k ln(1 + beta) / anneal_steps) - 1, which reaches
    beta at k = anneal_steps. The paper's music runs use constant beta = 0.001 and no warm-up.
    """
    k = step - warmup_steps
    if k < 0:
        return 0.0
    if schedule == "constant":
        return beta
    frac = min(1.0, k / anneal_steps)
    if schedule == "linear":
        return beta * frac
    if schedule == "exp":
        return math.exp(frac * math.log1p(beta)) - 1.0
    raise ValueError(f"beta schedule must be constant, linear or exp, got {schedule!r}")


# ---- AR-VAE ----------------------------------------------------------------------------------------------------------


def ar_regularizer(z_r: torch.Tensor, attr: torch.Tensor, delta: float) -> torch.Tensor:
    """The AR-VAE attribute term for one attribute on one latent dim (Pati & Lerch 2020, eq. in section 3).

    Mean over all m^2 pairs (i, j), diagonal included, of |tanh(delta * (z_i - z_j)) - sign(a_i - a_j)|. Pairs with
    equal attribute values (sign 0) pull their codes together.

    Args:
        z_r: (m,) the regularised latent coordinate of each sample (the sampled z, not mu).
        attr: (m,) the attribute of each input measure, raw units.
        delta: spread of the tanh, > 0 (paper: 10).

    Returns:
        Scalar in 0..2.
    """
    dz = z_r[:, None] - z_r[None, :]  # (m, m)
    da = attr[:, None] - attr[None, :]
    return (torch.tanh(delta * dz) - torch.sign(da).to(dz.dtype)).abs().mean()


def attribute_regularization(
    z: torch.Tensor, attrs: torch.Tensor, dims: list[int], gamma: float, delta: float
) -> torch.Tensor:
    """gamma * sum over regularised attributes of ar_regularizer; any attribute may go on any dim.

    Args:
        z: (B, Z) latent codes.
        attrs: (B, K) raw attribute values, column k for the attribute regularised on dims[k].
        dims: K distinct latent dims.
        gamma: weight of the term (paper: 1).
        delta: tanh spread (paper: 10).
    """
    assert attrs.shape[1] == len(dims), f"{attrs.shape[1]} attribute columns for {len(dims)} dims"
    return gamma * sum(ar_regularizer(z[:, d], attrs[:, k], delta) for k, d in enumerate(dims))


# ---- GLSR-VAE ------------------------------------------------------------------------------------------------------


def onset_probability(probs: torch.Tensor) -> torch.Tensor:
    """Probability that each tick is a note onset: the softmax mass on pitch tokens. (B, T, V) -> (B, T)."""
    return probs[..., FIRST_PITCH_TOKEN:].sum(dim=-1)


def expected_rhythmic_complexity(probs: torch.Tensor, grid: Grid = SIMPLE) -> torch.Tensor:
    """E[rhythmic complexity] under independent per-tick softmaxes: sum_t w_t P(onset at t) / sum w, with the grid's
    weights. (B, grid.ticks, V) -> (B,), in 0..1."""
    weights = torch.as_tensor(grid.rc_weights / grid.rc_weights.sum(), dtype=probs.dtype, device=probs.device)
    return onset_probability(probs) @ weights


def expected_note_density(probs: torch.Tensor, grid: Grid = SIMPLE) -> torch.Tensor:
    """E[note density] = sum_t P(onset at t) / grid.ticks. (B, grid.ticks, V) -> (B,), in 0..1."""
    assert probs.shape[1] == grid.ticks, f"expected {grid.ticks} ticks for the {grid.name} grid, got {probs.shape}"
    return onset_probability(probs).sum(dim=1) / grid.ticks


# name -> f(probs (B, grid.ticks, V), grid) -> (B,)
EXPECTED_ATTRIBUTES: dict[str, Callable[[torch.Tensor, Grid], torch.Tensor]] = {
    "rhythmic_complexity": expected_rhythmic_complexity,
    "note_density": expected_note_density,
}


def glsr_regularization(
    z: torch.Tensor,
    decode_probs: Callable[[torch.Tensor], torch.Tensor],
    dims: list[int],
    attributes: list[str],
    scales: list[float],
    step: float,
    prior_mean: float,
    prior_std: float,
    grid: Grid = SIMPLE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GLSR term: Gaussian negative log prior on the derivative of each expected attribute along its latent dim.

    The derivative d E[a](g(z)) / d z_r is a central finite difference, (E[a](z + h e_r) - E[a](z - h e_r)) / 2h,
    with both sides decoded in one batch. The attribute is divided by its scale (training range) so the prior is in
    "fraction of the range per latent unit". Loss = mean over samples and attributes of
    0.5 * ((derivative - prior_mean) / prior_std)^2 (the -log density up to a constant).

    Args:
        z: (B, Z) latent codes (gradient flows through them and through decode_probs).
        decode_probs: z (N, Z) -> softmax probabilities (N, grid.ticks, V) of the decoded measure.
        dims: the regularised latent dims, one per attribute.
        attributes: names from EXPECTED_ATTRIBUTES.
        scales: raw range (high - low) of each attribute, > 0.
        step: finite-difference step h in latent units, > 0.
        prior_mean, prior_std: the Gaussian prior on the normalised derivative.
        grid: the model's measure grid (its tick count and rhythmic weights).

    Returns:
        (loss scalar, derivatives (B, K) detached, for logging).
    """
    B = z.shape[0]
    eye = torch.zeros(len(dims), 1, z.shape[1], device=z.device, dtype=z.dtype)
    for k, d in enumerate(dims):
        eye[k, 0, d] = step
    z_pm = torch.cat([z.unsqueeze(0) + eye, z.unsqueeze(0) - eye], dim=0).reshape(-1, z.shape[1])  # (2*K*B, Z)
    probs = decode_probs(z_pm).view(2, len(dims), B, grid.ticks, -1)
    derivs = []
    for k, name in enumerate(attributes):
        fn = EXPECTED_ATTRIBUTES[name]
        derivs.append((fn(probs[0, k], grid) - fn(probs[1, k], grid)) / (2 * step * scales[k]))  # (B,)
    deriv = torch.stack(derivs, dim=1)  # (B, K)
    loss = 0.5 * ((deriv - prior_mean) / prior_std).pow(2).mean()
    return loss, deriv.detach()


# ---- CSVAE ---------------------------------------------------------------------------------------------------------


def binary_labels(attrs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """y = 1 where the attribute is above its threshold (e.g. the training median: "syncopated"), else 0.

    Args:
        attrs: (N, K) raw attribute values. thresholds: (K,).

    Returns:
        float32 (N, K) of 0.0 / 1.0.
    """
    return (attrs > thresholds[None, :]).astype(np.float32)


def csvae_w_kl(
    mu_w: torch.Tensor,
    logvar_w: torch.Tensor,
    y: torch.Tensor,
    prior_means: tuple[float, float],
    prior_stds: tuple[float, float],
) -> torch.Tensor:
    """KL(q(w|x) || p(w|y)) with p(w|y) = N(prior_means[y], prior_stds[y]^2) per label dim; mean over the batch.

    Args:
        mu_w, logvar_w: (B, K) posterior on the label subspace w.
        y: (B, K) binary labels 0.0 / 1.0.
    """
    m0, m1 = prior_means
    lv0, lv1 = (2.0 * math.log(s) for s in prior_stds)
    p_mu = m0 + (m1 - m0) * y
    p_logvar = lv0 + (lv1 - lv0) * y
    return gaussian_kl(mu_w, logvar_w, p_mu, p_logvar).sum(dim=1).mean()


def bernoulli_negentropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum_k [q log q + (1-q) log(1-q)], q = sigmoid(logits): the adversary's negative
    entropy, which the encoder minimises so that y cannot be read from z. Minimum -K log 2 at q = 1/2. (B,K)->()."""
    log_q = F.logsigmoid(logits)
    log_1mq = F.logsigmoid(-logits)
    return (log_q.exp() * log_q + log_1mq.exp() * log_1mq).sum(dim=1).mean()


def adversary_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The adversary's loss: binary cross-entropy of predicting labels y (B, K) from z, mean over all entries."""
    return F.binary_cross_entropy_with_logits(logits, y)


class Adversary(nn.Module):
    """CSVAE's q(y|z): an MLP from the non-label latent dims to one logit per binary label. Training only."""

    def __init__(self, z_dim: int, n_labels: int, hidden_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, n_labels),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, z_dim) -> logits (B, n_labels)."""
        return self.net(z)
