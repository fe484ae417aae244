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
    distilled_encoder  optional: {"config": DistilledEncoderConfig dict, "state_dict": {name: tensor}, "heldout":
                   {name: float}}, the feed-forward copy of the encoder the engine encodes new clips with
                   (core/distilled_encoder.py); files without it still load

Everything but tensors is plain JSON (checked on save), so loading is always
``torch.load(path, map_location="cpu", weights_only=True)``. Writes are atomic: a temporary file beside the target,
then os.replace, so a reader never sees half a file.

Loading checks the whole file before anything is built (`load_checkpoint`; `arvae-live inspect` and `serve` both go
through it): model sizes within MAX_MODEL_SIZES, the vocabulary the model's size, each attribute's latent dim inside
the latent and used once, calibration tables finite, every tensor of the shape the config gives (a mismatch is
summarised in one line) and finite. A file that passes builds and runs; one that does not is refused in one line.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from arvae_live.core.atomic import atomic_open
from arvae_live.core.attributes import AttributeSpec
from arvae_live.core.distilled_encoder import DistilledEncoder, DistilledEncoderConfig
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
KEY_DISTILLED = "distilled_encoder"  # optional {"config": {...}, "state_dict": {...}, "heldout": {...}}; within v1
# The largest sizes a checkpoint may declare: far above anything trained here (the paper's model has vocabulary 32,
# embedding 10, hidden 128, 2 layers, latent 32), low enough that a corrupted or hostile header cannot make loading
# build a model of gigabytes: sizes are checked first, then tensor shapes against the file's own tensors.
MAX_MODEL_SIZES = {"vocab_size": 1024, "embed_dim": 4096, "hidden_dim": 8192, "n_layers": 16, "latent_dim": 4096}
MAX_PREDICTOR_HIDDEN = 8192  # the attribute predictor's hidden width (128 in the bundled models)
MAX_DISTILLED_HIDDEN = 8192  # the distilled encoder's hidden width (768 in the bundled models)
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
    # {"config": DistilledEncoderConfig dict, "state_dict": {name: tensor}, "heldout": {name: float}}
    distilled_encoder: dict[str, Any] | None = None

    def header(self) -> dict[str, Any]:
        """The plain-JSON header as stored in the file."""
        return {
            KEY_FORMAT: FORMAT,
            KEY_VERSION: FORMAT_VERSION,
            KEY_KIND: self.kind,
            KEY_MODEL_CONFIG: self.model_config.to_dict(),
            KEY_ATTRIBUTES: [a.to_dict() for a in self.attributes],
            KEY_VOCABULARY: self.vocabulary.to_dict(self.model_config.measure_grid),
            KEY_METRICS: {k: float(v) for k, v in self.metrics.items()},
            KEY_PROVENANCE: self.provenance,
        }

    def info(self) -> dict[str, Any]:
        """The header with the attribute predictor's config under "attribute_predictor" and the distilled
        encoder's config and held-out figures under "distilled_encoder", when the file has them: what `read_header`
        returns and `arvae-live inspect` prints (plain JSON)."""
        info = self.header()
        if self.predictor is not None:
            info[KEY_PREDICTOR] = self.predictor["config"]
        if self.distilled_encoder is not None:
            info[KEY_DISTILLED] = {**self.distilled_encoder["config"], **self.distilled_encoder.get("heldout", {})}
        return info

    def build_model(self) -> MeasureVAE:
        """A MeasureVAE in eval mode with these weights; CheckpointError in one line when they do not fit."""
        problem = _fit_problem(_expected_shapes(MeasureVAE, self.model_config), self.state_dict)
        if problem:
            raise CheckpointError(f"weights do not fit the model config: {problem}")
        model = MeasureVAE(self.model_config)
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval()

    def build_predictor(self) -> AttributePredictor | None:
        """The attribute predictor in eval mode, or None when the file has none; CheckpointError if it is malformed
        or does not fit the model (latent size, attribute names)."""
        if self.predictor is None:
            return None
        config, state_dict = _check_predictor(self.predictor, self.model_config.latent_dim, self.attributes)
        net = AttributePredictor(config)
        net.load_state_dict(state_dict, strict=True)
        return net.eval()

    def build_distilled_encoder(self) -> DistilledEncoder | None:
        """The distilled encoder in eval mode, or None when the file has none; CheckpointError if it is malformed or
        does not fit the model (ticks, vocabulary, latent size)."""
        if self.distilled_encoder is None:
            return None
        config, state_dict = _check_distilled(self.distilled_encoder, self.model_config)
        net = DistilledEncoder(config)
        net.load_state_dict(state_dict, strict=True)
        return net.eval()

    def attribute(self, name: str) -> AttributeSpec:
        for spec in self.attributes:
            if spec.name == name:
                return spec
        raise UnknownAttributeError(
            f"this model has no attribute {name!r}; it has: {', '.join(a.name for a in self.attributes)}"
        )


class _ShapesOnly(TorchFunctionMode):
    """Skips weight initialisers, so a model built on the meta device costs nothing: its shapes are all we read.

    (Initialising meta tensors with normal_ imports torch's Python meta kernels, over a second on first use.)
    """

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if getattr(func, "__module__", None) == "torch.nn.init" or getattr(func, "__name__", "") in _INIT_OPS:
            return args[0] if args else (kwargs or {})["tensor"]
        return func(*args, **(kwargs or {}))


_INIT_OPS = ("normal_", "uniform_", "zero_", "fill_")  # the in-place initialisers torch.nn layers call


def _expected_shapes(module_type: Callable[[Any], torch.nn.Module], config: Any) -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} of module_type(config), found without allocating its weights (meta device)."""
    with torch.device("meta"), _ShapesOnly():
        module = module_type(config)
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def _fit_problem(expected: dict[str, tuple[int, ...]], got: dict[str, torch.Tensor]) -> str | None:
    """What keeps tensors `got` from loading into a module with `expected` shapes, in one line; None when they fit.

    Example: "3 tensors have the wrong shape, first: out_proj.weight [32, 64] expected [32, 128]".
    """
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and tuple(got[k].shape) != expected[k]]
    parts = []
    if wrong:
        k = wrong[0]
        shape, want = list(got[k].shape), list(expected[k])
        parts.append(
            f"{_count(len(wrong), 'tensor')} {_has(len(wrong))} the wrong shape, first: {k} {shape} expected {want}"
        )
    if missing:
        parts.append(f"{_count(len(missing), 'tensor')} missing, first: {missing[0]}")
    if unexpected:
        parts.append(f"{_count(len(unexpected), 'unexpected tensor')}, first: {unexpected[0]}")
    return "; ".join(parts) or None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _has(n: int) -> str:
    return "has" if n == 1 else "have"


def _non_finite(state_dict: dict[str, torch.Tensor]) -> str | None:
    """One line naming the tensors with NaN or infinite values (how many, the first one); None when all are finite."""
    bad = {k: int((~torch.isfinite(t)).sum()) for k, t in state_dict.items() if not bool(torch.isfinite(t).all())}
    if not bad:
        return None
    first = next(iter(bad))
    return (
        f"{_count(sum(bad.values()), 'NaN or infinite weight')} in {_count(len(bad), 'tensor')}, first: {first} "
        "(a diverged training run; export an earlier checkpoint)"
    )


def _check_model_config(config: ModelConfig, vocabulary: Vocabulary) -> None:
    """Sizes within MAX_MODEL_SIZES, and the vocabulary the size the model was built for."""
    for name, limit in MAX_MODEL_SIZES.items():
        value = getattr(config, name)
        if value > limit:
            raise CheckpointError(f"model_config.{name} is {value}, above the {limit} a checkpoint may declare")
    if config.vocab_size != vocabulary.size:
        raise CheckpointError(
            f"model_config.vocab_size is {config.vocab_size} but the vocabulary has {vocabulary.size} tokens"
        )


def _check_attributes(attributes: list[AttributeSpec], latent_dim: int) -> None:
    """Names once each; latent dims None or 0..latent_dim-1, each used once; finite ranges and calibration."""
    names: set[str] = set()
    owner: dict[int, str] = {}
    for a in attributes:
        if a.name in names:
            raise CheckpointError(f"attribute {a.name} is listed twice")
        names.add(a.name)
        dim = a.latent_dim
        if dim is not None:
            if not 0 <= dim < latent_dim:
                raise CheckpointError(
                    f"attribute {a.name}: latent_dim {dim!r} is outside 0..{latent_dim - 1} (the model's latent size "
                    f"is {latent_dim})"
                )
            if dim in owner:
                raise CheckpointError(f"attributes {owner[dim]} and {a.name} both use latent dim {dim}")
            owner[dim] = a.name
        values = (a.low, a.high, *a.calibration_z, *a.calibration_raw)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise CheckpointError(
                f"attribute {a.name}: its range or calibration table holds a value that is not finite"
            )


def _check_predictor(
    predictor: dict[str, Any], latent_dim: int, attributes: list[AttributeSpec]
) -> tuple[PredictorConfig, dict[str, torch.Tensor]]:
    """The attribute predictor's config and weights, checked as the model's are; CheckpointError in one line."""
    try:
        config = PredictorConfig.from_dict(predictor["config"])
        state_dict = predictor["state_dict"]
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"malformed attribute predictor ({type(err).__name__}: {_one_line(err)})") from err
    names = tuple(a.name for a in attributes)
    if config.latent_dim != latent_dim:
        raise CheckpointError(
            f"attribute predictor does not fit the model: latent size mismatch, {config.latent_dim} vs {latent_dim}"
        )
    if config.attributes != names:
        raise CheckpointError(f"attribute predictor does not fit the model: attributes {config.attributes} vs {names}")
    _check_part_weights("attribute predictor", AttributePredictor, config, state_dict, MAX_PREDICTOR_HIDDEN)
    return config, state_dict


def _check_distilled(
    distilled: dict[str, Any], model_config: ModelConfig
) -> tuple[DistilledEncoderConfig, dict[str, torch.Tensor]]:
    """The distilled encoder's config and weights, checked as the model's are; CheckpointError in one line."""
    try:
        config = DistilledEncoderConfig.from_dict(distilled["config"])
        state_dict = distilled["state_dict"]
        heldout = distilled.get("heldout", {})
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"malformed distilled encoder ({type(err).__name__}: {_one_line(err)})") from err
    want = (model_config.measure_grid.ticks, model_config.vocab_size, model_config.latent_dim)
    got = (config.ticks, config.vocab_size, config.latent_dim)
    if got != want:
        raise CheckpointError(f"distilled encoder does not fit the model: (ticks, vocabulary, latent) {got} vs {want}")
    if not isinstance(heldout, dict):
        raise CheckpointError("distilled encoder heldout figures are not a mapping")
    _check_part_weights("distilled encoder", DistilledEncoder, config, state_dict, MAX_DISTILLED_HIDDEN)
    return config, state_dict


def _check_part_weights(
    what: str, module_type: Callable[[Any], torch.nn.Module], config: Any, state_dict: Any, max_hidden: int
) -> None:
    """An optional part's (attribute predictor, distilled encoder) declared size and weights, checked as the model's
    are before anything is allocated: hidden width within max_hidden, a mapping of tensors of the shapes its config
    gives, all finite. CheckpointError in one line starting with `what`."""
    if config.hidden_dim > max_hidden:
        raise CheckpointError(
            f"{what} hidden_dim is {config.hidden_dim}, above the {max_hidden} a checkpoint may declare"
        )
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{what} state_dict is not a mapping of tensors")
    problem = _fit_problem(_expected_shapes(module_type, config), state_dict)
    if problem:
        raise CheckpointError(f"malformed {what} (weights do not fit its config: {problem})")
    problem = _non_finite(state_dict)
    if problem:
        raise CheckpointError(f"{what}: {problem}")


def _whole_latent_dim(attribute: dict[str, Any]) -> dict[str, Any]:
    """The attribute dict as stored, refused when its latent_dim is not None or a whole number (from_dict would
    truncate 1.5 to 1 and steer a dimension nobody chose)."""
    dim = attribute.get("latent_dim")
    if dim is not None and type(dim) is not int:
        raise CheckpointError(f"attribute {attribute.get('name')}: latent_dim {dim!r} is not a whole number")
    return attribute


def _check(ckpt: Checkpoint) -> None:
    """Everything `build_model`, `build_predictor` and `build_distilled_encoder` rely on, checked before any of them
    allocates a weight."""
    _check_model_config(ckpt.model_config, ckpt.vocabulary)
    _check_attributes(ckpt.attributes, ckpt.model_config.latent_dim)
    problem = _fit_problem(_expected_shapes(MeasureVAE, ckpt.model_config), ckpt.state_dict)
    if problem:
        raise CheckpointError(f"weights do not fit the model config: {problem}")
    problem = _non_finite(ckpt.state_dict)
    if problem:
        raise CheckpointError(problem)
    if ckpt.predictor is not None:
        _check_predictor(ckpt.predictor, ckpt.model_config.latent_dim, ckpt.attributes)
    if ckpt.distilled_encoder is not None:
        _check_distilled(ckpt.distilled_encoder, ckpt.model_config)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300] or type(err).__name__


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
        payload[KEY_PREDICTOR] = _part_payload(ckpt.predictor, KEY_PREDICTOR)
    if ckpt.distilled_encoder is not None:
        ckpt.build_distilled_encoder()
        heldout = {k: float(v) for k, v in ckpt.distilled_encoder.get("heldout", {}).items()}
        payload[KEY_DISTILLED] = _part_payload(ckpt.distilled_encoder, KEY_DISTILLED) | {"heldout": heldout}
    with atomic_open(path) as f:
        torch.save(payload, f)
    return path


def _part_payload(part: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional part (attribute predictor, distilled encoder) as the file stores it: its plain-JSON config (checked)
    and its weights on the CPU."""
    _check_json(part["config"], f"{key}.config")
    return {"config": part["config"], "state_dict": {k: v.detach().cpu() for k, v in part["state_dict"].items()}}


def _load_payload(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():  # a FIFO or a device would block the read forever
        raise CheckpointError(f"{path}: not a regular file, so not a checkpoint")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before failing on them: one line only
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt, truncated and foreign files
        raise CheckpointError(f"{path}: not a readable arvae checkpoint: {_why_unreadable(path, err)}") from err
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


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive
_PICKLE_MAGIC = b"\x80"  # a pickle of protocol 2 or later (torch's legacy format, or plain pickle.dump)


def _why_unreadable(path: Path, err: Exception) -> str:
    """What is wrong with a file torch.load refused, in words about the file.

    torch's own messages run over several lines and advise loading with weights_only=False, which would run any
    code the file carries; arvae-live never does that, so the advice is not passed on.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as os_err:  # e.g. no permission to read it
        return f"it cannot be read ({os_err.strerror or type(os_err).__name__})"
    text = " ".join(str(err).split())
    if not head:
        return "the file is empty"
    found = re.search(r"GLOBAL ([\w.]+)", text)  # the weights-only unpickler met a class or function
    if found:
        return (
            f"it holds a Python object of type {found.group(1)}, not only tensors and plain data; checkpoints are "
            "loaded without running code, so make it with `arvae-train export`"
        )
    if head.startswith(_ZIP_MAGIC):
        if "central directory" in text or isinstance(err, (EOFError, OSError)):  # what a cut-off archive gives
            return "the file is truncated or corrupted; copy or export it again"
        return "a zip archive that torch cannot read as a checkpoint (corrupted, or not a PyTorch file)"
    if head.startswith(_PICKLE_MAGIC):
        if isinstance(err, EOFError):
            return "the file is truncated; copy or export it again"
        return "a Python pickle that is not a PyTorch checkpoint"
    return "not a PyTorch checkpoint at all (neither a zip archive nor a pickle)"


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The plain-JSON header of a checkpoint (`Checkpoint.info`), after every check `load_checkpoint` makes, without
    building the model."""
    return load_checkpoint(path).info()


def _parse(payload: dict[str, Any], path: Path) -> Checkpoint:
    try:
        kind = payload[KEY_KIND]
        if kind not in KINDS:
            raise CheckpointError(f"kind must be one of {KINDS}, got {kind!r}")
        state_dict = payload[KEY_STATE_DICT]
        if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
            raise CheckpointError("state_dict is not a mapping of tensors")
        model_config = ModelConfig(**payload[KEY_MODEL_CONFIG])  # no "grid" (files before 3/4 and 6/8): simple
        ckpt = Checkpoint(
            kind=kind,
            model_config=model_config,
            attributes=[AttributeSpec.from_dict(_whole_latent_dim(a)) for a in payload[KEY_ATTRIBUTES]],
            vocabulary=Vocabulary.from_dict(payload[KEY_VOCABULARY], model_config.measure_grid),
            state_dict=state_dict,
            metrics=dict(payload.get(KEY_METRICS) or {}),
            provenance=dict(payload.get(KEY_PROVENANCE) or {}),
            training=payload.get(KEY_TRAINING),
            predictor=payload.get(KEY_PREDICTOR),
            distilled_encoder=payload.get(KEY_DISTILLED),
        )
        _check(ckpt)  # so a file that loads always builds, and every refusal names the file
        return ckpt
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err
    except (ArvaeError, KeyError, TypeError, ValueError, AssertionError) as err:
        raise CheckpointError(f"{path}: malformed checkpoint header ({type(err).__name__}: {_one_line(err)})") from err


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint (weights_only loading; never unpickles code).

    Raises:
        CheckpointError: missing, corrupt, truncated, foreign, newer-format or malformed file; the message names it.
    """
    path = Path(path)
    return _parse(_load_payload(path), path)
