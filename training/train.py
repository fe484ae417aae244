"""The training loop, readable top to bottom (after nanoGPT's train.py).

`run(preset, overrides)` resolves a preset into a TrainConfig, names the run directory by the config hash
(`runs/<preset>_<hash10>`), writes `config.json` there and calls `train`, which:

1. sets up torch.distributed when launched by torchrun (gloo on CPU, nccl on CUDA; only rank 0 writes files),
2. builds the train/val token splits (synthetic, or training.data's corpora) and their attribute values, once,
3. builds the MeasureVAE (and, for CSVAE, the adversary) and Adam, and resumes from `last.pt` when it exists,
4. runs epochs of steps: objective terms -> backward -> step, with a tqdm bar and a log line every log_interval,
5. validates (free-running reconstruction loss and token accuracies, Spearman of each regularised dim) and saves
   a training checkpoint atomically after every epoch, and on Ctrl-C or when max_steps is reached.

Determinism: the model is initialised from the seed; the data order comes from DistributedSampler(seed, epoch);
teacher forcing is drawn from (seed, step); the torch RNG state (reparameterisation noise, dropout) is saved in the
checkpoint, so a run resumed after a stop ends with the same weights as an uninterrupted one (single process).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

import arvae_live
from arvae_live.core.atomic import write_atomic
from arvae_live.core.attributes import ATTRIBUTES, AttributeSpec, compute_attributes
from arvae_live.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from arvae_live.core.device import resolve_device
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import Vocabulary
from arvae_live.errors import CheckpointError, ConfigError
from training import losses
from training.configs import PRESETS, TrainConfig, apply_overrides
from training.metrics import note_accuracy
from training.synthetic import random_measures

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "last.pt"  # the training checkpoint in a run directory, overwritten every epoch
CONFIG_NAME = "config.json"  # the resolved TrainConfig
EXPORT_NAME = "model.pt"  # where --smoke puts its exported inference checkpoint
_SYNTHETIC_SEEDS = (0, 1)  # data seeds of the synthetic train and val splits (independent of the training seed)
_VAL_SEED = 1234  # seed of the reparameterisation noise in validation (its own generator)


# ---- configuration and run directory ---------------------------------------------------------------------------


def resolve_config(
    preset: str, overrides: list[str] | tuple[str, ...] = (), presets: dict | None = None
) -> TrainConfig:
    """The preset's TrainConfig with `key=value` overrides applied (ConfigError on an unknown preset or key)."""
    presets = PRESETS if presets is None else presets
    if preset not in presets:
        raise ConfigError(f"unknown preset {preset!r}; known: {', '.join(sorted(presets))}")
    return apply_overrides(presets[preset], overrides)


def run_dir_for(preset: str, cfg: TrainConfig, out: Path) -> Path:
    """`<out>/<preset>_<first 10 hex digits of the config hash>`."""
    return Path(out) / f"{preset}_{cfg.config_hash()[:10]}"


def run(
    preset: str,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    presets: dict | None = None,
    out: Path = Path("runs"),
    **train_kwargs: Any,
) -> Path:
    """Resolve a preset, write `config.json` into its run directory and train there.

    Args:
        preset: a name in presets.
        overrides: `key=value` strings, see configs.apply_overrides.
        presets: the registry (default PRESETS); tests pass their own.
        out: parent folder of run directories.
        **train_kwargs: passed to train (device, resume, max_steps, data_cache, progress, on_step).

    Returns:
        The run directory (holding config.json and last.pt).
    """
    cfg = resolve_config(preset, overrides, presets)
    run_dir = run_dir_for(preset, cfg, out)
    if _rank() == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(
            run_dir / CONFIG_NAME, {"preset": preset, "config_hash": cfg.config_hash(), "train_config": cfg.to_dict()}
        )
    train(cfg, run_dir, preset=preset, **train_kwargs)
    return run_dir


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Adam's learning rate at an optimiser step (0-based) of a run of total_steps steps.

    "constant" is cfg.lr throughout; "cosine" falls from cfg.lr at step 0 to cfg.min_lr at the last step along half
    a cosine, with no warm-up (warm starts begin from trained weights, and fresh runs were stable at 1e-3 without one).
    """
    if cfg.lr_schedule == "constant" or total_steps <= 1:
        return cfg.lr
    frac = min(1.0, step / (total_steps - 1))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * frac))


def _warm_start(path: Path, cfg: TrainConfig, model: MeasureVAE, opt: torch.optim.Optimizer) -> None:
    """Load another run's weights (and Adam state, from a training checkpoint) into a fresh model and optimiser."""
    src = load_checkpoint(path)
    # Fields that change no tensor shape may differ (e.g. trying the model without the ReLU before the softmax).
    shapeless = {"dropout": cfg.model.dropout, "relu_logits": cfg.model.relu_logits}
    if dataclasses.replace(src.model_config, **shapeless) != cfg.model:
        raise CheckpointError(f"{path}: model config {src.model_config} differs from this run's {cfg.model}")
    model.load_state_dict(src.build_model().state_dict())
    if src.kind == "training" and src.training and "optimizer" in src.training:
        opt.load_state_dict(src.training["optimizer"])
        for group in opt.param_groups:  # the new config's lr wins over the one saved with the state
            group["lr"] = cfg.lr


def _write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


# ---- data ----------------------------------------------------------------------------------------------------------


def load_splits(
    cfg: TrainConfig, data_cache: Path = Path("data_cache"), progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation token measures for cfg.dataset, each int64 (N, 24)."""
    if cfg.dataset == "synthetic":
        return (
            random_measures(cfg.synthetic_n_train, _SYNTHETIC_SEEDS[0], max_notes=cfg.synthetic_max_notes),
            random_measures(cfg.synthetic_n_val, _SYNTHETIC_SEEDS[1], max_notes=cfg.synthetic_max_notes),
        )
    from training.data import load_dataset  # the corpora (music21) only when asked for

    ds = load_dataset(cfg.dataset, cache_dir=data_cache, vocab=Vocabulary(), limit=cfg.data_limit, progress=progress)
    return ds.split_tokens("train"), ds.split_tokens("val")


def _transposer(cfg: TrainConfig) -> Callable[[np.ndarray, int], np.ndarray]:
    """f(tokens, step) -> tokens, each measure randomly transposed, the draw fixed by (seed, step, rank) so that a
    resumed run repeats it."""
    from training.data import random_transpose

    def transpose(tokens: np.ndarray, step: int) -> np.ndarray:
        return random_transpose(tokens, np.random.default_rng([cfg.seed, step + 1, _rank()]))

    return transpose


def attribute_matrix(tokens: np.ndarray, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Raw attribute values, float32 (N, len(names)), column k for names[k]."""
    values = compute_attributes(tokens, tuple(names))
    return np.stack([values[n] for n in names], axis=1).astype(np.float32)


def attribute_specs(cfg: TrainConfig, train_attrs: np.ndarray) -> list[AttributeSpec]:
    """One AttributeSpec per configured attribute: its latent dim and low/high = min/max over the training split.

    An attribute that is constant on the training split falls back to the formula's range (a spec needs
    high > low).
    """
    specs = []
    for k, (name, dim) in enumerate(zip(cfg.attributes, cfg.latent_dims)):
        low, high = float(train_attrs[:, k].min()), float(train_attrs[:, k].max())
        if not high > low:
            low, high = ATTRIBUTES[name].raw_low, ATTRIBUTES[name].raw_high
        specs.append(AttributeSpec(name, dim, low, high))
    return specs


def batches(n: int, batch_size: int, seed: int, epoch: int, rank: int, world: int) -> list[torch.Tensor]:
    """This process's index batches for one epoch: DistributedSampler order (seed, epoch), full batches only."""
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True)
    sampler.set_epoch(epoch)
    idx = torch.tensor(list(sampler), dtype=torch.long)
    n_batches = len(idx) // batch_size
    return list(idx[: n_batches * batch_size].view(n_batches, batch_size))


# ---- devices and processes ---------------------------------------------------------------------------------------


def _setup_distributed(device_name: str) -> tuple[int, int, torch.device, bool]:
    """(rank, world size, device, whether this call initialised the process group)."""
    if "LOCAL_RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return 0, 1, resolve_device(device_name), False
    local_rank = int(os.environ["LOCAL_RANK"])
    device = resolve_device(device_name, local_rank)
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device, False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device, True


class _StopFlag:
    """Set by Ctrl-C (SIGINT) or SIGTERM; the loop checks it after each step so checkpoints hold whole steps."""

    def __init__(self) -> None:
        self.set = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if _is_main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.set = True
        signal.signal(signum, self._old.get(signum, signal.SIG_DFL))  # a second Ctrl-C stops at once

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


# ---- one step's objective ----------------------------------------------------------------------------------------


def loss_terms(
    cfg: TrainConfig,
    model: torch.nn.Module,
    raw_model: MeasureVAE,
    x: torch.Tensor,
    attrs: torch.Tensor,
    labels: torch.Tensor | None,
    adversary: losses.Adversary | None,
    step: int,
    scales: list[float],
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The weighted loss terms of cfg.objective on one batch (their sum is the loss), and the sampled z (B, Z).

    Args:
        model: the MeasureVAE, possibly wrapped in DDP (its forward is used, so gradients are all-reduced).
        raw_model: the unwrapped MeasureVAE (for GLSR's extra decodes).
        x: int64 (B, 24) tokens. attrs: (B, K) raw values of the regularised attributes, in cfg.regularized order.
        labels: (B, K) binary labels (CSVAE only). adversary: q(y|z) (CSVAE only), unwrapped.
        step: the optimiser step, for the beta schedule and the teacher-forcing draw.
        scales: training range of each regularised attribute (GLSR).
    """
    dims = [d for _, d in cfg.regularized]
    # Teacher forcing all-or-nothing per step with probability p, as the paper; drawn from (seed, step) so that a
    # resumed run and every DDP process make the same choice.
    tf = bool(np.random.default_rng([cfg.seed, step]).random() < cfg.teacher_forcing)
    logits, mu, logvar, z = model(x, teacher_forcing=tf)
    recon = losses.reconstruction_loss(logits, x)
    mu, logvar, z = mu.float(), logvar.float(), z.float()
    if cfg.objective == "csvae":
        c = cfg.csvae
        rest = [d for d in range(cfg.model.latent_dim) if d not in dims]
        terms = {
            "recon": c.recon_weight * recon,
            "kl_w": c.kl_w_weight
            * losses.csvae_w_kl(mu[:, dims], logvar[:, dims], labels, c.prior_means, c.prior_stds),
            "kl_z": c.kl_z_weight * losses.kl_divergence(mu[:, rest], logvar[:, rest]).mean(),
            "negent": c.negentropy_weight * losses.bernoulli_negentropy(adversary(z[:, rest])),
        }
        return terms, z
    beta = losses.beta_at(step, cfg.beta, cfg.beta_schedule, cfg.beta_warmup_steps, cfg.beta_anneal_steps)
    terms = {"recon": recon, "kl": beta * losses.kl_divergence(mu, logvar).mean()}
    if cfg.objective == "arvae":
        terms["attr"] = losses.attribute_regularization(z, attrs, dims, cfg.gamma, cfg.delta)
    elif cfg.objective == "glsr":
        terms["glsr"] = (
            cfg.glsr.weight
            * losses.glsr_regularization(
                z,
                lambda zz: _decode_probs_on_own_path(raw_model, zz),
                dims,
                [a for a, _ in cfg.regularized],
                scales,
                cfg.glsr.step,
                cfg.glsr.prior_mean,
                cfg.glsr.prior_std,
            )[0]
        )
    return terms, z


def _decode_probs_on_own_path(model: MeasureVAE, z: torch.Tensor) -> torch.Tensor:
    """Softmax of the decoder at z along the argmax path decoded from z itself, without dropout.

    As the reference GLSR trainer, the decoder runs as in evaluation (own argmax fed back, no dropout). The path is
    decoded once without gradient and then teacher-forced, so z + h and z - h share it: the finite difference then
    measures how the probabilities move, not a jump between two token paths.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            path, _ = model.decode_free(z.detach())
        probs = torch.softmax(model.decode_teacher_forced(z, path).float(), dim=-1)
    finally:
        model.train(was_training)
    return probs


# ---- validation ------------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model: MeasureVAE,
    tokens: np.ndarray,
    attrs: np.ndarray,
    cfg: TrainConfig,
    device: torch.device,
    batch_size: int = 512,
) -> dict[str, float]:
    """Free-running validation: decode sampled z with the model's own argmax fed back (paper section 6).

    Returns:
        val_recon_loss (mean CE), val_recon_acc (token accuracy over all 24 ticks, holds included as the paper),
        val_note_acc (`training.metrics.note_accuracy`: of the ticks where the target or the prediction starts a
        note, the share where both start the same pitch; the `note_acc` of `arvae-train evaluate`), and for each
        regularised attribute val_spearman.<name> between mu on its dim and the attribute (sign included).
    """
    from scipy.stats import spearmanr

    was_training = model.training
    model.eval()
    gen = torch.Generator(device=device).manual_seed(_VAL_SEED)  # own noise: the training RNG stream is untouched
    ce_sum, n_tok, n_ok, preds, mus = 0.0, 0, 0, [], []
    for start in range(0, len(tokens), batch_size):
        x = torch.from_numpy(tokens[start : start + batch_size]).to(device)
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen, device=device, dtype=mu.dtype)
        pred, logits = model.decode_free(z)
        ce_sum += float(torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), x.flatten(), reduction="sum"))
        n_tok += x.numel()
        n_ok += int((pred == x).sum())
        preds.append(pred.cpu().numpy())
        mus.append(mu.float().cpu().numpy())
    model.train(was_training)
    metrics = {
        "val_recon_loss": ce_sum / max(n_tok, 1),
        "val_recon_acc": n_ok / max(n_tok, 1),
        # One pooled call, not a mean of per-batch values: note_accuracy is a micro average over all measures.
        "val_note_acc": note_accuracy(np.concatenate(preds), tokens) if preds else 1.0,
    }
    mu_all = np.concatenate(mus) if mus else np.zeros((0, cfg.model.latent_dim))
    for k, (name, dim) in enumerate(zip(cfg.attributes, cfg.latent_dims)):
        if dim is not None and len(tokens) > 2 and np.ptp(attrs[:, k]) > 0:
            rho = spearmanr(mu_all[:, dim], attrs[:, k]).statistic
            metrics[f"val_spearman.{name}"] = float(np.nan_to_num(rho))
    return metrics


# ---- checkpoints ------------------------------------------------------------------------------------------------


def _provenance(
    cfg: TrainConfig, preset: str, step: int, epoch: int, device: torch.device, world: int, init_from: Path | None
) -> dict:
    warm = {"init_from": str(init_from)} if init_from is not None else {}
    return warm | {
        "preset": preset,
        "train_config": cfg.to_dict(),
        "config_hash": cfg.config_hash(),
        "objective": cfg.objective,
        "step": step,
        "epoch": epoch,
        "world_size": world,
        "device": device.type,
        "arvae_version": arvae_live.__version__,
        "torch_version": str(torch.__version__),  # TorchVersion, a str subclass, would not load weights_only
        "created_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


# ---- the loop -------------------------------------------------------------------------------------------------


def train(
    cfg: TrainConfig,
    run_dir: Path,
    *,
    preset: str = "custom",
    device: str = "auto",
    resume: bool = True,
    max_steps: int | None = None,
    data_cache: Path = Path("data_cache"),
    progress: bool = True,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    init_from: Path | None = None,
) -> Path:
    """Train cfg in run_dir, resuming from run_dir/last.pt when it exists and resume is True.

    Args:
        cfg: the resolved config.
        run_dir: where last.pt goes (rank 0 only writes).
        preset: the preset name, recorded in the provenance.
        device: "auto", "cpu" or "cuda"; under torchrun each process takes cuda:LOCAL_RANK.
        resume: continue from run_dir/last.pt if present (it must have been made with the same config).
        max_steps: stop (and save) once this many optimiser steps are done in total; None = train all epochs.
        data_cache: folder of the prepared corpora (training.data), unused for synthetic data.
        progress: show a tqdm bar (rank 0 only).
        on_step: called on rank 0 after every step with (step, loss terms); may raise KeyboardInterrupt, which
            saves a checkpoint like Ctrl-C.
        init_from: a checkpoint (training or inference) of the same model config whose weights start this run
            instead of a fresh init, and whose Adam state too when it is a training checkpoint: a warm start, to go
            on training a run under a changed config (more epochs, another lr). Ignored when the run resumes.

    Returns:
        The path of the training checkpoint written last.

    Raises:
        KeyboardInterrupt: after saving, on Ctrl-C / SIGTERM.
        CheckpointError: run_dir/last.pt belongs to another config.
    """
    rank, world, dev, owns_group = _setup_distributed(device)
    try:
        return _train(
            cfg, Path(run_dir), preset, rank, world, dev, resume, max_steps, data_cache, progress, on_step, init_from
        )
    finally:
        if owns_group:
            dist.destroy_process_group()


def _train(
    cfg: TrainConfig,
    run_dir: Path,
    preset: str,
    rank: int,
    world: int,
    dev: torch.device,
    resume: bool,
    max_steps: int | None,
    data_cache: Path,
    progress: bool,
    on_step: Callable[[int, dict[str, float]], None] | None,
    init_from: Path | None = None,
) -> Path:
    is_main = rank == 0
    ckpt_path = run_dir / CHECKPOINT_NAME
    if cfg.batch_size % world:
        raise ConfigError(f"batch_size {cfg.batch_size} must be divisible by the {world} processes")
    local_batch = cfg.batch_size // world

    # -- data: token splits and attribute values, computed once
    train_tokens, val_tokens = load_splits(cfg, data_cache, progress and is_main)
    if len(train_tokens) < cfg.batch_size:
        raise ConfigError(
            f"the training split has {len(train_tokens)} measures, fewer than batch_size {cfg.batch_size}"
        )
    # With on-the-fly transposition the attribute ranges (register above all) are those of transposed measures: take
    # them from one seeded random transposition of the train split.
    augment = _transposer(cfg) if cfg.augment_transpose else None
    train_attrs = attribute_matrix(augment(train_tokens, -1) if augment else train_tokens, cfg.attributes)  # (N, A)
    val_attrs = attribute_matrix(val_tokens, cfg.attributes)
    specs = attribute_specs(cfg, train_attrs)
    reg_cols = [cfg.attributes.index(a) for a, _ in cfg.regularized]
    scales = [specs[c].high - specs[c].low for c in reg_cols]
    x_all = torch.from_numpy(train_tokens)
    a_all = torch.from_numpy(train_attrs[:, reg_cols])
    y_all = None
    if cfg.objective == "csvae":
        thresholds = np.median(train_attrs[:, reg_cols], axis=0)  # e.g. "syncopated" = above the median
        y_all = torch.from_numpy(losses.binary_labels(train_attrs[:, reg_cols], thresholds))
    log.info(
        "data: %s, %d train / %d val measures; regularised: %s",
        cfg.dataset,
        len(train_tokens),
        len(val_tokens),
        ", ".join(f"{a}->z{d}" for a, d in cfg.regularized) or "none",
    )

    # -- model and optimiser (same init on every process: seeded before building)
    torch.manual_seed(cfg.seed)
    model = MeasureVAE(cfg.model).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    adversary = adv_opt = None
    rest_dims = [d for d in range(cfg.model.latent_dim) if d not in cfg.latent_dims]  # CSVAE's z (w = the others)
    if cfg.objective == "csvae":
        adversary = losses.Adversary(len(rest_dims), len(reg_cols), cfg.csvae.adversary_hidden).to(dev)
        adv_opt = torch.optim.Adam(adversary.parameters(), lr=cfg.csvae.adversary_lr)
    # Each process draws its own noise (reparameterisation, dropout) after the shared init.
    torch.manual_seed(cfg.seed + 1_000_003 * (rank + 1))
    step = epoch = step_in_epoch = 0
    metrics: dict[str, float] = {}

    if resume and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        if ckpt.kind != "training" or ckpt.provenance.get("config_hash") != cfg.config_hash():
            raise CheckpointError(f"{ckpt_path} was not made by this config; move it away or pass --no-resume")
        model.load_state_dict(ckpt.state_dict)
        st = ckpt.training
        opt.load_state_dict(st["optimizer"])
        if adversary is not None:
            adversary.load_state_dict(st["adversary"])
            adv_opt.load_state_dict(st["adversary_optimizer"])
        step, epoch, step_in_epoch = int(st["step"]), int(st["epoch"]), int(st["step_in_epoch"])
        metrics = dict(ckpt.metrics)
        if is_main:
            _set_rng_state(st["rng"], dev)
        else:  # only rank 0's stream was saved; the others restart theirs from the step
            torch.manual_seed(cfg.seed + 1_000_003 * (rank + 1) + step)
        log.info("resumed from %s at step %d (epoch %d, batch %d)", ckpt_path, step, epoch, step_in_epoch)
    elif init_from is not None:
        _warm_start(init_from, cfg, model, opt)
        if is_main:
            log.info("warm start from %s", init_from)

    ddp_model = DistributedDataParallel(model) if world > 1 else model
    ddp_adversary = DistributedDataParallel(adversary) if (world > 1 and adversary is not None) else adversary
    use_amp = cfg.amp and dev.type == "cuda" and torch.cuda.is_bf16_supported()
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext

    def save() -> Path:
        if is_main:
            training = {
                "optimizer": opt.state_dict(),
                "step": step,
                "epoch": epoch,
                "step_in_epoch": step_in_epoch,
                "rng": _rng_state(dev),
            }
            if adversary is not None:
                training["adversary"] = adversary.state_dict()
                training["adversary_optimizer"] = adv_opt.state_dict()
            save_checkpoint(
                Checkpoint(
                    kind="training",
                    model_config=cfg.model,
                    attributes=specs,
                    vocabulary=Vocabulary(),
                    state_dict=model.state_dict(),
                    metrics=metrics,
                    provenance=_provenance(cfg, preset, step, epoch, dev, world, init_from),
                    training=training,
                ),
                ckpt_path,
            )
        if world > 1:
            dist.barrier()
        return ckpt_path

    def validate() -> None:
        nonlocal metrics
        if is_main:
            metrics = evaluate(model, val_tokens, val_attrs, cfg, dev)
            log.info("epoch %d step %d: %s", epoch, step, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    def should_stop(flag: _StopFlag) -> bool:
        stop = flag.set
        if world > 1:  # every process must agree, or the next all-reduce would hang
            t = torch.tensor([float(stop)], device=dev)
            dist.all_reduce(t)
            stop = bool(t.item() > 0)
        return stop

    total_steps = cfg.epochs * len(batches(len(x_all), local_batch, cfg.seed, 0, rank, world))
    model.train()
    t_last = time.perf_counter()
    with _StopFlag() as flag:
        try:
            while epoch < cfg.epochs:
                if max_steps is not None and step >= max_steps:  # reached at an epoch end, already saved
                    log.info("stopped at max_steps=%d; %s", max_steps, ckpt_path)
                    return ckpt_path
                epoch_batches = batches(len(x_all), local_batch, cfg.seed, epoch, rank, world)
                bar = tqdm(
                    total=len(epoch_batches),
                    initial=step_in_epoch,
                    desc=f"epoch {epoch + 1}/{cfg.epochs}",
                    disable=not (progress and is_main),
                    leave=False,
                    dynamic_ncols=True,
                )
                for idx in epoch_batches[step_in_epoch:]:
                    if max_steps is not None and step >= max_steps:
                        break
                    if augment is not None:  # a new transposition per measure and step; attributes follow it
                        x_np = augment(train_tokens[idx.numpy()], step)
                        x = torch.from_numpy(x_np).to(dev, non_blocking=True)
                        attrs = torch.from_numpy(attribute_matrix(x_np, cfg.attributes)[:, reg_cols]).to(dev)
                    else:
                        x = x_all[idx].to(dev, non_blocking=True)
                        attrs = a_all[idx].to(dev)
                    labels = y_all[idx].to(dev) if y_all is not None else None

                    with autocast():
                        terms, z = loss_terms(cfg, ddp_model, model, x, attrs, labels, adversary, step, scales)
                    loss = sum(terms.values())
                    lr = lr_at(step, cfg, total_steps)
                    for group in opt.param_groups:
                        group["lr"] = lr
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip > 0:  # a few batches blew the recon loss up 10x at lr 3e-4 without it
                        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    opt.step()
                    if adversary is not None:  # the adversary's turn: learn to read y from this step's z
                        z_rest = z.detach()[:, rest_dims]
                        adv_loss = cfg.csvae.adversary_weight * losses.adversary_loss(ddp_adversary(z_rest), labels)
                        adv_opt.zero_grad(set_to_none=True)
                        adv_loss.backward()
                        adv_opt.step()
                        terms["adv"] = adv_loss.detach()

                    step += 1
                    step_in_epoch += 1
                    values = {k: float(v.detach()) for k, v in terms.items()}
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
                    if is_main and step % cfg.log_interval == 0:
                        now = time.perf_counter()
                        log.info(
                            "step %d: loss %.4f (%s) | lr %.2g | %.1f ms/step",
                            step,
                            float(loss.detach()),
                            ", ".join(f"{k} {v:.4f}" for k, v in values.items()),
                            lr,
                            1000 * (now - t_last) / cfg.log_interval,
                        )
                        t_last = now
                    if is_main and on_step is not None:
                        on_step(step, values)
                    if should_stop(flag):
                        raise KeyboardInterrupt
                bar.close()
                if step_in_epoch < len(epoch_batches):  # stopped inside the epoch by max_steps
                    validate()
                    log.info("stopped at max_steps=%d; saved %s", max_steps, ckpt_path)
                    return save()
                epoch += 1
                step_in_epoch = 0
                if epoch % cfg.eval_interval == 0 or epoch == cfg.epochs:
                    validate()
                save()
        except KeyboardInterrupt:
            save()
            log.warning("interrupted at step %d; saved %s (run the same command again to resume)", step, ckpt_path)
            raise
    log.info("done: %d epochs, %d steps; %s", epoch, step, ckpt_path)
    return ckpt_path
