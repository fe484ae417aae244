"""The attribute predictor: its closed-form Jacobian, its solve, its place in the checkpoint and in the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvae_live import steering
from arvae_live.core.checkpoint import load_checkpoint, save_checkpoint
from arvae_live.core.predictor import AttributePredictor, PredictorConfig
from arvae_live.engine import LiveModel
from arvae_live.errors import CheckpointError
from training.predictor_fit import fit_predictor
from training.synthetic import random_measures


def _net(latent_dim: int = 8, seed: int = 0) -> AttributePredictor:
    torch.manual_seed(seed)
    net = AttributePredictor(PredictorConfig(latent_dim, ("a", "b", "c"), hidden_dim=32)).eval()
    with torch.no_grad():  # slopes of a fitted predictor: about 0.1-0.3 per latent unit, not a fresh net's 0.01
        net.l3.weight.mul_(10.0)
    return net


def test_jacobian_in_closed_form_matches_autograd():
    net = _net()
    z = torch.randn(5, 8, dtype=torch.float64)
    net = net.double()
    dims = [0, 3, 5]
    f, J = net.with_jacobian(z, dims)
    torch.testing.assert_close(f, net(z))
    for b in range(5):
        full = torch.autograd.functional.jacobian(net, z[b : b + 1])[0, :, 0, :]  # (A, latent)
        torch.testing.assert_close(J[b], full[:, dims])


def test_solve_meets_reachable_targets_and_holds_the_other_dims():
    net = _net(seed=1)
    dims = [0, 1, 2]
    z = torch.randn(64, 8)
    goal = z.clone()
    goal[:, dims] += torch.empty(64, 3).uniform_(-1.0, 1.0)
    with torch.no_grad():
        asked = net(goal)  # reachable by moving the three dims
        weight = torch.ones(64, 3)
        start_miss = (net(z) - asked).abs().mean()
        out = net.solve(z, dims, asked, weight, iters=10)
        end_miss = (net(out) - asked).abs().mean()
    assert end_miss < 0.1 * start_miss, (start_miss, end_miss)
    torch.testing.assert_close(out[:, 3:], z[:, 3:])  # only the asked dims move
    assert not torch.equal(out, z)


def test_zero_weight_attributes_do_not_pull():
    net = _net(seed=2)
    z = torch.randn(16, 8)
    with torch.no_grad():
        asked = net(z)
        asked[:, 2] += 5.0  # an unreachable ask on an attribute whose weight is 0
        weight = torch.tensor([1.0, 1.0, 0.0]).expand(16, 3)
        out = net.solve(z, [0, 1], asked, weight)
        assert (net(out)[:, :2] - asked[:, :2]).abs().max() < 0.05


@pytest.fixture
def tiny_fit(tiny_ckpt):
    ckpt = load_checkpoint(tiny_ckpt)
    tokens = random_measures(256, 3)
    fit = fit_predictor(ckpt.build_model(), tokens, list(ckpt.attributes), torch.device("cpu"), reps=2, progress=False)
    return ckpt, fit


def test_checkpoint_round_trip_with_and_without_a_predictor(tmp_path, tiny_fit, tiny_ckpt):
    ckpt, fit = tiny_fit
    assert load_checkpoint(tiny_ckpt).build_predictor() is None  # files from before the predictor still load
    ckpt.predictor = fit.to_checkpoint()
    path = save_checkpoint(ckpt, tmp_path / "with.pt")
    net = load_checkpoint(path).build_predictor()
    assert net.config.attributes == tuple(a.name for a in ckpt.attributes)
    z = torch.randn(4, ckpt.model_config.latent_dim)
    ref = AttributePredictor(fit.config)
    ref.load_state_dict(fit.state_dict)
    with torch.no_grad():
        torch.testing.assert_close(net(z), ref(z))
    assert set(fit.heldout_mae) == set(net.config.attributes) and all(v >= 0 for v in fit.heldout_mae.values())


@pytest.mark.parametrize(
    "breakage, match",
    [
        (lambda p: p["config"].update(latent_dim=99), "size mismatch"),
        (lambda p: p["config"].update(attributes=["x", "y", "z", "w"]), "does not fit the model"),
        (lambda p: p["state_dict"].pop("l2.weight"), "malformed attribute predictor"),
        (lambda p: p.pop("config"), "malformed attribute predictor"),
    ],
)
def test_a_bad_predictor_is_a_checkpoint_error_naming_the_file(tmp_path, tiny_fit, breakage, match):
    ckpt, fit = tiny_fit
    ckpt.predictor = fit.to_checkpoint()
    path = save_checkpoint(ckpt, tmp_path / "bad-predictor.pt")
    payload = torch.load(path, weights_only=True)
    breakage(payload["attribute_predictor"])
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=f"bad-predictor.pt.*{match}"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="bad-predictor.pt"):
        LiveModel.from_checkpoint(path)


def test_engine_starts_the_closed_loop_from_the_predictor(tmp_path, tiny_fit, measures):
    """With a predictor the closed loop's first guess is the predictor's solve, not the calibration's move; both
    paths refine to targets, and the open loop (the paper's move) is the same with or without one."""
    ckpt, fit = tiny_fit
    plain = LiveModel(ckpt.build_model(), ckpt.attributes, ckpt.vocabulary)
    ckpt.predictor = fit.to_checkpoint()
    lm = LiveModel.from_checkpoint(save_checkpoint(ckpt, tmp_path / "pred.pt"))
    assert lm.steering.predictor is not None and plain.steering.predictor is None
    targets = {"note_density": 0.8, "pitch_range": 0.2}
    np.testing.assert_array_equal(
        lm.regenerate(measures, targets, closed_loop=False).tokens,
        plain.regenerate(measures, targets, closed_loop=False).tokens,
    )
    lm.steering.max_rounds = plain.steering.max_rounds = 0  # the first guesses alone
    first = lm.regenerate(measures, targets, budget_ms=None)
    z_open = plain.regenerate(measures, targets).latents
    lm.steering.max_rounds = plain.steering.max_rounds = steering.MAX_ROUNDS
    assert not np.allclose(first.latents, z_open)  # a different first guess
    rng = np.random.default_rng(0)
    miss = {"open": 0.0, "closed": 0.0}
    for _ in range(6):
        targets = {n: float(rng.uniform()) for n in lm.attribute_names}
        for key, closed in (("open", False), ("closed", True)):
            res = lm.regenerate(measures, targets, closed_loop=closed)
            miss[key] += sum(np.abs(res.achieved[n][0] - res.asked[n]).sum() for n in lm.attribute_names)
    assert miss["closed"] < miss["open"], miss


def test_inspect_says_whether_a_checkpoint_has_a_predictor(tmp_path, tiny_fit, tiny_ckpt):
    from click.testing import CliRunner

    from arvae_live.cli import main

    ckpt, fit = tiny_fit
    ckpt.predictor = fit.to_checkpoint()
    with_pred = save_checkpoint(ckpt, tmp_path / "with.pt")
    out = CliRunner().invoke(main, ["inspect", str(with_pred)])
    assert out.exit_code == 0 and f"attribute predictor: {fit.config.hidden_dim} hidden units" in out.output
    out = CliRunner().invoke(main, ["inspect", str(tiny_ckpt)])
    assert out.exit_code == 0 and "attribute predictor: none" in out.output
    out = CliRunner().invoke(main, ["inspect", "--json", str(with_pred)])
    assert '"attribute_predictor"' in out.output
