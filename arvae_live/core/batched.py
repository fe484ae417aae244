"""Encode and decode many measures in batches: the one place that runs a MeasureVAE over a whole array.

Every tool that turns a token array into latents or latents back into tokens (validation, the evaluation metrics,
calibration, traversal figures, the attribute predictor's training pairs, export's self-check, benchmarks) goes
through `encode_batched` and `decode_batched`. They handle, once: the device (arrays in and out stay NumPy on the
CPU, the batches move), eval mode (dropout off, the model's previous mode restored afterwards) and
`torch.inference_mode`. Decoding is free-running with argmax, as the daemon decodes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from arvae_live.core.model import MeasureVAE

DEFAULT_BATCH_SIZE = 512  # measures per forward pass: the validation batch of the trainer


@dataclass(frozen=True)
class Encoding:
    """Posterior parameters of N measures, and the z chosen from them.

    Attributes:
        mu: float32 (N, Z), posterior means.
        logvar: float32 (N, Z), posterior log-variances.
        z: float32 (N, Z): a sample mu + sigma * eps when a seed was given, else mu itself.
    """

    mu: np.ndarray
    logvar: np.ndarray
    z: np.ndarray


@dataclass(frozen=True)
class Decoding:
    """N measures decoded free-running with argmax.

    Attributes:
        tokens: int64 (N, 24), token ids.
        ce: float64 (N,), mean cross-entropy in nats per token of the decoder's logits against the targets passed
            to decode_batched; None when no targets were given.
    """

    tokens: np.ndarray
    ce: np.ndarray | None = None


@contextlib.contextmanager
def _evaluating(model: MeasureVAE, device: str | torch.device | None) -> Iterator[torch.device]:
    """Eval mode and inference mode for the block, on `device` (the model is moved there; None = where it is)."""
    if device is not None:
        model.to(device)
    run_on = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield run_on
    finally:
        model.train(was_training)


def encode_batched(
    model: MeasureVAE,
    tokens: np.ndarray,
    *,
    seed: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | torch.device | None = None,
) -> Encoding:
    """Encode measures in batches.

    Args:
        model: the model; run in eval mode, its mode restored afterwards.
        tokens: int token ids (N, 24), N >= 0.
        seed: when given, z is sampled from the posterior with a generator seeded by it on the run device (the same
            draws whatever the batch size); None: z = mu.
        batch_size: measures per forward pass, >= 1.
        device: where to run; the model is moved there. None: where the model already is.

    Returns:
        The Encoding, NumPy arrays on the CPU.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    assert tokens.ndim == 2 and tokens.shape[1] == model.ticks, f"expected (N, {model.ticks}) tokens: {tokens.shape}"
    assert batch_size >= 1, f"batch_size must be >= 1, got {batch_size}"
    mus, logvars, zs = [], [], []
    with _evaluating(model, device) as dev:
        gen = None if seed is None else torch.Generator(device=dev).manual_seed(seed)
        for start in range(0, len(tokens), batch_size):
            mu, logvar = model.encode(torch.from_numpy(tokens[start : start + batch_size]).to(dev))  # (B, Z) each
            z = mu
            if gen is not None:  # the paper evaluates on sampled z; our own generator leaves the global RNG alone
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen, device=dev, dtype=mu.dtype)
            mus.append(mu.float().cpu().numpy())
            logvars.append(logvar.float().cpu().numpy())
            zs.append(z.float().cpu().numpy())
    empty = np.zeros((0, model.config.latent_dim), dtype=np.float32)
    mu, logvar, z = (np.concatenate(parts) if parts else empty for parts in (mus, logvars, zs))
    return Encoding(mu, logvar, z)


def decode_batched(
    model: MeasureVAE,
    z: np.ndarray | torch.Tensor,
    *,
    targets: np.ndarray | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | torch.device | None = None,
    progress: bool = False,
    desc: str = "decode",
) -> Decoding:
    """Decode latent codes in batches, free-running with argmax (each tick fed the previous tick's argmax).

    Args:
        model: the model; run in eval mode, its mode restored afterwards.
        z: latent codes (N, Z), N >= 0.
        targets: int token ids (N, 24) to score the logits against (cross-entropy), or None.
        batch_size: codes per forward pass, >= 1.
        device: where to run; the model is moved there. None: where the model already is.
        progress: show a tqdm bar over batches, labelled `desc`.
        desc: the bar's label.

    Returns:
        The Decoding, NumPy arrays on the CPU.
    """
    from tqdm import tqdm

    z = torch.as_tensor(z, dtype=torch.float32)
    assert z.ndim == 2 and z.shape[1] == model.config.latent_dim, f"expected (N, {model.config.latent_dim}) codes"
    assert targets is None or np.shape(targets) == (len(z), model.ticks), f"targets must be (N, {model.ticks})"
    assert batch_size >= 1, f"batch_size must be >= 1, got {batch_size}"
    tokens = np.empty((len(z), model.ticks), dtype=np.int64)
    ce = None if targets is None else np.empty(len(z), dtype=np.float64)
    with _evaluating(model, device) as dev:
        starts = range(0, len(z), batch_size)
        for start in tqdm(starts, desc=desc, unit="batch", disable=not progress, leave=False):
            stop = min(start + batch_size, len(z))
            pred, logits = model.decode_free(z[start:stop].to(dev))  # (B, 24), (B, 24, V)
            tokens[start:stop] = pred.cpu().numpy()
            if ce is not None:
                x = torch.as_tensor(np.asarray(targets[start:stop], dtype=np.int64), device=dev)
                per_tick = F.cross_entropy(logits.flatten(0, 1).float(), x.flatten(), reduction="none")  # (B*24,)
                ce[start:stop] = per_tick.view(-1, model.ticks).double().mean(dim=1).cpu().numpy()
    return Decoding(tokens, ce)
