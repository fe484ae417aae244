"""The checkpoint file format: the only module that knows the layout.

One file holds everything needed to use a model (shared/STYLE.md 2.3):

    format="arvae", format_version=1, kind="inference" | "training"
    model_config   ModelConfig as a dict
    attributes     [AttributeSpec as a dict, ...]: name, latent_dim, raw range, calibration
    vocabulary     Vocabulary as a dict
    metrics        {name: float}
    provenance     {"train_config": {...}, "config_hash": ..., "step": ..., "arvae_version": ..., ...}
    state_dict     {name: tensor}
    training       only when kind == "training": optimizer state, step, epoch, RNG states for resume
    attribute_predictor  optional: {"config": PredictorConfig dict, "state_dict": {name: tensor}}, the small MLP
                   the engine's closed loop starts from (core/predictor.py); files without it still load

Everything but tensors is plain JSON (checked on save), so loading is always
``torch.load(path, map_location="cpu", weights_only=True)``. Writes are atomic: a temporary file beside the target,
then os.replace, so a reader never sees half a file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from arvae_live.core.atomic import atomic_open
from arvae_live.core.attributes import AttributeSpec
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.predictor import AttributePredictor, PredictorConfig
from arvae_live.core.representation import Vocabulary
from arvae_live.errors import ArvaeError, CheckpointError, UnknownAttributeError

FORMAT = "arvae"  # value of KEY_FORMAT; anything else is a foreign file
FORMAT_VERSION = 1  # bump on any layout change, and add _migrate_v{N}_to_v{N+1}
KINDS = ("inference", "training")

KEY_FORMAT = "format"  # str, always FORMAT
KEY_VERSION = "format_version"  # int
KEY_KIND = "kind"  # "inference" (no optimizer) or "training" (resumable)
KEY_MODEL_CONFIG = "model_config"  # dict of ModelConfig fields
KEY_ATTRIBUTES = "attributes"  # list of AttributeSpec dicts
KEY_VOCABULARY = "vocabulary"  # Vocabulary dict
KEY_METRICS = "metrics"  # {str: float}
KEY_PROVENANCE = "provenance"  # free-form JSON about how the file was made
KEY_STATE_DICT = "state_dict"  # {parameter name: tensor}
KEY_TRAINING = "training"  # resume state, kind == "training" only
KEY_PREDICTOR = "attribute_predictor"  # optional {"config": {...}, "state_dict": {...}}; an addition within v1
HEADER_KEYS = (
    KEY_FORMAT,
    KEY_VERSION,
    KEY_KIND,
    KEY_MODEL_CONFIG,
    KEY_ATTRIBUTES,
    KEY_VOCABULARY,
    KEY_METRICS,
    KEY_PROVENANCE,
)


@dataclass
class Checkpoint:
    """A checkpoint in memory. `header` is the plain-JSON part; tensors are in state_dict (and training)."""

    kind: str
    model_config: ModelConfig
    attributes: list[AttributeSpec]
    vocabulary: Vocabulary
    state_dict: dict[str, torch.Tensor]
    metrics: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] | None = None  # optimizer state etc., only for kind == "training"
    predictor: dict[str, Any] | None = None  # {"config": PredictorConfig dict, "state_dict": {name: tensor}}

    def header(self) -> dict[str, Any]:
        """The plain-JSON header as stored in the file."""
        return {
            KEY_FORMAT: FORMAT,
            KEY_VERSION: FORMAT_VERSION,
            KEY_KIND: self.kind,
            KEY_MODEL_CONFIG: self.model_config.to_dict(),
            KEY_ATTRIBUTES: [a.to_dict() for a in self.attributes],
            KEY_VOCABULARY: self.vocabulary.to_dict(),
            KEY_METRICS: {k: float(v) for k, v in self.metrics.items()},
            KEY_PROVENANCE: self.provenance,
        }

    def build_model(self) -> MeasureVAE:
        """A MeasureVAE in eval mode with these weights; CheckpointError listing keys on a mismatch."""
        model = MeasureVAE(self.model_config)
        missing, unexpected = _diff_keys(model.state_dict(), self.state_dict)
        if missing or unexpected:
            raise CheckpointError(f"weights do not fit the model config: missing {missing}, unexpected {unexpected}")
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as err:  # shape mismatch
            raise CheckpointError(f"weights do not fit the model config: {err}") from err
        return model.eval()

    def build_predictor(self) -> AttributePredictor | None:
        """The attribute predictor in eval mode, or None when the file has none; CheckpointError if it is malformed
        or does not fit the model (latent size, attribute names)."""
        if self.predictor is None:
            return None
        try:
            config = PredictorConfig.from_dict(self.predictor["config"])
            net = AttributePredictor(config)
            net.load_state_dict(self.predictor["state_dict"], strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            detail = " ".join(str(err).split())[:300]  # torch's load errors span lines; errors here are one line
            raise CheckpointError(f"malformed attribute predictor ({type(err).__name__}: {detail})") from err
        names = tuple(a.name for a in self.attributes)
        if config.latent_dim != self.model_config.latent_dim or config.attributes != names:
            raise CheckpointError(
                f"attribute predictor does not fit the model: latent {config.latent_dim} vs "
                f"{self.model_config.latent_dim}, attributes {config.attributes} vs {names}"
            )
        return net.eval()

    def attribute(self, name: str) -> AttributeSpec:
        for spec in self.attributes:
            if spec.name == name:
                return spec
        raise UnknownAttributeError(
            f"this model has no attribute {name!r}; it has: {', '.join(a.name for a in self.attributes)}"
        )


def _diff_keys(expected: dict, got: dict) -> tuple[list[str], list[str]]:
    return sorted(set(expected) - set(got)), sorted(set(got) - set(expected))


def _check_json(value: Any, where: str) -> None:
    """Refuse anything in the header that is not plain JSON (so weights_only loading always works).

    Types are checked exactly, not with isinstance: a subclass of str, int or float (torch.__version__'s
    TorchVersion, np.float64, an IntEnum) passes json.dumps but is pickled as its own class, which
    weights_only loading then refuses. bool is a subclass of int, so it is listed on its own.
    """
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return
    if kind is float:
        if not math.isfinite(value):
            raise CheckpointError(f"{where} is {value}, which JSON cannot hold")
        return
    if kind is list:
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]")
        return
    if kind is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise CheckpointError(f"{where} has a non-string key {k!r}")
            _check_json(v, f"{where}.{k}")
        return
    raise CheckpointError(f"{where} is a {type(value).__name__}; checkpoint headers hold plain JSON only")


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write ckpt to path atomically (temporary file in the same folder, then os.replace).

    Returns:
        The path written.
    """
    path = Path(path)
    if ckpt.kind not in KINDS:
        raise CheckpointError(f"kind must be one of {KINDS}, got {ckpt.kind!r}")
    header = ckpt.header()
    _check_json(header, "header")
    payload: dict[str, Any] = dict(header)
    payload[KEY_STATE_DICT] = {k: v.detach().cpu() for k, v in ckpt.state_dict.items()}
    if ckpt.kind == "training":
        payload[KEY_TRAINING] = ckpt.training or {}
    if ckpt.predictor is not None:
        ckpt.build_predictor()  # refuse to write one that would not load
        _check_json(ckpt.predictor["config"], "attribute_predictor.config")
        payload[KEY_PREDICTOR] = {
            "config": ckpt.predictor["config"],
            "state_dict": {k: v.detach().cpu() for k, v in ckpt.predictor["state_dict"].items()},
        }
    with atomic_open(path) as f:
        torch.save(payload, f)
    return path


def _load_payload(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt, truncated and foreign files
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: not a readable arvae checkpoint ({first_line[:200]})") from err
    if not isinstance(payload, dict) or payload.get(KEY_FORMAT) != FORMAT:
        raise CheckpointError(f"{path}: not an arvae checkpoint (no format={FORMAT!r} header)")
    version = payload.get(KEY_VERSION)
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version} is newer than this arvae-live reads "
            f"({FORMAT_VERSION}); upgrade arvae-live"
        )
    # Older versions would be migrated here, one _migrate_vN_to_vN+1 at a time; version 1 is the first.
    return payload


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The plain-JSON header of a checkpoint, validated, without building the model; with the attribute
    predictor's config under "attribute_predictor" when the file has one."""
    payload = _load_payload(Path(path))
    _parse(payload, Path(path))  # validates every field
    header = {k: payload[k] for k in HEADER_KEYS}
    if payload.get(KEY_PREDICTOR) is not None:
        header[KEY_PREDICTOR] = payload[KEY_PREDICTOR]["config"]
    return header


def _parse(payload: dict[str, Any], path: Path) -> Checkpoint:
    try:
        kind = payload[KEY_KIND]
        if kind not in KINDS:
            raise CheckpointError(f"kind must be one of {KINDS}, got {kind!r}")
        state_dict = payload[KEY_STATE_DICT]
        if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
            raise CheckpointError("state_dict is not a mapping of tensors")
        ckpt = Checkpoint(
            kind=kind,
            model_config=ModelConfig(**payload[KEY_MODEL_CONFIG]),
            attributes=[AttributeSpec.from_dict(a) for a in payload[KEY_ATTRIBUTES]],
            vocabulary=Vocabulary.from_dict(payload[KEY_VOCABULARY]),
            state_dict=state_dict,
            metrics=dict(payload.get(KEY_METRICS) or {}),
            provenance=dict(payload.get(KEY_PROVENANCE) or {}),
            training=payload.get(KEY_TRAINING),
            predictor=payload.get(KEY_PREDICTOR),
        )
        ckpt.build_predictor()  # validated on load, so a bad one is reported with the file's name
        return ckpt
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err
    except (ArvaeError, KeyError, TypeError, ValueError, AssertionError) as err:
        raise CheckpointError(f"{path}: malformed checkpoint header ({type(err).__name__}: {err})") from err


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint (weights_only loading; never unpickles code).

    Raises:
        CheckpointError: missing, corrupt, truncated, foreign, newer-format or malformed file; the message names it.
    """
    path = Path(path)
    return _parse(_load_payload(path), path)
