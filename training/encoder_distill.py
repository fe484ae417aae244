"""Fit the DistilledEncoder (arvae_live/core/distilled_encoder.py) of a trained MeasureVAE: `arvae-train distill`.

Training pairs: the training split's measures (for datasets stored with one transposition per piece, `copies` random
in-range transpositions of each, as training drew them), deduplicated; the target of each is the GRU encoder's
(mu, logvar). Loss: mean squared error on mu, plus a tenth of it on logvar (logvar only scales the posterior noise
of variations after the first). Adam with a cosine schedule.

Held out, on the validation split (at most `n_check` measures): the root-mean-square distance of its mu from the
encoder's, the share of tokens that decode (argmax) the same from its mu as from the encoder's, and the token
accuracy of each against the input. These go into the checkpoint with the weights, and `arvae-live inspect` shows
them.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from arvae_live.core.batched import decode_batched, encode_batched
from arvae_live.core.distilled_encoder import DistilledEncoder, DistilledEncoderConfig
from arvae_live.core.model import MeasureVAE

log = logging.getLogger(__name__)

PAIRS_BEFORE_DEDUP = 150_000  # the transposed copies DistillSettings.copies=None aims at


@dataclass(frozen=True)
class DistillSettings:
    """How the pairs are made and the net is fitted (the defaults are the shipped models')."""

    # Random transpositions of each train measure, where the dataset stores one per piece; None = enough for about
    # PAIRS_BEFORE_DEDUP pairs, 3 to 16: the general data needs 3, the 3/4 and 6/8 data (a third of its size) 10.
    # With 3 copies of the 3/4 data (25k pairs) the copy decoded 93.2 % of validation tokens right against the GRU
    # encoder's 96.7 %.
    copies: int | None = None
    hidden_dim: int = 768
    steps: int | None = None  # Adam steps; None = about 45 passes over the pairs, 200..10,000
    batch_size: int = 512
    lr: float = 2e-3  # Adam's initial learning rate (cosine schedule to 0)
    logvar_weight: float = 0.1
    n_check: int = 4096  # validation measures the held-out figures are measured on
    seed: int = 0  # seeds the transpositions, the init, the batches and the check subset


@dataclass
class DistillFit:
    """A fitted distilled encoder as the checkpoint stores it."""

    config: DistilledEncoderConfig
    state_dict: dict[str, torch.Tensor]
    heldout: dict[str, float]  # mu_rmse, decode_agreement, recon_acc, recon_acc_full, n_pairs, n_check

    def to_checkpoint(self) -> dict:
        return {"config": self.config.to_dict(), "state_dict": self.state_dict, "heldout": self.heldout}


def distill_pairs(
    model: MeasureVAE, train_tokens: np.ndarray, transpose: Any, settings: DistillSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (N, ticks) int64, the encoder's [mu | logvar] (N, 2 * latent) float32) to fit on.

    Args:
        transpose: f(tokens, rng) -> tokens randomly transposed, or None for a dataset that stores every
            transposition (its measures are used as they are, once).
    """
    rng = np.random.default_rng(settings.seed)
    if transpose is None:
        tokens = np.asarray(train_tokens, dtype=np.int64)
    else:
        copies = settings.copies or int(np.clip(math.ceil(PAIRS_BEFORE_DEDUP / max(len(train_tokens), 1)), 3, 16))
        tokens = np.concatenate([transpose(train_tokens, rng) for _ in range(copies)])
    tokens = np.unique(tokens, axis=0)
    enc = encode_batched(model, tokens, batch_size=1024)
    return tokens, np.concatenate([enc.mu, enc.logvar], axis=1).astype(np.float32)


def fit_distilled_encoder(
    model: MeasureVAE,
    train_tokens: np.ndarray,
    val_tokens: np.ndarray,
    device: torch.device,
    *,
    transpose: Any = None,
    settings: DistillSettings = DistillSettings(),
    progress: bool = True,
    **overrides: Any,
) -> DistillFit:
    """Fit a DistilledEncoder to model's encoder and measure it on held-out measures (module docstring).

    Args:
        model: the trained MeasureVAE (moved to device).
        train_tokens, val_tokens: int token ids (N, model.ticks) of the training and validation splits.
        device: where to encode, fit and check.
        transpose: see distill_pairs.
        settings: see DistillSettings; `overrides` replace its fields (e.g. steps=100).
        progress: progress bars.

    Returns:
        DistillFit with CPU weights and the held-out figures.
    """
    settings = dataclasses.replace(settings, **overrides)
    model = model.to(device).eval()
    tokens, target = distill_pairs(model, train_tokens, transpose, settings)
    steps = settings.steps
    if steps is None:
        steps = int(np.clip(45 * len(tokens) // settings.batch_size, 200, 10000))
    c = model.config
    config = DistilledEncoderConfig(model.ticks, c.vocab_size, c.latent_dim, settings.hidden_dim)
    torch.manual_seed(settings.seed)
    net = DistilledEncoder(config).to(device)
    x, y = torch.from_numpy(tokens).to(device), torch.from_numpy(target).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    Z = c.latent_dim
    bar = tqdm(range(steps), desc="distill encoder", disable=not progress, leave=False)
    for _ in bar:
        b = torch.randint(len(x), (settings.batch_size,), device=device)
        mu, logvar = net(x[b])
        loss = (mu - y[b, :Z]).pow(2).mean() + settings.logvar_weight * (logvar - y[b, Z:]).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    heldout = check_distilled(model, net, val_tokens, settings)
    heldout["n_pairs"] = float(len(tokens))
    log.info("distilled encoder: %s", ", ".join(f"{k} {v:.4g}" for k, v in heldout.items()))
    return DistillFit(config, {k: v.detach().cpu() for k, v in net.state_dict().items()}, heldout)


def check_distilled(
    model: MeasureVAE, net: DistilledEncoder, val_tokens: np.ndarray, settings: DistillSettings = DistillSettings()
) -> dict[str, float]:
    """The held-out figures of a distilled encoder on (at most settings.n_check) non-empty validation measures:
    mu_rmse (latent units), decode_agreement, recon_acc (decoded from its mu) and recon_acc_full (from the
    encoder's), each a fraction of tokens, and n_check."""
    tokens = np.asarray(val_tokens, dtype=np.int64)
    tokens = tokens[(tokens >= 2).any(axis=1)]  # an all-rest/hold bar says little about either encoder
    if len(tokens) > settings.n_check:
        rng = np.random.default_rng(settings.seed)
        tokens = tokens[rng.choice(len(tokens), settings.n_check, replace=False)]
    device = next(net.parameters()).device
    mu_full = encode_batched(model, tokens, batch_size=1024).mu
    with torch.inference_mode():
        mu = np.concatenate(
            [
                net(torch.from_numpy(tokens[i : i + 1024]).to(device))[0].cpu().numpy()
                for i in range(0, len(tokens), 1024)
            ]
        )
    full = decode_batched(model, mu_full).tokens
    mine = decode_batched(model, mu.astype(np.float32)).tokens
    return {
        "mu_rmse": float(np.sqrt(((mu - mu_full) ** 2).mean())),
        "decode_agreement": float((mine == full).mean()),
        "recon_acc": float((mine == tokens).mean()),
        "recon_acc_full": float((full == tokens).mean()),
        "n_check": float(len(tokens)),
    }


def distill_checkpoint(
    path: Path,
    command: str,
    *,
    device: str = "auto",
    data_cache: Path = Path("data_cache"),
    progress: bool = True,
    **overrides: Any,
) -> DistillFit:
    """Fit a distilled encoder for the checkpoint at path, on the splits of the dataset it was trained on, and write
    it into the file (atomically: the file stays whole or as it was), with provenance["distillation"] = the command
    that made it and the settings.

    Raises:
        CheckpointError: unreadable file, or no usable train_config in its provenance.
        ConfigError: its dataset is not prepared in data_cache (the message says how to prepare it).
    """
    from arvae_live.core.checkpoint import load_checkpoint, save_checkpoint
    from arvae_live.core.device import resolve_device
    from arvae_live.errors import CheckpointError
    from training.configs import TrainConfig
    from training.data import random_transpose
    from training.train import load_splits

    ckpt = load_checkpoint(path)
    try:
        cfg = TrainConfig.from_dict(ckpt.provenance["train_config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: provenance holds no usable train_config ({err})") from err
    train_tokens, val_tokens = load_splits(cfg, data_cache, progress)
    vocab = ckpt.vocabulary
    transpose = (lambda t, rng: random_transpose(t, rng, vocab)) if cfg.augment_transpose else None
    settings = dataclasses.replace(DistillSettings(), **overrides)
    fit = fit_distilled_encoder(
        ckpt.build_model(), train_tokens, val_tokens, resolve_device(device), transpose=transpose,
        settings=settings, progress=progress,
    )  # fmt: skip
    ckpt.distilled_encoder = fit.to_checkpoint()
    ckpt.provenance["distillation"] = {"command": command, "settings": dataclasses.asdict(settings)}
    save_checkpoint(ckpt, path)
    return fit
