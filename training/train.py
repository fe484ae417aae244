"""The training loop, readable top to bottom (after nanoGPT's train.py).

`run(preset, overrides)` resolves a preset into a TrainConfig, names the run directory by the config hash
(`runs/<preset>_<hash10>`), writes `config.json` there and calls `train`, which:

1. sets up torch.distributed when launched by torchrun (gloo on CPU, nccl on CUDA; only rank 0 writes files),
2. builds the train/val token splits (synthetic, or training.data's corpora) and their attribute values, once,
3. builds the MeasureVAE (and, for CSVAE, the adversary) and Adam, and resumes from `last.pt` when it exists,
4. runs epochs of steps: objective terms -> backward -> step, with a tqdm bar and a log line every log_interval,
5. validates (free-running reconstruction loss and token accuracies, Spearman of each regularised dim) and saves
   a training checkpoint atomically after every epoch, and on Ctrl-C or when max_steps is reached.

Everything a run carries from step to step is one `TrainState` (model, optimisers, step counters, last metrics);
`save_state` and `restore_state` are the only code that knows the training checkpoint's contents. `train_loop` is
the loop itself, flat: batch -> objective -> step -> log, then validate and save at each epoch end.

Determinism: the model is initialised from the seed; the data order comes from DistributedSampler(seed, epoch);
teacher forcing is drawn from (seed, step); the torch RNG state (reparameterisation noise, dropout) is saved in the
checkpoint, so a run resumed after a stop ends with the same weights as an uninterrupted one (single process).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

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
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import Vocabulary
from arvae_live.errors import CheckpointError, ConfigError
from training import losses
from training.configs import PRESETS, TrainConfig, apply_overrides
from training.metrics import validation_metrics
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


@dataclass(frozen=True)
class RunOptions:
    """How a config is run, beside the config itself (none of it enters the config hash)."""

    preset: str = "custom"  # the preset name, recorded in the provenance
    device: str = "auto"  # "auto", "cpu" or "cuda"; under torchrun each process takes cuda:LOCAL_RANK
    resume: bool = True  # continue from run_dir/last.pt if present (it must have been made with the same config)
    max_steps: int | None = None  # stop (and save) once this many optimiser steps are done in total; None = all epochs
    data_cache: Path = Path("data_cache")  # folder of the prepared corpora (training.data); unused for synthetic data
    progress: bool = True  # a tqdm bar (rank 0 only)
    # Called on rank 0 after every step with (step, loss terms); may raise KeyboardInterrupt, which saves like Ctrl-C.
    on_step: Callable[[int, dict[str, float]], None] | None = None
    # A checkpoint (training or inference) of the same model config whose weights start this run instead of a fresh
    # init, and whose Adam state too when it is a training checkpoint: a warm start, to go on training a run under a
    # changed config (more epochs, another lr). Ignored when the run resumes.
    init_from: Path | None = None


def run(
    preset: str,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    presets: dict | None = None,
    out: Path = Path("runs"),
    **options: Any,
) -> Path:
    """Resolve a preset, write `config.json` into its run directory and train there.

    Args:
        preset: a name in presets.
        overrides: `key=value` strings, see configs.apply_overrides.
        presets: the registry (default PRESETS); tests pass their own.
        out: parent folder of run directories.
        **options: fields of RunOptions other than preset (device, resume, max_steps, data_cache, progress,
            on_step, init_from).

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
    train(cfg, run_dir, RunOptions(preset=preset, **options))
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


def _write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


# ---- data ----------------------------------------------------------------------------------------------------------


def load_splits(
    cfg: TrainConfig, data_cache: Path = Path("data_cache"), progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation token measures for cfg.dataset, each int64 (N, ticks) on cfg.model's grid."""
    grid = cfg.model.measure_grid
    if cfg.dataset == "synthetic":
        return (
            random_measures(cfg.synthetic_n_train, _SYNTHETIC_SEEDS[0], max_notes=cfg.synthetic_max_notes, grid=grid),
            random_measures(cfg.synthetic_n_val, _SYNTHETIC_SEEDS[1], max_notes=cfg.synthetic_max_notes, grid=grid),
        )
    from training.data import load_dataset  # the corpora (music21) only when asked for

    ds = load_dataset(cfg.dataset, cache_dir=data_cache, vocab=Vocabulary(), limit=cfg.data_limit, progress=progress)
    if ds.tokens.shape[1] != grid.ticks:
        raise ConfigError(
            f"dataset {cfg.dataset} has {ds.tokens.shape[1]}-tick measures but model.grid={grid.name} has "
            f"{grid.ticks}; use a dataset of that grid (docs/data.md)"
        )
    return ds.split_tokens("train"), ds.split_tokens("val")


def _transposer(cfg: TrainConfig) -> Callable[[np.ndarray, int], np.ndarray]:
    """f(tokens, step) -> tokens, each measure randomly transposed, the draw fixed by (seed, step, rank) so that a
    resumed run repeats it."""
    from training.data import random_transpose

    def transpose(tokens: np.ndarray, step: int) -> np.ndarray:
        return random_transpose(tokens, np.random.default_rng([cfg.seed, step + 1, _rank()]))

    return transpose


def attribute_matrix(tokens: np.ndarray, names: tuple[str, ...] | list[str], grid: Grid = SIMPLE) -> np.ndarray:
    """Raw attribute values of (N, grid.ticks) tokens, float32 (N, len(names)), column k for names[k]."""
    values = compute_attributes(tokens, tuple(names), grid)
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


@dataclass(frozen=True)
class TrainData:
    """A run's data, computed once: the training measures with what the objective needs, and the validation split."""

    x: torch.Tensor  # int64 (N, ticks), the training split on the model's grid
    attrs: torch.Tensor  # float32 (N, R): raw values of the regularised attributes, in cfg.regularized order
    labels: torch.Tensor | None  # (N, R) CSVAE's binary labels (above the training median); None for the others
    val_tokens: np.ndarray  # int64 (M, ticks), the validation split
    val_attrs: np.ndarray  # float32 (M, A): raw values of every configured attribute
    specs: list[AttributeSpec]  # one per configured attribute, its range measured on the training split
    scales: list[float]  # training range (high - low) of each regularised attribute (GLSR)
    # cfg.augment_transpose: f(tokens, step) -> each measure randomly transposed, and the regularised attributes'
    # names to recompute after the shift; None: the stored measures as they are.
    augment: Callable[[np.ndarray, int], np.ndarray] | None = None
    regularized: tuple[str, ...] = ()
    grid: Grid = SIMPLE  # the model's measure grid (attributes are computed on it)

    def batch(self, idx: torch.Tensor, device: torch.device, step: int = 0) -> Batch:
        """The training measures at indices idx, on device; with augmentation, transposed by a draw fixed by step
        (so a resumed run repeats it) and with their attributes recomputed."""
        labels = self.labels[idx].to(device) if self.labels is not None else None
        if self.augment is None:
            return Batch(self.x[idx].to(device, non_blocking=True), self.attrs[idx].to(device), labels)
        x = self.augment(self.x[idx].numpy(), step)
        attrs = attribute_matrix(x, self.regularized, self.grid)
        return Batch(torch.from_numpy(x).to(device), torch.from_numpy(attrs).to(device), labels)


def load_train_data(cfg: TrainConfig, data_cache: Path, progress: bool) -> TrainData:
    """The splits of cfg.dataset and their attribute values (ConfigError when the training split is below a batch)."""
    train_tokens, val_tokens = load_splits(cfg, data_cache, progress)
    if len(train_tokens) < cfg.batch_size:
        raise ConfigError(
            f"the training split has {len(train_tokens)} measures, fewer than batch_size {cfg.batch_size}"
        )
    # With on-the-fly transposition the attribute ranges (register above all) are those of transposed measures: take
    # them from one seeded random transposition of the train split.
    augment = _transposer(cfg) if cfg.augment_transpose else None
    grid = cfg.model.measure_grid
    train_tokens_seen = augment(train_tokens, -1) if augment else train_tokens
    train_attrs = attribute_matrix(train_tokens_seen, cfg.attributes, grid)  # (N, A)
    specs = attribute_specs(cfg, train_attrs)
    reg_cols = [cfg.attributes.index(a) for a, _ in cfg.regularized]
    labels = None
    if cfg.objective == "csvae":
        thresholds = np.median(train_attrs[:, reg_cols], axis=0)  # e.g. "syncopated" = above the median
        labels = torch.from_numpy(losses.binary_labels(train_attrs[:, reg_cols], thresholds))
    log.info(
        "data: %s, %d train / %d val measures; regularised: %s",
        cfg.dataset,
        len(train_tokens),
        len(val_tokens),
        ", ".join(f"{a}->z{d}" for a, d in cfg.regularized) or "none",
    )
    return TrainData(
        x=torch.from_numpy(train_tokens),
        attrs=torch.from_numpy(train_attrs[:, reg_cols]),
        labels=labels,
        val_tokens=val_tokens,
        val_attrs=attribute_matrix(val_tokens, cfg.attributes, grid),
        specs=specs,
        scales=[specs[c].high - specs[c].low for c in reg_cols],
        augment=augment,
        regularized=tuple(a for a, _ in cfg.regularized),
        grid=grid,
    )


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


class Batch(NamedTuple):
    """One training batch on the run device."""

    x: torch.Tensor  # int64 (B, 24) token ids
    attrs: torch.Tensor  # float32 (B, R): raw values of the regularised attributes, in cfg.regularized order
    labels: torch.Tensor | None  # float32 (B, R) binary labels of those attributes (CSVAE only)


def loss_terms(
    cfg: TrainConfig,
    model: torch.nn.Module,
    batch: Batch,
    step: int,
    scales: list[float],
    adversary: losses.Adversary | None = None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The weighted loss terms of cfg.objective on one batch (their sum is the loss), and the sampled z (B, Z).

    Args:
        cfg: the run's config.
        model: the MeasureVAE, possibly wrapped in DDP (its forward is used, so gradients are all-reduced).
        batch: the batch.
        step: the optimiser step, for the beta schedule and the teacher-forcing draw.
        scales: training range of each regularised attribute (GLSR).
        adversary: q(y|z) (CSVAE only), unwrapped.
    """
    raw_model = model.module if isinstance(model, DistributedDataParallel) else model  # GLSR's extra decodes
    x = batch.x
    dims = [d for _, d in cfg.regularized]
    # Teacher forcing all-or-nothing per step with probability p, as the paper; drawn from (seed, step) so that a
    # resumed run and every DDP process make the same choice.
    tf = bool(np.random.default_rng([cfg.seed, step]).random() < cfg.teacher_forcing)
    logits, mu, logvar, z = model(x, teacher_forcing=tf)
    recon = losses.reconstruction_loss(logits, x)
    mu, logvar, z = mu.float(), logvar.float(), z.float()
    if cfg.objective == "csvae":
        c = cfg.csvae
        rest = _rest_dims(cfg)
        terms = {
            "recon": c.recon_weight * recon,
            "kl_w": c.kl_w_weight
            * losses.csvae_w_kl(mu[:, dims], logvar[:, dims], batch.labels, c.prior_means, c.prior_stds),
            "kl_z": c.kl_z_weight * losses.kl_divergence(mu[:, rest], logvar[:, rest]).mean(),
            "negent": c.negentropy_weight * losses.bernoulli_negentropy(adversary(z[:, rest])),
        }
        return terms, z
    beta = losses.beta_at(step, cfg.beta, cfg.beta_schedule, cfg.beta_warmup_steps, cfg.beta_anneal_steps)
    terms = {"recon": recon, "kl": beta * losses.kl_divergence(mu, logvar).mean()}
    if cfg.objective == "arvae":
        terms["attr"] = losses.attribute_regularization(z, batch.attrs, dims, cfg.gamma, cfg.delta)
    elif cfg.objective == "glsr":
        g = cfg.glsr
        names = [a for a, _ in cfg.regularized]
        decode_probs = functools.partial(_decode_probs_on_own_path, raw_model)
        reg, _ = losses.glsr_regularization(
            z, decode_probs, dims, names, scales, g.step, g.prior_mean, g.prior_std, cfg.model.measure_grid
        )
        terms["glsr"] = g.weight * reg
    return terms, z


def _rest_dims(cfg: TrainConfig) -> list[int]:
    """CSVAE's z: the latent dims outside the label subspace w (w = the regularised dims)."""
    dims = {d for _, d in cfg.regularized}
    return [d for d in range(cfg.model.latent_dim) if d not in dims]


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


# ---- the run's fixed context and its changing state -------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    """What stays fixed for a whole run: the config, where it writes, this process and its device."""

    cfg: TrainConfig
    ckpt_path: Path  # the training checkpoint, run_dir/last.pt
    options: RunOptions
    rank: int
    world: int  # number of processes
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files, logs and validates."""
        return self.rank == 0


@dataclass
class TrainState:
    """Everything that changes during a run: what a training checkpoint holds and restores."""

    model: MeasureVAE
    opt: torch.optim.Optimizer
    adversary: losses.Adversary | None = None  # CSVAE's q(y|z)
    adv_opt: torch.optim.Optimizer | None = None
    step: int = 0  # optimiser steps done in total
    epoch: int = 0  # whole epochs done
    step_in_epoch: int = 0  # steps done in the current epoch
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation


def new_state(ctx: RunContext) -> TrainState:
    """A freshly initialised model and its optimisers: the same init on every process (seeded before building)."""
    cfg = ctx.cfg
    torch.manual_seed(cfg.seed)
    model = MeasureVAE(cfg.model).to(ctx.device)
    state = TrainState(model, torch.optim.Adam(model.parameters(), lr=cfg.lr))
    if cfg.objective == "csvae":
        n_rest, n_labels = len(_rest_dims(cfg)), len(cfg.regularized)
        state.adversary = losses.Adversary(n_rest, n_labels, cfg.csvae.adversary_hidden).to(ctx.device)
        state.adv_opt = torch.optim.Adam(state.adversary.parameters(), lr=cfg.csvae.adversary_lr)
    # Each process draws its own noise (reparameterisation, dropout) after the shared init.
    torch.manual_seed(_noise_seed(ctx, step=0))
    return state


def _noise_seed(ctx: RunContext, step: int) -> int:
    return ctx.cfg.seed + 1_000_003 * (ctx.rank + 1) + step


def save_state(state: TrainState, ctx: RunContext, specs: list[AttributeSpec]) -> Path:
    """Write the training checkpoint atomically (rank 0; the other processes wait for it). Returns its path."""
    if ctx.is_main:
        training: dict[str, Any] = {
            "optimizer": state.opt.state_dict(),
            "step": state.step,
            "epoch": state.epoch,
            "step_in_epoch": state.step_in_epoch,
            "rng": _rng_state(ctx.device),
        }
        if state.adversary is not None:
            training["adversary"] = state.adversary.state_dict()
            training["adversary_optimizer"] = state.adv_opt.state_dict()
        checkpoint = Checkpoint(
            kind="training",
            model_config=ctx.cfg.model,
            attributes=specs,
            vocabulary=Vocabulary(),
            state_dict=state.model.state_dict(),
            metrics=state.metrics,
            provenance=_provenance(state, ctx),
            training=training,
        )
        save_checkpoint(checkpoint, ctx.ckpt_path)
    if ctx.world > 1:
        dist.barrier()
    return ctx.ckpt_path


def restore_state(state: TrainState, ctx: RunContext) -> None:
    """Load ctx.ckpt_path into state: weights, optimisers, counters, metrics and the RNG stream.

    Raises:
        CheckpointError: the file is not a training checkpoint of this config.
    """
    ckpt = load_checkpoint(ctx.ckpt_path)
    if ckpt.kind != "training" or ckpt.provenance.get("config_hash") != ctx.cfg.config_hash():
        raise CheckpointError(f"{ctx.ckpt_path} was not made by this config; move it away or pass --no-resume")
    saved = ckpt.training
    state.model.load_state_dict(ckpt.state_dict)
    state.opt.load_state_dict(saved["optimizer"])
    if state.adversary is not None:
        state.adversary.load_state_dict(saved["adversary"])
        state.adv_opt.load_state_dict(saved["adversary_optimizer"])
    state.step, state.epoch, state.step_in_epoch = int(saved["step"]), int(saved["epoch"]), int(saved["step_in_epoch"])
    state.metrics = dict(ckpt.metrics)
    if ctx.is_main:
        _set_rng_state(saved["rng"], ctx.device)
    else:  # only rank 0's stream was saved; the others restart theirs from the step
        torch.manual_seed(_noise_seed(ctx, state.step))
    log.info("resumed from %s at step %d (epoch %d, batch %d)", ctx.ckpt_path, state.step, state.epoch,
             state.step_in_epoch)  # fmt: skip


def _warm_start(path: Path, cfg: TrainConfig, state: TrainState) -> None:
    """Load another run's weights (and Adam state, from a training checkpoint) into a fresh state."""
    src = load_checkpoint(path)
    # Fields that change no tensor shape may differ (e.g. trying the model without the ReLU before the softmax, or a
    # 3/4 model started from a 4/4 one: the grid changes how many beat steps run, not a weight).
    shapeless = {"dropout": cfg.model.dropout, "relu_logits": cfg.model.relu_logits, "grid": cfg.model.grid}
    if dataclasses.replace(src.model_config, **shapeless) != cfg.model:
        raise CheckpointError(f"{path}: model config {src.model_config} differs from this run's {cfg.model}")
    state.model.load_state_dict(src.build_model().state_dict())
    if src.kind == "training" and src.training and "optimizer" in src.training:
        state.opt.load_state_dict(src.training["optimizer"])
        for group in state.opt.param_groups:  # the new config's lr wins over the one saved with the state
            group["lr"] = cfg.lr


def _provenance(state: TrainState, ctx: RunContext) -> dict:
    init_from = ctx.options.init_from
    warm = {"init_from": str(init_from)} if init_from is not None else {}
    return warm | {
        "preset": ctx.options.preset,
        "train_config": ctx.cfg.to_dict(),
        "config_hash": ctx.cfg.config_hash(),
        "objective": ctx.cfg.objective,
        "step": state.step,
        "epoch": state.epoch,
        "world_size": ctx.world,
        "device": ctx.device.type,
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


# ---- one optimiser step, validation ---------------------------------------------------------------------------


def optimizer_step(state: TrainState, loss: torch.Tensor, lr: float, grad_clip: float) -> None:
    """Backward and one Adam step of the model at learning rate lr, the gradient norm clipped when grad_clip > 0."""
    for group in state.opt.param_groups:
        group["lr"] = lr
    state.opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:  # a few batches blew the recon loss up 10x at lr 3e-4 without it
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), grad_clip)
    state.opt.step()


def adversary_step(state: TrainState, adversary: torch.nn.Module, z: torch.Tensor, batch: Batch, cfg: TrainConfig):
    """CSVAE's second player: one step of q(y|z) learning to read the labels from this step's z (detached).

    `adversary` is state.adversary, possibly wrapped in DDP. Returns the weighted adversary loss, detached.
    """
    z_rest = z.detach()[:, _rest_dims(cfg)]
    adv_loss = cfg.csvae.adversary_weight * losses.adversary_loss(adversary(z_rest), batch.labels)
    state.adv_opt.zero_grad(set_to_none=True)
    adv_loss.backward()
    state.adv_opt.step()
    return adv_loss.detach()


def validate(state: TrainState, ctx: RunContext, data: TrainData) -> None:
    """Rank 0: free-running validation (training.metrics.validation_metrics) into state.metrics, and a log line."""
    if not ctx.is_main:
        return
    dims = list(zip(ctx.cfg.attributes, ctx.cfg.latent_dims))
    state.metrics = validation_metrics(state.model, data.val_tokens, data.val_attrs, dims, seed=_VAL_SEED)
    log.info(
        "epoch %d step %d: %s", state.epoch, state.step, ", ".join(f"{k} {v:.4f}" for k, v in state.metrics.items())
    )


def _should_stop(flag: _StopFlag, ctx: RunContext) -> bool:
    stop = flag.set
    if ctx.world > 1:  # every process must agree, or the next all-reduce would hang
        t = torch.tensor([float(stop)], device=ctx.device)
        dist.all_reduce(t)
        stop = bool(t.item() > 0)
    return stop


# ---- the loop -------------------------------------------------------------------------------------------------


def train(cfg: TrainConfig, run_dir: Path, options: RunOptions = RunOptions()) -> Path:
    """Train cfg in run_dir, resuming from run_dir/last.pt when it exists and options.resume is True.

    Args:
        cfg: the resolved config.
        run_dir: where last.pt goes (rank 0 only writes).
        options: see RunOptions.

    Returns:
        The path of the training checkpoint written last.

    Raises:
        KeyboardInterrupt: after saving, on Ctrl-C / SIGTERM.
        CheckpointError: run_dir/last.pt belongs to another config.
        ConfigError: a batch size the processes cannot share, or a training split smaller than a batch.
    """
    rank, world, dev, owns_group = _setup_distributed(options.device)
    try:
        if cfg.batch_size % world:
            raise ConfigError(f"batch_size {cfg.batch_size} must be divisible by the {world} processes")
        ctx = RunContext(cfg, Path(run_dir) / CHECKPOINT_NAME, options, rank, world, dev)
        data = load_train_data(cfg, options.data_cache, options.progress and ctx.is_main)
        state = new_state(ctx)
        if options.resume and ctx.ckpt_path.exists():
            restore_state(state, ctx)
        elif options.init_from is not None:
            _warm_start(options.init_from, cfg, state)
            log.info("warm start from %s", options.init_from)
        return train_loop(state, ctx, data)
    finally:
        if owns_group:
            dist.destroy_process_group()


def train_loop(state: TrainState, ctx: RunContext, data: TrainData) -> Path:
    """Run the remaining steps of state's run: epochs of batches, validation and a checkpoint at each epoch end.

    Returns the checkpoint path; on Ctrl-C / SIGTERM (or a KeyboardInterrupt from on_step) saves and re-raises.
    """
    cfg, opts, dev = ctx.cfg, ctx.options, ctx.device
    max_steps = opts.max_steps if opts.max_steps is not None else math.inf
    local_batch = cfg.batch_size // ctx.world
    n_batches = len(batches(len(data.x), local_batch, cfg.seed, 0, ctx.rank, ctx.world))  # the same every epoch
    total_steps = cfg.epochs * n_batches
    model = DistributedDataParallel(state.model) if ctx.world > 1 else state.model
    adversary = state.adversary
    if ctx.world > 1 and adversary is not None:
        adversary = DistributedDataParallel(adversary)
    use_amp = cfg.amp and dev.type == "cuda" and torch.cuda.is_bf16_supported()
    autocast = functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16) if use_amp else contextlib.nullcontext
    state.model.train()
    t_last = time.perf_counter()
    with _StopFlag() as flag:
        try:
            while state.epoch < cfg.epochs and state.step < max_steps:
                epoch_batches = batches(len(data.x), local_batch, cfg.seed, state.epoch, ctx.rank, ctx.world)
                bar = tqdm(total=n_batches, initial=state.step_in_epoch, desc=f"epoch {state.epoch + 1}/{cfg.epochs}",
                           disable=not (opts.progress and ctx.is_main), leave=False, dynamic_ncols=True)  # fmt: skip
                for idx in epoch_batches[state.step_in_epoch :]:
                    if state.step >= max_steps:
                        break
                    batch = data.batch(idx, dev, state.step)  # transposed here when cfg.augment_transpose

                    with autocast():
                        terms, z = loss_terms(cfg, model, batch, state.step, data.scales, state.adversary)
                    loss = sum(terms.values())
                    lr = lr_at(state.step, cfg, total_steps)
                    optimizer_step(state, loss, lr, cfg.grad_clip)
                    if adversary is not None:
                        terms["adv"] = adversary_step(state, adversary, z, batch, cfg)
                    state.step += 1
                    state.step_in_epoch += 1

                    values = {k: float(v.detach()) for k, v in terms.items()}
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
                    if ctx.is_main and state.step % cfg.log_interval == 0:
                        now = time.perf_counter()
                        ms_per_step = 1000 * (now - t_last) / cfg.log_interval
                        log.info("step %d: loss %.4f (%s) | lr %.2g | %.1f ms/step", state.step, float(loss.detach()),
                                 ", ".join(f"{k} {v:.4f}" for k, v in values.items()), lr, ms_per_step)  # fmt: skip
                        t_last = now
                    if ctx.is_main and opts.on_step is not None:
                        opts.on_step(state.step, values)
                    if _should_stop(flag, ctx):
                        raise KeyboardInterrupt
                bar.close()

                if state.step_in_epoch == n_batches:  # the epoch is complete (not stopped inside it by max_steps)
                    state.epoch += 1
                    state.step_in_epoch = 0
                if state.step_in_epoch or state.epoch % cfg.eval_interval == 0 or state.epoch == cfg.epochs:
                    validate(state, ctx, data)
                save_state(state, ctx, data.specs)
        except KeyboardInterrupt:
            save_state(state, ctx, data.specs)
            log.warning("interrupted at step %d; saved %s (run the same command again to resume)", state.step,
                        ctx.ckpt_path)  # fmt: skip
            raise
    if state.epoch < cfg.epochs:
        log.info("stopped at max_steps=%d; %s", opts.max_steps, ctx.ckpt_path)
    else:
        log.info("done: %d epochs, %d steps; %s", state.epoch, state.step, ctx.ckpt_path)
    return ctx.ckpt_path
