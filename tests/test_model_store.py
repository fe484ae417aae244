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
    for name in ("zeta.pt", "alpha.pt", "general-arvae.pt"):
        shutil.copy(tiny_ckpt, folder / name)
    (folder / "notes.txt").write_text("not a model")
    assert list(available_models()) == ["alpha", "general-arvae", "zeta"]
    assert default_model_path() == folder / "general-arvae.pt"
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


def test_no_model_named_means_the_default(tmp_path, monkeypatch, tiny_ckpt):
    import shutil

    from arvae_live.model_store import resolve_model

    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "models"))
    (tmp_path / "models").mkdir()
    shutil.copy(tiny_ckpt, tmp_path / "models" / "general-arvae.pt")
    shutil.copy(tiny_ckpt, tmp_path / "models" / "another.pt")
    assert resolve_model(None) == tmp_path / "models" / "general-arvae.pt"


def test_device_rule():
    import pytest
    import torch

    from arvae_live.core.device import resolve_device
    from arvae_live.errors import ConfigError

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="unsupported device"):
        resolve_device("meta")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device("cuda", local_rank=1)
