"""The engine: the fast decoder against MeasureVAE.decode_free, LiveModel.regenerate/sample, velocities."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from arvae_live import engine
from arvae_live.core.attributes import RC_WEIGHTS
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.representation import Note
from arvae_live.engine import LiveModel, carry_velocities
from arvae_live.errors import CheckpointError, RepresentationError, UnknownAttributeError
from arvae_live.fast_decode import FastDecoder


@pytest.mark.parametrize("relu_logits", [True, False])
def test_fast_decoder_gives_the_same_tokens_as_decode_free(tiny_config, relu_logits):
    torch.manual_seed(1)
    cfg = ModelConfig(**{**tiny_config.to_dict(), "relu_logits": relu_logits})
    model = MeasureVAE(cfg).eval()
    with torch.no_grad():  # favour HOLD, as a trained model does, so that beats end on HOLD and on other tokens
        model.out_proj.bias[0] += 0.5
    z = torch.randn(64, cfg.latent_dim) * 2
    with torch.inference_mode():
        want, _ = model.decode_free(z)
        got = FastDecoder(model).decode(z)
    assert torch.equal(got, want)
    assert len(torch.unique(want)) > 3  # the comparison covers varied tokens, not one constant
    # The beat-parallel decode guesses that each beat ends on HOLD and redoes the next beat where it does not;
    # the comparison covers that redo only if some beats (not the last) end otherwise.
    ends = want.view(-1, 4, 6)[:, :3, -1]
    assert (ends != 0).any() and (ends == 0).any()


def test_fast_decoder_matches_at_paper_size_and_when_sampling():
    torch.manual_seed(2)
    model = MeasureVAE(ModelConfig(n_layers=2, hidden_dim=128, latent_dim=32)).eval()
    z = torch.randn(16, 32)
    with torch.inference_mode():
        assert torch.equal(FastDecoder(model).decode(z), model.decode_free(z)[0])
        g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        sampled = FastDecoder(model).decode(z, temperature=1.0, generator=g1)
        assert torch.equal(sampled, model.decode_free(z, temperature=1.0, generator=g2)[0])


@pytest.fixture
def lm(tiny_ckpt) -> LiveModel:
    return LiveModel.from_checkpoint(tiny_ckpt)


def test_from_checkpoint_and_measure_attributes_by_hand(lm, measures):
    assert lm.model_id == "tiny"
    assert lm.attribute_names == ["rhythmic_complexity", "pitch_range", "note_density", "contour"]
    got = lm.measure_attributes(measures)
    # Bar 1: quarters C D E F at ticks 0, 6, 12, 18. Bar 4: empty. Ranges are the formula ranges (fixture).
    assert RC_WEIGHTS.sum() == pytest.approx(27.79)
    assert got["rhythmic_complexity"][0] == pytest.approx((0.2 + 0.67 + 0.25 + 0.67) / 27.79)
    assert got["note_density"][0] == pytest.approx(4 / 24)
    assert got["note_density"][1] == pytest.approx(5 / 24)
    assert got["pitch_range"][0] == pytest.approx(5 / 29)  # (65 - 60) / 26 over 0..29/26
    assert got["contour"][0] == pytest.approx((5 + 29) / 58)  # +5/26 over -29/26..29/26
    assert got["contour"][1] == pytest.approx((-7 + 29) / 58)  # 67 down to 60
    assert [got[n][3] for n in lm.attribute_names] == [0.0, 0.0, 0.0, 0.5]


def test_regenerate_shapes_asked_and_achieved(lm, measures):
    res = lm.regenerate(measures, {"note_density": 0.25, "contour": np.array([0.1, 0.2, 0.3, 0.4])}, variations=3)
    assert res.tokens.shape == (3, 4, 24) and res.tokens.dtype == np.int64
    assert res.tokens.min() >= 0 and res.tokens.max() < lm.vocab.size
    inp = lm.measure_attributes(measures)
    np.testing.assert_allclose(res.asked["note_density"], 0.25)
    np.testing.assert_allclose(res.asked["contour"], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(res.asked["pitch_range"], inp["pitch_range"])  # untargeted: the input's own value
    for v in range(3):
        measured = lm.measure_attributes(res.tokens[v])
        for name in lm.attribute_names:
            np.testing.assert_allclose(res.achieved[name][v], measured[name])
    assert res.engine_ms > 0 and res.n_decoded >= 12


def test_regenerate_is_reproducible_and_seed_matters(lm, measures):
    a = lm.regenerate(measures, {"note_density": 0.5}, variations=2, temperature=1.0, seed=3)
    b = lm.regenerate(measures, {"note_density": 0.5}, variations=2, temperature=1.0, seed=3)
    c = lm.regenerate(measures, {"note_density": 0.5}, variations=2, temperature=1.0, seed=4)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert not np.array_equal(a.tokens, c.tokens)


def _miss(lm: LiveModel, res) -> float:
    """Sum over measures and attributes of the miss beyond tolerance, computed from the result's own fields."""
    total = 0.0
    for k, name in enumerate(lm.attribute_names):
        total += np.maximum(np.abs(res.achieved[name][0] - res.asked[name]) - lm._tolerance[k], 0).sum()
    return total


def test_closed_loop_never_worse_than_open_loop(lm, measures):
    rng = np.random.default_rng(0)
    for _ in range(5):
        targets = {n: float(rng.uniform()) for n in lm.attribute_names}
        open_ = lm.regenerate(measures, targets, closed_loop=False)
        closed = lm.regenerate(measures, targets, closed_loop=True)
        assert open_.rounds == 0 and open_.n_decoded == 4
        assert _miss(lm, closed) <= _miss(lm, open_) + 1e-12


def test_bad_targets_and_tokens_are_refused(lm, measures):
    with pytest.raises(UnknownAttributeError, match="no attribute 'loudness'"):
        lm.regenerate(measures, {"loudness": 0.5})
    with pytest.raises(ValueError, match="range 0..1"):
        lm.regenerate(measures, {"note_density": 1.5})
    with pytest.raises(ValueError, match="range 0..1"):
        lm.regenerate(measures, {"note_density": float("nan")})
    with pytest.raises(RepresentationError, match="one per measure"):
        lm.regenerate(measures, {"note_density": np.zeros(3)})
    with pytest.raises(RepresentationError, match="shape"):
        lm.regenerate(measures[:, :12], {})
    with pytest.raises(RepresentationError, match="token ids"):
        lm.regenerate(measures + 100, {})
    with pytest.raises(RepresentationError, match="variations"):
        lm.regenerate(measures, {}, variations=0)


def test_sample_shapes_and_reproducibility(lm):
    a = lm.sample(3, {"note_density": 0.3}, variations=2, seed=9)
    b = lm.sample(3, {"note_density": 0.3}, variations=2, seed=9)
    assert a.tokens.shape == (2, 3, 24)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert list(a.asked) == ["note_density"]
    assert set(a.achieved) == set(lm.attribute_names)


def test_carry_velocities_takes_the_nearest_input_onset():
    src = [Note(60, 0.0, 1.0, 30), Note(62, 2.0, 1.0, 90), Note(64, 3.0, 1.0, 120)]
    out = [Note(70, 0.9, 0.5), Note(71, 1.0, 0.5), Note(72, 1.1, 0.5), Note(73, 3.5, 0.5), Note(74, 9.0, 0.5)]
    got = [n.velocity for n in carry_velocities(out, src)]
    assert got == [30, 30, 90, 120, 120]  # 1.0 is equidistant from 0.0 and 2.0: the earlier wins
    assert [n.velocity for n in carry_velocities(out, [])] == [100] * 5


def test_corrupt_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="broken.pt"):
        LiveModel.from_checkpoint(bad)


def test_budget_zero_skips_refinement_and_interp_endpoints_are_the_inputs_decoded(lm, measures):
    targets = {"note_density": 0.9, "contour": 0.1}
    res = lm.regenerate(measures, targets, budget_ms=0.0)
    assert res.rounds == 0 and res.n_decoded == 4
    np.testing.assert_array_equal(res.tokens, lm.regenerate(measures, targets, closed_loop=False).tokens)
    other = measures[::-1].copy()
    interp = lm.interpolate(measures, other, 3)
    assert interp.tokens.shape == (3, 4, 24)
    np.testing.assert_array_equal(interp.tokens[0], lm.regenerate(measures, {}, closed_loop=False).tokens[0])
    np.testing.assert_array_equal(interp.tokens[2], lm.regenerate(other, {}, closed_loop=False).tokens[0])


def test_closed_loop_moves_attributes_toward_their_targets(lm):
    """Even on the untrained tiny model, measuring and refining gets clearly closer than one calibrated move."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, lm.vocab.size, size=(8, 24))
    total = {False: 0.0, True: 0.0}
    for _ in range(10):
        targets = {n: float(rng.uniform()) for n in lm.attribute_names}
        for closed in (False, True):
            res = lm.regenerate(tokens, targets, closed_loop=closed)
            total[closed] += sum(np.abs(res.achieved[n][0] - res.asked[n]).sum() for n in lm.attribute_names)
    assert total[True] < 0.9 * total[False], total


# ---- the closed loop's parts: score weighting, the plateau sweep, the time-budget estimate -----------------------


def test_score_weighs_a_targeted_miss_over_a_held_one_and_ignores_misses_within_tolerance(lm):
    A = len(lm.attributes)
    asked = np.full((3, A), 0.5)
    achieved = asked.copy()
    achieved[0, 0] += 0.2  # misses the targeted attribute 0
    achieved[1, 1] += 0.2  # misses the held attribute 1 by as much
    achieved[2, 0] += 0.5 * lm._tolerance[0]  # within tolerance
    weight = np.array([1.0] + [engine.UNTARGETED_WEIGHT] * (A - 1))
    score = lm._score(achieved, asked, np.zeros((3, 24)), None, weight)
    assert score[0] == pytest.approx(0.2 - lm._tolerance[0])
    assert score[1] == pytest.approx(engine.UNTARGETED_WEIGHT * (0.2 - lm._tolerance[1]))
    assert score[2] == 0.0
    asked[0, 0] = np.nan  # not scored at all
    assert lm._score(achieved, asked, np.zeros((3, 24)), None, weight)[0] == 0.0


def _decoded_state(lm, measures):
    with torch.inference_mode():
        z = lm._encode(measures)[0].numpy().astype(np.float64)
        tok = lm._decode(z, 0.0, None)
    return z, tok, lm._measure_matrix(tok)


def test_sweep_decodes_only_for_rows_that_miss_and_never_makes_a_row_worse(lm, measures):
    steer = [(k, a) for k, a in enumerate(lm.attributes) if a.latent_dim is not None]
    weight = np.ones(len(lm.attributes))
    z, tok, att = _decoded_state(lm, measures)
    asked = att.copy()  # every row already meets its targets: nothing to sweep
    score = lm._score(att, asked, tok, None, weight)
    args = (asked, None, weight, steer, 0.0, None, time.perf_counter(), None)
    with torch.inference_mode():
        assert lm._sweep(z.copy(), tok.copy(), att.copy(), score.copy(), *args) == 0
    k = next(k for k, a in steer if a.name == "note_density")
    asked[1, k] = 1.0 - att[1, k] if abs(0.5 - att[1, k]) > 0.1 else 1.0  # row 1 misses one attribute
    best = [z.copy(), tok.copy(), att.copy(), lm._score(att, asked, tok, None, weight)]
    before = best[3].copy()
    args = (asked, None, weight, steer, 0.0, None, time.perf_counter(), None)
    with torch.inference_mode():
        n = lm._sweep(*best, *args)
    assert n == len(engine.SWEEP_OFFSETS)  # one (row, dim) pair, the whole offset grid
    assert best[3][1] <= before[1]
    np.testing.assert_array_equal(best[1][[0, 2, 3]], tok[[0, 2, 3]])  # other rows untouched
    if best[3][1] < before[1]:  # it moved row 1 along note density's dim only
        moved = np.flatnonzero(best[0][1] != z[1])
        assert moved.tolist() == [lm.spec("note_density").latent_dim]


def test_budget_cost_model_fits_a_fixed_and_a_per_row_part_and_follows_the_machine():
    cost = engine.DecodeCost()
    cost.calibrate([(8, 2.0), (32, 5.0), (8, 2.0), (32, 5.0)])  # 1 ms + 0.125 ms per row
    assert (cost.fixed_ms, cost.per_row_ms) == pytest.approx((1.0, 0.125))
    assert cost.predict(56) == pytest.approx(8.0)
    t0 = time.perf_counter()
    assert engine._fits(10_000, t0, None, cost)  # no budget: always
    assert engine._fits(8, t0, 10.0, cost)
    assert engine._fits(56, t0, 10.0, cost)  # 8 ms + the round's margin, plus the little time elapsed here
    assert not engine._fits(72, t0, 10.0, cost)  # 10 ms
    assert not engine._fits(1, t0 - 0.009, 10.0, cost)  # 9 ms already spent
    for _ in range(20):  # the machine got twice as slow
        cost.observe(8, 4.0)
    assert cost.predict(8) == pytest.approx(4.0, rel=0.05)
    assert not engine._fits(56, time.perf_counter(), 10.0, cost)


def test_warm_up_calibrates_the_cost_model(lm):
    assert lm._cost.per_row_ms > 0 and lm._cost.fixed_ms >= 0
    assert 0.5 <= lm._cost.scale <= 4.0
