"""Training checkpoint -> inference checkpoint, with a self-check (after RAVE's export).

`export_checkpoint(run_dir_or_ckpt, out)` reads a kind="training" checkpoint, calibrates each regularised
attribute on the validation split (`training.calibration.calibrate`: latent value on its dim -> attribute value of
the decoded measure), fits the attribute predictor on the same split (`training.predictor_fit`), and self-checks
the model: it encodes a fixed measure and decodes it from mu, as the daemon would. A model that decodes it to
silence, or gets fewer than MIN_CHECK_NOTE_ACC of its note onsets right, is degenerate (a run stopped far too
early, or one that collapsed): export refuses it and writes nothing, unless asked to allow it, in which case the
reason is stored in the file's provenance ("degenerate") and reported loudly. Then it writes a kind="inference"
file without optimiser state (atomically), reloads it with `load_checkpoint` (weights_only), checks that the
reloaded model decodes the fixed measure the same way, and returns a summary.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arvae_live.core.attributes import AttributeSpec, compute_attributes
from arvae_live.core.batched import decode_batched, encode_batched
from arvae_live.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from arvae_live.core.device import resolve_device
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD, REST, Vocabulary
from arvae_live.errors import CheckpointError
from training.calibration import calibrate
from training.configs import TrainConfig
from training.metrics import note_accuracy
from training.predictor_fit import fit_predictor
from training.train import CHECKPOINT_NAME, load_splits

log = logging.getLogger(__name__)

# The self-check passes when at least this share of the ticks where the fixed measure or its decoding starts a note
# agree (training.metrics.note_accuracy): 3 of its 4 notes. The shipped models get 1.0; a 60-step model that decodes
# all rests gets 0 (its 19/24 tokens right are the easy HOLD ticks, which is why tokens are not what is counted).
MIN_CHECK_NOTE_ACC = 0.75
DEGENERATE_KEY = "degenerate"  # provenance key: why the self-check failed, in a file exported anyway


class DegenerateModelError(CheckpointError):
    """The model failed export's self-check (silent or wrong decoding of a fixed measure); nothing was written."""


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
    degenerate: str | None = None  # why the self-check failed, when the model was exported anyway


def degenerate_reason(check_input: np.ndarray, check_output: np.ndarray) -> str | None:
    """Why a self-check decoding shows a degenerate model, or None when it passes.

    Args:
        check_input: the fixed measure, int (ticks,) token ids on the model's grid.
        check_output: its decoding from mu, int (ticks,).

    Returns:
        A one-line reason ("decodes the fixed measure to silence (all rest/hold)", or the note accuracy against
        MIN_CHECK_NOTE_ACC), or None.
    """
    if not (np.asarray(check_output) >= FIRST_PITCH_TOKEN).any():
        return "it decodes the self-check measure to silence (all rest/hold tokens)"
    acc = note_accuracy(check_output[None], check_input[None])
    if acc < MIN_CHECK_NOTE_ACC:
        return f"its self-check note accuracy is {acc:.2f}, below {MIN_CHECK_NOTE_ACC}"
    return None


def self_check_measure(vocab: Vocabulary | None = None, grid: Grid = SIMPLE) -> np.ndarray:
    """The fixed measure decoded by the self-check, as (1, grid.ticks) tokens: C4 D4 E4 F4 then a rest.

    simple: beat 1 C4 quarter; beat 2 D4 8th + E4 8th; beat 3 F4 quarter; beat 4 a quarter rest.
    triple: the same first three beats (no rest: a 3/4 measure ends after F4).
    compound: beat 1 C4 dotted quarter; beat 2 D4 quarter + E4 8th (the 6/8 lilt); beat 3 F4 dotted quarter;
    beat 4 a dotted-quarter rest.
    """
    vocab = vocab or Vocabulary()
    row = np.full(grid.ticks, HOLD, dtype=np.int64)
    row[0] = vocab.pitch_to_token(60)
    row[6] = vocab.pitch_to_token(62)
    # The 8th after beat 2: tick 3 of a quarter beat, tick 4 of a dotted beat (16th ticks: 2 of 6 = an 8th before 2).
    row[9 if grid.beat_quarters == 1.0 else 10] = vocab.pitch_to_token(64)
    row[12] = vocab.pitch_to_token(65)
    if grid.beats == 4:
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


def read_training_checkpoint(src: Path, out: Path) -> tuple[Path, Checkpoint, TrainConfig]:
    """(the source file, its checkpoint, its TrainConfig) for an export to out.

    Raises:
        CheckpointError: no such source, out is the source, not a training checkpoint, or no usable train_config.
    """
    src_ckpt = resolve_source(src)
    if out.resolve() == src_ckpt.resolve():
        raise CheckpointError(f"refusing to overwrite the source checkpoint {src_ckpt}; choose another -o path")
    ckpt = load_checkpoint(src_ckpt)
    if ckpt.kind != "training":
        raise CheckpointError(f"{src_ckpt} is an {ckpt.kind} checkpoint; export reads training checkpoints")
    try:
        cfg = TrainConfig.from_dict(ckpt.provenance["train_config"])
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{src_ckpt}: provenance holds no usable train_config ({err})") from err
    return src_ckpt, ckpt, cfg


def export_checkpoint(
    src: Path,
    out: Path,
    *,
    device: str = "auto",
    data_cache: Path = Path("data_cache"),
    predictor: bool = True,
    allow_degenerate: bool = False,
    progress: bool = True,
) -> ExportSummary:
    """Write the inference checkpoint of a training run and check it by reloading and decoding.

    Args:
        src: a run directory (its last.pt is used) or a training checkpoint file.
        out: the inference checkpoint to write; must differ from the source (inputs are never overwritten).
        device: "auto", "cpu" or "cuda", for calibration and the predictor fit.
        data_cache: folder of the prepared corpora (training.data), for the validation split.
        predictor: also fit the attribute predictor the live engine's closed loop starts from
            (training.predictor_fit); skipped for a model with no regularised dim.
        allow_degenerate: write a model that fails the self-check anyway, with the reason in its provenance.
        progress: progress bars while loading data.

    Returns:
        An ExportSummary.

    Raises:
        DegenerateModelError: the self-check failed and allow_degenerate is False; nothing is written.
        CheckpointError: missing or unreadable source, a source that is not a training checkpoint, out == source,
            or a written file that does not reload and decode.
    """
    out = Path(out)
    src_ckpt, ckpt, cfg = read_training_checkpoint(src, out)
    dev = resolve_device(device)
    model = ckpt.build_model().to(dev)
    grid = model.grid
    check_input = self_check_measure(ckpt.vocabulary, grid)
    check_output = _decode_from_mu(model, check_input)
    reason = degenerate_reason(check_input[0], check_output[0])
    if reason is not None and not allow_degenerate:
        raise DegenerateModelError(
            f"{src_ckpt} looks degenerate: {reason}; nothing written (train longer, or pass --allow-degenerate)"
        )
    if reason is not None:
        log.warning("DEGENERATE MODEL exported anyway (%s): %s", out, reason)

    _, val_tokens = load_splits(cfg, data_cache, progress)
    specs = calibrate(model, val_tokens, list(ckpt.attributes), progress=progress)
    fit = None
    if predictor and any(a.latent_dim is not None for a in specs):
        fit = fit_predictor(model, val_tokens, specs, dev, progress=progress)
    save_checkpoint(_inference_checkpoint(ckpt, src_ckpt, model, specs, fit, reason), out)

    # Self-check of the file: what the daemon will do, from the file just written.
    try:
        reloaded = load_checkpoint(out)
        reloaded_output = _decode_from_mu(reloaded.build_model(), check_input)  # the predictor is validated on load
    except CheckpointError as err:
        raise CheckpointError(f"{out} was written but does not reload: {err}") from err
    names = [a.name for a in specs]
    log.info("exported %s (step %s) -> %s", src_ckpt, ckpt.provenance.get("step"), out)
    return ExportSummary(
        path=out,
        source=src_ckpt,
        step=int(ckpt.provenance.get("step", 0)),
        attributes=reloaded.attributes,
        metrics=dict(reloaded.metrics),
        check_input=check_input[0].tolist(),
        check_output=reloaded_output[0].tolist(),
        check_attributes={k: float(v[0]) for k, v in compute_attributes(reloaded_output, names, grid).items()},
        predictor_mae=None if fit is None else fit.heldout_mae,
        degenerate=reason,
    )


def _decode_from_mu(model: MeasureVAE, tokens: np.ndarray) -> np.ndarray:
    """Encode measures and decode their posterior means with argmax, as the daemon's first variation: int64
    (N, model.ticks)."""
    return decode_batched(model, encode_batched(model, tokens).mu).tokens


def _inference_checkpoint(
    ckpt: Checkpoint, src: Path, model: MeasureVAE, specs: list[AttributeSpec], fit, degenerate: str | None
) -> Checkpoint:
    """The kind="inference" checkpoint of a training checkpoint: calibrated specs, the predictor, no optimiser."""
    provenance = dict(ckpt.provenance)
    provenance["exported_from"] = str(src)
    provenance["exported_utc"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if degenerate is not None:
        provenance[DEGENERATE_KEY] = degenerate
    return Checkpoint(
        kind="inference",
        model_config=ckpt.model_config,
        attributes=specs,
        vocabulary=ckpt.vocabulary,
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        metrics=ckpt.metrics,
        provenance=provenance,
        predictor=None if fit is None else fit.to_checkpoint(),
    )
