"""The distilled encoder: fitted to a real (tiny) model's GRU encoder, stored in and refused by the checkpoint, used
by the engine for new measures, and `arvae-train distill` end to end on a trained tiny run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _training_helpers import TINY
from click.testing import CliRunner

from arvae_live.cli import main as live_cli
from arvae_live.core.checkpoint import load_checkpoint, save_checkpoint
from arvae_live.core.distilled_encoder import DistilledEncoder
from arvae_live.engine import LiveModel
from arvae_live.errors import CheckpointError, ConfigError
from training.cli import main as train_cli
from training.encoder_distill import check_distilled, fit_distilled_encoder
from training.export import export_checkpoint
from training.synthetic import random_measures
from training.train import run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained for 60 steps on synthetic measures (so its encoder is a function worth copying), exported
    with its train_config, and a distilled encoder fitted to it."""
    tmp = tmp_path_factory.mktemp("distill")
    run_dir = run("tiny", [*TINY, "synthetic_n_train=256"], out=tmp, max_steps=60, progress=False)
    path = tmp / "model.pt"
    export_checkpoint(run_dir, path, device="cpu", allow_degenerate=True, predictor=False, progress=False)
    ckpt = load_checkpoint(path)
    model = ckpt.build_model()
    train, val = random_measures(256, 0), random_measures(64, 1)
    fit = fit_distilled_encoder(model, train, val, torch.device("cpu"), steps=400, hidden_dim=64, progress=False)
    return path, ckpt, model, fit


def test_fit_copies_the_encoder_far_better_than_a_fresh_net(trained):
    _, _, model, fit = trained
    val = random_measures(64, 1)
    with torch.inference_mode():
        mu_full = model.encode(torch.from_numpy(val))[0]
    fresh = DistilledEncoder(fit.config)
    fresh_rmse = check_distilled(model, fresh, val)["mu_rmse"]
    h = fit.heldout
    assert h["mu_rmse"] < 0.5 * fresh_rmse, (h, fresh_rmse)
    assert h["mu_rmse"] < 0.5 * float(mu_full.pow(2).mean().sqrt())  # well inside the spread of the codes
    assert 0.0 <= h["recon_acc"] <= 1.0 and 0.0 <= h["decode_agreement"] <= 1.0
    assert h["n_check"] == 64 and h["n_pairs"] == len(np.unique(random_measures(256, 0), axis=0))


def test_checkpoint_round_trip_engine_use_and_the_full_choice(trained, tmp_path, measures):
    path, ckpt, model, fit = trained
    assert load_checkpoint(path).build_distilled_encoder() is None  # files without one still load
    ckpt.distilled_encoder = fit.to_checkpoint()
    with_enc = save_checkpoint(ckpt, tmp_path / "with.pt")
    loaded = load_checkpoint(with_enc)
    assert loaded.info()["distilled_encoder"]["decode_agreement"] == fit.heldout["decode_agreement"]
    net = loaded.build_distilled_encoder()
    x = torch.from_numpy(measures)
    with torch.inference_mode():
        want_mu, want_logvar = net(x)
        full_mu, _ = model.encode(x)
    lm = LiveModel.from_checkpoint(with_enc)
    assert lm.encoder_name == "distilled"
    mu, logvar, _ = lm._encode(measures)
    torch.testing.assert_close(mu, want_mu)
    torch.testing.assert_close(logvar, want_logvar)
    full = LiveModel.from_checkpoint(with_enc, encoder="full")
    assert full.encoder_name == "GRU"
    torch.testing.assert_close(full._encode(measures)[0], full_mu)
    assert not torch.allclose(mu, full_mu)  # the two paths really differ
    res = lm.regenerate(measures, {"note_density": 0.8}, variations=2)
    assert res.tokens.shape == (2, len(measures), 24)
    with pytest.raises(ConfigError, match="encoder must be one of auto, full"):
        LiveModel.from_checkpoint(with_enc, encoder="fast")


@pytest.mark.parametrize(
    "breakage, match",
    [
        (lambda p: p["config"].update(ticks=18), "does not fit the model"),
        (lambda p: p["config"].update(hidden_dim=10**6), "above the"),
        (lambda p: p["state_dict"].pop("hidden.weight"), "malformed distilled encoder"),
        (lambda p: p["state_dict"]["out.bias"].fill_(float("nan")), "NaN"),
        (lambda p: p.pop("config"), "malformed distilled encoder"),
    ],
)
def test_a_bad_distilled_encoder_is_a_checkpoint_error_naming_the_file(trained, tmp_path, breakage, match):
    _, ckpt, _, fit = trained
    ckpt.distilled_encoder = fit.to_checkpoint()
    path = save_checkpoint(ckpt, tmp_path / "bad-encoder.pt")
    payload = torch.load(path, weights_only=True)
    breakage(payload["distilled_encoder"])
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=f"bad-encoder.pt.*{match}"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="bad-encoder.pt"):
        LiveModel.from_checkpoint(path, encoder="full")  # refused whole, even when it would not be used


def test_distill_command_writes_the_encoder_and_its_command_into_the_checkpoint(trained, tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(trained[0].read_bytes())
    result = CliRunner().invoke(train_cli, ["distill", str(path), "--steps", "50", "--hidden", "32", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "distilled encoder written" in result.output and "validation measures" in result.output
    ckpt = load_checkpoint(path)
    assert ckpt.build_distilled_encoder().config.hidden_dim == 32
    assert ckpt.provenance["distillation"]["command"].startswith(f"arvae-train distill {path} --hidden 32")
    inspect = CliRunner().invoke(live_cli, ["inspect", str(path)])
    assert "distilled encoder: 32 hidden units" in inspect.output
