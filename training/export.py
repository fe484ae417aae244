"""Training checkpoint -> inference checkpoint, with a self-check (after RAVE's export).

`export_checkpoint(run_dir_or_ckpt, out)` reads a kind="training" checkpoint, calibrates each regularised
attribute on the validation split (`training.calibration.calibrate`: latent value on its dim -> attribute value of
the decoded measure), fits the attribute predictor on the same split (`training.predictor_fit`), writes a
kind="inference" file without optimiser state (atomically), reloads it with `load_checkpoint` (weights_only),
decodes a fixed measure as a warm-up and self-check, and returns a summary.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arvae_live.core.attributes import AttributeSpec, compute_attributes
from arvae_live.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from arvae_live.core.device import resolve_device
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import HOLD, REST, Vocabulary
from arvae_live.errors import CheckpointError
from training.configs import TrainConfig
from training.predictor_fit import fit_predictor
from training.train import CHECKPOINT_NAME, load_splits

log = logging.getLogger(__name__)

# calibrate(model, tokens (N, 24), specs, device) -> specs with calibration tables (training.calibration).
CalibrateFn = Callable[[MeasureVAE, np.ndarray, list[AttributeSpec], torch.device], list[AttributeSpec]]


@dataclass
class ExportSummary:
    """What export wrote and what its self-check decoded."""

    path: Path
    source: Path
    step: int
    attributes: list[AttributeSpec]
    metrics: dict[str, float]
    check_input: list[int]  # the fixed measure's tokens (24)
    check_output: list[int]  # its reconstruction by the reloaded model (argmax from mu)
    check_attributes: dict[str, float] = field(default_factory=dict)  # attributes of check_output
    predictor_mae: dict[str, float] | None = None  # held-out error of the attribute predictor, when one was fitted


def self_check_measure(vocab: Vocabulary | None = None) -> np.ndarray:
    """The fixed measure decoded by the self-check: C4 D4 E4 F4 quarters, then a rest... as (1, 24) tokens.

    Beat 1: C4 quarter; beat 2: D4 8th + E4 8th; beat 3: F4 quarter; beat 4: a quarter rest.
    """
    vocab = vocab or Vocabulary()
    row = np.full(24, HOLD, dtype=np.int64)
    row[0] = vocab.pitch_to_token(60)
    row[6] = vocab.pitch_to_token(62)
    row[9] = vocab.pitch_to_token(64)
    row[12] = vocab.pitch_to_token(65)
    row[18] = REST
    return row[None, :]


def resolve_source(src: Path) -> Path:
    """A run directory means its last.pt; a file is itself. CheckpointError if neither exists."""
    src = Path(src)
    if src.is_dir():
        ckpt = src / CHECKPOINT_NAME
        if not ckpt.exists():
            raise CheckpointError(f"{src} holds no {CHECKPOINT_NAME}; is it a run directory of arvae-train train?")
        return ckpt
    if not src.exists():
        raise CheckpointError(f"{src}: no such run directory or checkpoint file")
    return src


def export_checkpoint(
    src: Path,
    out: Path,
    *,
    device: str = "auto",
    data_cache: Path = Path("data_cache"),
    calibrate: CalibrateFn | None = None,
    predictor: bool = True,
    progress: bool = True,
) -> ExportSummary:
    """Write the inference checkpoint of a training run and check it by reloading and decoding.

    Args:
        src: a run directory (its last.pt is used) or a training checkpoint file.
        out: the inference checkpoint to write; must differ from the source (inputs are never overwritten).
        device: "auto", "cpu" or "cuda", for calibration.
        data_cache: folder of the prepared corpora (training.data), for the validation split.
        calibrate: the calibration function; default training.calibration.calibrate.
        predictor: also fit the attribute predictor the live engine's closed loop starts from
            (training.predictor_fit); skipped for a model with no regularised dim.
        progress: progress bars while loading data.

    Returns:
        An ExportSummary.

    Raises:
        CheckpointError: missing or unreadable source, a source that is not a training checkpoint, out == source,
            or a written file that does not reload and decode.
    """
    src_ckpt = resolve_source(src)
    out = Path(out)
    if out.resolve() == src_ckpt.resolve():
        raise CheckpointError(f"refusing to overwrite the source checkpoint {src_ckpt}; choose another -o path")
    ckpt = load_checkpoint(src_ckpt)
    if ckpt.kind != "training":
        raise CheckpointError(f"{src_ckpt} is an {ckpt.kind} checkpoint; export reads training checkpoints")
    try:
        cfg = TrainConfig.from_dict(ckpt.provenance["train_config"])
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{src_ckpt}: provenance holds no usable train_config ({err})") from err
    if calibrate is None:
        from training.calibration import calibrate  # the metrics package's calibration

    dev = resolve_device(device)
    model = ckpt.build_model().to(dev)
    _, val_tokens = load_splits(cfg, data_cache, progress)
    specs = calibrate(model, val_tokens, list(ckpt.attributes), dev)
    fit = None
    if predictor and any(a.latent_dim is not None for a in specs):
        fit = fit_predictor(model, val_tokens, specs, dev, progress=progress)

    provenance = dict(ckpt.provenance)
    provenance["exported_from"] = str(src_ckpt)
    provenance["exported_utc"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    inference = Checkpoint(
        kind="inference",
        model_config=ckpt.model_config,
        attributes=specs,
        vocabulary=ckpt.vocabulary,
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        metrics=ckpt.metrics,
        provenance=provenance,
        predictor=None if fit is None else fit.to_checkpoint(),
    )
    save_checkpoint(inference, out)

    # Self-check: what the daemon will do, from the file just written.
    try:
        reloaded = load_checkpoint(out)
        check_model = reloaded.build_model()  # load_checkpoint has already validated the predictor, if any
        x = torch.from_numpy(self_check_measure(reloaded.vocabulary))
        with torch.inference_mode():
            mu, _ = check_model.encode(x)
            decoded, _ = check_model.decode_free(mu)
    except CheckpointError as err:
        raise CheckpointError(f"{out} was written but does not reload: {err}") from err
    decoded_np = decoded.numpy()
    check_attrs = {k: float(v[0]) for k, v in compute_attributes(decoded_np, [a.name for a in specs]).items()}
    log.info("exported %s (step %s) -> %s", src_ckpt, ckpt.provenance.get("step"), out)
    return ExportSummary(
        path=out,
        source=src_ckpt,
        step=int(ckpt.provenance.get("step", 0)),
        attributes=reloaded.attributes,
        metrics=dict(reloaded.metrics),
        check_input=x[0].tolist(),
        check_output=decoded_np[0].tolist(),
        check_attributes=check_attrs,
        predictor_mae=None if fit is None else fit.heldout_mae,
    )
