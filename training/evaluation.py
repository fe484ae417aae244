"""Evaluating a checkpoint: find its held-out measures, run `training.metrics.model_metrics`, draw traversals.

The held-out data comes from the checkpoint's own provenance (`provenance["train_config"]["dataset"]`) unless the
caller names another source:

    "bach", "folk"    a split of the prepared corpus (training.data.load_dataset), "test" by default; any corpus of
                      training.corpora.DATASETS on the checkpoint's grid (general, triple, compound, airds, ...);
    "synthetic"       the trainer's random melodies (training.synthetic), seeded per split so that "test" is never
                      what the model was trained or validated on;
    PATH.npy          an int array (N, ticks) of token ids in the checkpoint's vocabulary (ticks of its grid: 24, or
                      18 for a triple model), e.g. measures of your own.

At most `max_measures` measures are evaluated (a seeded random subset when there are more): the paper caps its
evaluation at 201 batches of 256 (51,456 measures), and the kNN mutual-information estimate grows as N log N.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arvae_live.core.checkpoint import Checkpoint
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import FIRST_PITCH_TOKEN, Vocabulary
from arvae_live.errors import ArvaeError, RepresentationError
from training.corpora import DATASET_GRIDS, DATASETS, OOD_DATASETS

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
# The corpora, the grid of each and the out-of-domain collection (Aird's Airs, in no preset's training data) of each
# grid: training/corpora.py's tables (that module imports music21 only when it builds).
CORPORA = DATASETS
CORPUS_GRIDS = DATASET_GRIDS
OOD_MAX_MEASURES = 8192  # enough for accuracies within a few tenths of a point, a minute on a CPU
SYNTHETIC = "synthetic"
# The paper evaluates at most 201 batches of 256 measures.
PAPER_MAX_MEASURES = 201 * 256
# Data seeds of the synthetic splits: the trainer draws train from seed 0 and val from seed 1 (training/train.py),
# so the held-out test split is seed 2.
SYNTHETIC_SEEDS = {"train": 0, "val": 1, "test": 2}
# Synthetic test measures drawn when the train config does not say how many validation measures it used.
SYNTHETIC_DEFAULT_N = 512


class DatasetUnavailableError(ArvaeError):
    """The held-out data of an evaluation cannot be found or read."""


@dataclass
class Evaluation:
    """What `evaluate_checkpoint` found: the metrics and where they came from."""

    checkpoint: str
    dataset: str  # name or path of the held-out data
    split: str  # "train" | "val" | "test", or "file" for a token file
    seed: int
    metrics: dict[str, float]
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "checkpoint": self.checkpoint,
            "dataset": self.dataset,
            "split": self.split,
            "seed": self.seed,
            "metrics": self.metrics,
            "plots": self.plots,
        }


def dataset_of(ckpt: Checkpoint) -> str:
    """The dataset a checkpoint was trained on, from its provenance; DatasetUnavailableError when it is not there."""
    try:
        return str(ckpt.provenance["train_config"]["dataset"])
    except (KeyError, TypeError):
        raise DatasetUnavailableError(
            "the checkpoint does not record its training dataset (provenance.train_config.dataset); "
            f"pass --dataset {'|'.join((*CORPORA, SYNTHETIC))} or --dataset FILE.npy"
        ) from None


def read_token_file(path: Path, vocab: Vocabulary, grid: Grid = SIMPLE) -> np.ndarray:
    """Token ids from a .npy file: an integer array (N, grid.ticks), ids 0..vocab.size-1.

    Raises:
        DatasetUnavailableError: missing or unreadable file.
        RepresentationError: wrong dtype, shape or ids.
    """
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DatasetUnavailableError(f"{path}: cannot read a token array ({err})") from err
    if not np.issubdtype(arr.dtype, np.integer):
        raise RepresentationError(f"{path}: token ids must be integers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != grid.ticks:
        raise RepresentationError(
            f"{path}: expected token measures of shape (N, {grid.ticks}) for the {grid.name} grid, got {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= vocab.size):
        raise RepresentationError(f"{path}: token ids must be in range 0..{vocab.size - 1} for this checkpoint")
    return arr.astype(np.int64)


def synthetic_split(split: str, n: int, vocab: Vocabulary, max_notes: int = 12, grid: Grid = SIMPLE) -> np.ndarray:
    """The trainer's random melodies for one split (seeded per split, see SYNTHETIC_SEEDS), int64 (n, grid.ticks)."""
    try:
        from training.synthetic import random_measures
    except ImportError as err:
        raise DatasetUnavailableError(f"synthetic measures need training/synthetic.py ({err})") from err
    return random_measures(n, SYNTHETIC_SEEDS[split], vocab, max_notes=max_notes, grid=grid)


def held_out_tokens(
    ckpt: Checkpoint,
    dataset: str | None = None,
    split: str = "test",
    *,
    cache_dir: Path = Path("data_cache"),
    progress: bool = True,
) -> tuple[np.ndarray, str, str]:
    """The measures to evaluate a checkpoint on.

    Args:
        ckpt: the checkpoint (its vocabulary and provenance are used).
        dataset: "bach", "folk", "synthetic", a path to a .npy token file, or None for the checkpoint's own dataset.
        split: "train", "val" or "test" (ignored for a token file).
        cache_dir: where training.data keeps prepared corpora.
        progress: show progress bars while a corpus is built.

    Returns:
        (tokens int64 (N, ticks) on the checkpoint's grid, dataset label, split label).

    Raises:
        DatasetUnavailableError: unknown source, unreadable data, or a corpus on another grid than the checkpoint's.
        RepresentationError: a bad token file.
    """
    grid = ckpt.model_config.measure_grid
    if split not in SPLITS:
        raise DatasetUnavailableError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    name = dataset if dataset is not None else dataset_of(ckpt)
    train_config = ckpt.provenance.get("train_config") or {}
    if name == SYNTHETIC:
        n = int(train_config.get("synthetic_n_val", SYNTHETIC_DEFAULT_N))
        max_notes = int(train_config.get("synthetic_max_notes", 12))
        return synthetic_split(split, n, ckpt.vocabulary, max_notes, grid), name, split
    if name in CORPORA:
        if CORPUS_GRIDS[name] != grid.name:
            same = ", ".join(c for c in CORPORA if CORPUS_GRIDS[c] == grid.name)
            raise DatasetUnavailableError(
                f"dataset {name} is on the {CORPUS_GRIDS[name]} grid but the checkpoint's model is on the "
                f"{grid.name} grid; choose one of: {same}"
            )
        try:
            from training.data import load_dataset
        except ImportError as err:
            raise DatasetUnavailableError(f"corpus datasets need training/data.py ({err})") from err
        # A run trained on the first data_limit pieces has its own split of them (the limit is part of the cache key).
        limit = train_config.get("data_limit") if train_config.get("dataset") == name else None
        ds = load_dataset(name, cache_dir=Path(cache_dir), vocab=ckpt.vocabulary, limit=limit, progress=progress)
        return np.asarray(ds.split_tokens(split), dtype=np.int64), name, split
    path = Path(name)
    if path.suffix == ".npy" or path.exists():
        return read_token_file(path, ckpt.vocabulary, grid), str(path), "file"
    raise DatasetUnavailableError(
        f"unknown dataset {name!r}; choose one of: {', '.join((*CORPORA, SYNTHETIC))}, or give a .npy token file"
    )


def novel_measures(ckpt: Checkpoint, tokens: np.ndarray, label: str, data: HeldOutData) -> np.ndarray | None:
    """bool (N,): which held-out measures occur in no transposition in the corpus's train split; None when the
    measures are not a corpus split with a train split (a token file, synthetic data, the airds collection)."""
    if label not in CORPORA or label in OOD_DATASETS.values():
        return None
    from training.data import load_dataset, measure_keys

    train_config = ckpt.provenance.get("train_config") or {}
    limit = train_config.get("data_limit") if train_config.get("dataset") == label else None
    ds = load_dataset(label, cache_dir=Path(data.cache_dir), vocab=ckpt.vocabulary, limit=limit, progress=False)
    train = ds.split_tokens("train")
    return ~np.isin(measure_keys(tokens), np.unique(measure_keys(train)))


def subsample(tokens: np.ndarray, max_measures: int, seed: int) -> np.ndarray:
    """At most max_measures rows of tokens, a seeded random subset in the original order when there are more."""
    if len(tokens) <= max_measures:
        return tokens
    keep = np.sort(np.random.default_rng(seed).choice(len(tokens), size=max_measures, replace=False))
    log.info("evaluating a random %d of %d measures", max_measures, len(tokens))
    return tokens[keep]


def plot_measures(tokens: np.ndarray, n: int = 3) -> np.ndarray:
    """The first n measures with at least 2 note onsets (so pitch range and contour mean something), else the first."""
    rich = tokens[(tokens >= FIRST_PITCH_TOKEN).sum(axis=1) >= 2]
    return (rich if len(rich) else tokens)[:n]


@dataclass(frozen=True)
class HeldOutData:
    """Where an evaluation's measures come from (see held_out_tokens) and how many are used."""

    dataset: str | None = None  # "bach", "folk", "synthetic", a .npy token file, or None: the checkpoint's own
    split: str = "test"  # "train", "val" or "test" (ignored for a token file)
    cache_dir: Path = Path("data_cache")  # where training.data keeps prepared corpora
    max_measures: int = PAPER_MAX_MEASURES  # evaluate at most this many measures (a seeded subset), >= 4
    # Also report accuracy and interpretability on the out-of-domain collection of the model's grid (OOD_DATASETS).
    ood: bool = False
    z_draws: int = 5  # posterior draws for modularity's mean and sd


def evaluate_checkpoint(
    ckpt_path: Path,
    data: HeldOutData = HeldOutData(),
    *,
    seed: int = 0,
    batch_size: int = 256,
    device: str = "cpu",
    plot_dir: Path | None = None,
    progress: bool = True,
) -> Evaluation:
    """Evaluate a checkpoint on its held-out measures, and optionally draw one traversal per regularised attribute.

    Args:
        ckpt_path: the checkpoint file (inference or training kind).
        data: where the measures come from, and at most how many.
        seed: seeds the subset, the z sampling and the MI estimator.
        batch_size: measures per forward pass, >= 1.
        device: "cpu" or "cuda".
        plot_dir: when given, write traversal_<attribute>.png there.
        progress: show progress bars.

    Returns:
        The Evaluation.

    Raises:
        CheckpointError, DatasetUnavailableError, RepresentationError: unusable inputs.
    """
    from arvae_live.core.checkpoint import load_checkpoint
    from training.metrics import MetricExtras, model_metrics
    from training.plots import traversal_figure

    ckpt = load_checkpoint(ckpt_path)
    tokens, label, split_label = held_out_tokens(
        ckpt, data.dataset, data.split, cache_dir=data.cache_dir, progress=progress
    )
    if len(tokens) < 4:
        raise DatasetUnavailableError(f"{label} ({split_label}) holds {len(tokens)} measures; at least 4 are needed")
    tokens = subsample(tokens, data.max_measures, seed)
    model = ckpt.build_model()
    extras = MetricExtras(novel_measures(ckpt, tokens, label, data), data.z_draws)
    run = dict(batch_size=batch_size, seed=seed, device=device, progress=progress)
    metrics = model_metrics(model, tokens, ckpt.attributes, extras=extras, **run)
    if data.ood:  # the collection no preset trains on: what a performer's own tunes may look like
        ood_name = OOD_DATASETS[ckpt.model_config.measure_grid.name]
        ood_tokens = held_out_tokens(ckpt, ood_name, "test", cache_dir=data.cache_dir, progress=progress)[0]
        ood = model_metrics(model, subsample(ood_tokens, OOD_MAX_MEASURES, seed), ckpt.attributes, **run)
        for key in ("recon_acc", "note_acc", "recon_acc_mean", "note_acc_mean", "interpretability", "n_measures"):
            metrics[f"ood.{key}"] = ood[key]
    plots = []
    if plot_dir is not None:
        chosen = plot_measures(tokens)
        for spec in ckpt.attributes:
            if spec.latent_dim is not None:
                # model_metrics has put the model on `device`; the figure decodes there.
                out = traversal_figure(model, chosen, spec, Path(plot_dir) / f"traversal_{spec.name}.png",
                                       vocab=ckpt.vocabulary)  # fmt: skip
                plots.append(str(out))
    return Evaluation(str(ckpt_path), label, split_label, seed, metrics, plots)


def embed_evaluation(path: Path, result: Evaluation, command: str) -> list[str]:
    """Write an evaluation's figures into the checkpoint it evaluated, so that `arvae-live inspect` shows what the
    README quotes: metrics under "eval.<key>" (earlier "eval." figures replaced), and provenance["evaluation"] with
    the command, dataset, split and seed. The file is rewritten atomically (core/atomic.py): it stays whole or as it
    was.

    Args:
        path: the inference checkpoint that was evaluated.
        result: what evaluate_checkpoint returned for it.
        command: the command line that made the figures, as a user would type it.

    Returns:
        The metric keys written.
    """
    from arvae_live.core.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(path)
    kept = {k: v for k, v in ckpt.metrics.items() if not k.startswith("eval.")}
    embedded = {f"eval.{k}": float(v) for k, v in result.metrics.items() if np.isfinite(v)}
    ckpt.metrics = kept | embedded
    ckpt.provenance["evaluation"] = {
        "command": command,
        "dataset": result.dataset,
        "split": result.split,
        "seed": result.seed,
    }
    save_checkpoint(ckpt, path)
    return sorted(embedded)
