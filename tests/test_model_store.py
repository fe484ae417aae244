"""Model ids <-> checkpoint paths: the model folder, ARVAE_CHECKPOINTS, default model, errors."""

from __future__ import annotations

import shutil

import pytest

from arvae_live.errors import CheckpointError
from arvae_live.model_store import (
    ENV_VAR,
    UnknownModelError,
    available_models,
    default_model_path,
    resolve_model,
)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "models"
    d.mkdir()
    monkeypatch.setenv(ENV_VAR, str(d))
    return d


def test_ids_are_file_stems_and_bach_is_the_default(folder, tiny_ckpt):
    for name in ("zeta.pt", "alpha.pt", "bach-arvae.pt"):
        shutil.copy(tiny_ckpt, folder / name)
    (folder / "notes.txt").write_text("not a model")
    assert list(available_models()) == ["alpha", "bach-arvae", "zeta"]
    assert default_model_path() == folder / "bach-arvae.pt"
    assert resolve_model("zeta") == folder / "zeta.pt"


def test_without_bach_the_first_model_is_the_default(folder, tiny_ckpt):
    for name in ("zeta.pt", "alpha.pt"):
        shutil.copy(tiny_ckpt, folder / name)
    assert default_model_path() == folder / "alpha.pt"


def test_no_models_says_how_to_get_one(folder):
    with pytest.raises(CheckpointError, match="arvae-train"):
        default_model_path()


def test_paths_and_unknown_ids(folder, tiny_ckpt):
    shutil.copy(tiny_ckpt, folder / "alpha.pt")
    assert resolve_model(str(tiny_ckpt)) == tiny_ckpt
    with pytest.raises(UnknownModelError, match="available: alpha"):
        resolve_model("beta")
    with pytest.raises(CheckpointError, match="missing.pt: no such checkpoint"):
        resolve_model(str(folder / "missing.pt"))
