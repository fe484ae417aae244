"""Model ids <-> checkpoint files: the bundled checkpoints, a folder named by ARVAE_CHECKPOINTS, and plain paths.

A model id is the file stem of an inference checkpoint in the model folder: `checkpoints/` at the repository root,
or the folder the environment variable ARVAE_CHECKPOINTS names (which then replaces it, so a user or a test sees
exactly the models of one folder). Anything that looks like a path (has a separator or ends in .pt) is a path.
"""

from __future__ import annotations

import os
from pathlib import Path

from arvae_live.errors import CheckpointError

ENV_VAR = "ARVAE_CHECKPOINTS"
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
DEFAULT_MODEL_ID = "bach-arvae"  # the paper's Bach chorale soprano model, when bundled
SUFFIX = ".pt"

_HOW_TO_GET_ONE = (
    "train and export one (`arvae-train train --preset ...`, then `arvae-train export RUN -o "
    "checkpoints/NAME.pt`), set ARVAE_CHECKPOINTS to a folder of .pt checkpoints, or pass --model PATH"
)


class UnknownModelError(CheckpointError):
    """A model id that names no checkpoint in the model folder (the message lists the ids that exist)."""


def model_dir() -> Path:
    """The folder model ids are looked up in: $ARVAE_CHECKPOINTS when set, else the repository's checkpoints/."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else BUNDLED_DIR


def available_models() -> dict[str, Path]:
    """{model id: checkpoint path} of the .pt files in model_dir(), sorted by id; empty when there are none."""
    folder = model_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob(f"*{SUFFIX}")) if p.is_file() and not p.name.startswith(".")}


def default_model_path() -> Path:
    """The Bach model (bach-arvae.pt) when present, else the first model by id.

    Raises:
        CheckpointError: there is no checkpoint at all; the message says how to get one.
    """
    models = available_models()
    if not models:
        raise CheckpointError(f"no model checkpoints (*.pt) in {model_dir()}; {_HOW_TO_GET_ONE}")
    return models.get(DEFAULT_MODEL_ID, next(iter(models.values())))


def looks_like_path(id_or_path: str) -> bool:
    """True when the string is meant as a file path rather than a model id."""
    return os.sep in id_or_path or "/" in id_or_path or id_or_path.endswith(SUFFIX)


def resolve_model(id_or_path: str | os.PathLike | None) -> Path:
    """The checkpoint file for a model id or a path; the default model when None (a command's --model not given).

    Args:
        id_or_path: a model id (file stem in model_dir()), a path to a .pt file, or None for default_model_path().

    Returns:
        The checkpoint path (existence checked; contents are checked when loaded).

    Raises:
        CheckpointError: a path that does not exist.
        UnknownModelError: an id with no checkpoint; the message lists the ids there are.
    """
    if id_or_path is None:
        return default_model_path()
    text = os.fspath(id_or_path)
    if looks_like_path(text) or Path(text).is_file():
        path = Path(text).expanduser()
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file")
        return path
    models = available_models()
    if text in models:
        return models[text]
    known = ", ".join(models) if models else f"none ({_HOW_TO_GET_ONE})"
    raise UnknownModelError(f"unknown model {text!r} in {model_dir()}; available: {known}")
