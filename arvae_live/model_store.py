"""Model ids <-> checkpoint files: the bundled checkpoints, a folder named by ARVAE_CHECKPOINTS, and plain paths.

A model id is the file stem of an inference checkpoint in the model folder: `checkpoints/` at the repository root,
or the folder the environment variable ARVAE_CHECKPOINTS names (which then replaces it, so a user or a test sees
exactly the models of one folder). Anything that looks like a path (has a separator or ends in .pt) is a path.

Each checkpoint serves the meters of its grid (core/meters.py: simple 4/4, 2/2, 2/4; triple 3/4; compound 12/8, 6/8).
`default_model_path(grid)` picks a grid's default: the id in DEFAULT_MODEL_IDS when present, else the first model of
that grid by id.
"""

from __future__ import annotations

import os
from pathlib import Path

from arvae_live.core.meters import GRIDS, SIMPLE, Grid, get_grid
from arvae_live.errors import CheckpointError

ENV_VAR = "ARVAE_CHECKPOINTS"
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
DEFAULT_MODEL_ID = "general-arvae"  # the general 4/4 melody model (checkpoints/README.md), when bundled
# The default model of each grid, by id; a grid whose default is missing falls back to its first model by id.
DEFAULT_MODEL_IDS = {"simple": DEFAULT_MODEL_ID, "triple": "triple-arvae", "compound": "compound-arvae"}
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


# path -> ((mtime_ns, size), grid): reading a header loads and checks the whole file (~35 ms each), and the daemon's
# /arvae/models/list and every grid's default ask for every file's grid; a changed file is read again.
_GRID_CACHE: dict[Path, tuple[tuple[int, int], Grid]] = {}


def checkpoint_grid(path: str | os.PathLike) -> Grid:
    """The grid a checkpoint's model is built for, from its header (simple for files that predate grids); read
    once per file version.

    Raises:
        CheckpointError: unreadable or foreign file, or a grid this version does not know.
    """
    from arvae_live.core.checkpoint import read_header  # imports torch: not before a command's arguments are checked

    path = Path(path)
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None  # read_header says what is wrong with the path
    hit = _GRID_CACHE.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    config = read_header(path).get("model_config") or {}
    try:
        grid = get_grid(str(config.get("grid", SIMPLE.name)))
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from None
    if stamp is not None:
        _GRID_CACHE[path] = (stamp, grid)
    return grid


def models_by_grid() -> dict[str, dict[str, Path]]:
    """{grid name: {model id: path}} of the readable checkpoints in model_dir(), every grid a key (maybe empty).
    Files that cannot be read are left out here; loading them by id still says why."""
    out: dict[str, dict[str, Path]] = {name: {} for name in GRIDS}
    for model_id, path in available_models().items():
        try:
            out[checkpoint_grid(path).name][model_id] = path
        except CheckpointError:
            continue
    return out


def default_model_path(grid: Grid | None = None) -> Path:
    """A grid's default model: its id in DEFAULT_MODEL_IDS when present, else its first model by id. Without a
    grid: the simple (4/4) default when there is one, else the first model by id.

    Raises:
        CheckpointError: there is no checkpoint at all (or none for the grid); the message says how to get one and,
            for a grid, which meters the models that are there serve.
    """
    models = available_models()
    if not models:
        raise CheckpointError(f"no model checkpoints (*.pt) in {model_dir()}; {_HOW_TO_GET_ONE}")
    if grid is None:
        if DEFAULT_MODEL_ID in models:  # by id, without reading headers: no torch import before arguments are checked
            return models[DEFAULT_MODEL_ID]
        simple = models_by_grid()[SIMPLE.name]
        if simple:
            return simple.get(DEFAULT_MODEL_IDS[SIMPLE.name], next(iter(simple.values())))
        return next(iter(models.values()))
    by_grid = models_by_grid()
    mine = by_grid[grid.name]
    if not mine:
        served = "; ".join(f"{g} ({GRIDS[g].meters_text}): {', '.join(ids)}" for g, ids in by_grid.items() if ids)
        raise UnknownModelError(
            f"no model in {model_dir()} serves {', '.join(grid.meters)}; the models there serve {served or 'nothing'}"
        )
    return mine.get(DEFAULT_MODEL_IDS[grid.name], next(iter(mine.values())))


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
