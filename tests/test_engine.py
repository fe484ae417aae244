"""The engine: the fast decoder against MeasureVAE.decode_free, LiveModel.regenerate/sample/interpolate, and the
closed loop's public parts (arvae_live/steering.py) checked against hand-worked values and the model's own decoder."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from arvae_live import steering
from arvae_live.core.attributes import RC_WEIGHTS
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.engine import LiveModel
from arvae_live.errors import CheckpointError, RepresentationError, UnknownAttributeError
from arvae_live.fast_decode import FastDecoder
from arvae_live.steering import Budget, Candidates, DecodeCost, Request


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


# Tolerances of the fixture's attributes, by hand: half of one quantum over the range (formula ranges, see conftest),
# at least steering.MIN_TOLERANCE. Rhythmic complexity's quantum is the lightest tick weight, 0.2 / 27.79.
TOLERANCE = {
    "rhythmic_complexity": 0.005,  # 0.5 * 0.2 / 27.79 = 0.0036, below the minimum
    "pitch_range": 0.5 * (1 / 26) / (29 / 26),  # one semitone over 0..29/26
    "note_density": 0.5 / 24,  # one onset over 0..1
    "contour": 0.5 * (1 / 26) / (58 / 26),  # one semitone over -29/26..29/26
}


def test_tolerances_are_half_an_attribute_quantum_over_the_model_range(lm):
    np.testing.assert_allclose(steering.tolerances(lm.attributes), [TOLERANCE[n] for n in lm.attribute_names])
    np.testing.assert_allclose(lm.steering.tolerance, [TOLERANCE[n] for n in lm.attribute_names])


def _miss(lm: LiveModel, res) -> float:
    """Sum over measures and attributes of the miss beyond tolerance, computed from the result's own fields."""
    total = 0.0
    for name in lm.attribute_names:
        total += np.maximum(np.abs(res.achieved[name][0] - res.asked[name]) - TOLERANCE[name], 0).sum()
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


def test_corrupt_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="broken.pt"):
        LiveModel.from_checkpoint(bad)


def test_budget_zero_skips_refinement_and_interp_endpoints_are_the_inputs_decoded(lm, measures):
    targets = {"note_density": 0.9, "contour": 0.1}
    res = lm.regenerate(measures, targets, budget_ms=0.0)
    assert res.rounds == 0 and res.n_decoded == 4  # one first guess per bar, nothing more
    other = measures[::-1].copy()
    interp = lm.interpolate(measures, other, 3)
    assert interp.tokens.shape == (3, 4, 24)
    # the endpoints are the two clips' posterior means, decoded by the model's own (eager) decoder
    with torch.inference_mode():
        for clip, step in ((measures, 0), (other, 2)):
            mu, _ = lm.model.encode(torch.from_numpy(clip))
            np.testing.assert_array_equal(interp.tokens[step], lm.model.decode_free(mu)[0].numpy())


def test_budget_counts_from_since_the_requests_arrival(lm, measures):
    """A request that arrived a second ago has spent any budget: only the first guess is decoded; counted from the
    call, the same budget allows refinement rounds."""
    targets = {"note_density": 0.9, "contour": 0.1}
    late = lm.regenerate(measures, targets, budget_ms=50.0, since=time.perf_counter() - 1.0)
    assert late.rounds == 0 and late.n_decoded == 4
    now = lm.regenerate(measures, targets, budget_ms=50.0)
    assert now.rounds >= 1 and now.n_decoded > 4
    sampled = lm.sample(2, targets, budget_ms=50.0, since=time.perf_counter() - 1.0)
    assert sampled.rounds == 0


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


# ---- the closed loop's public parts: score, candidates, first guess, refine, sweep, the time budget ---------------


def test_score_weighs_a_targeted_miss_over_a_held_one_and_ignores_misses_within_tolerance():
    tolerance = np.array([0.01, 0.02, 0.03])
    weight = np.array([1.0, steering.UNTARGETED_WEIGHT, steering.UNTARGETED_WEIGHT])
    asked = np.full((4, 3), 0.5)
    achieved = asked.copy()
    achieved[0, 0] = 0.7  # misses the targeted attribute by 0.2
    achieved[1, 1] = 0.3  # misses a held attribute by as much
    achieved[2, 2] = 0.52  # within tolerance
    achieved[3, 0] = 0.9
    asked[3, 0] = np.nan  # not scored at all
    got = steering.score(achieved, asked, tolerance, weight)
    np.testing.assert_allclose(got, [0.19, 0.25 * 0.18, 0.0, 0.0])
    ref = np.zeros((4, 24), dtype=np.int64)
    ref[:, ::6] = 10  # four quarter notes per bar
    tokens = ref.copy()
    tokens[0, 6] = 11  # one of four notes changes pitch: 1 of 4 input notes lost, 1 of 4 output notes new -> 2/8
    tokens[1, 3] = 1  # a rest cuts a held note short: no onset changes, so no note counts as changed
    got = steering.score(achieved, asked, tolerance, weight, tokens, ref)
    np.testing.assert_allclose(got, [0.19 + steering.KEEP_WEIGHT * 0.25, 0.25 * 0.18, 0.0, 0.0])


def test_candidates_keep_better_replaces_only_rows_that_score_strictly_lower():
    def cands(z, score):
        z = np.asarray(z, dtype=np.float64)[:, None]
        return Candidates(z, np.tile(z.astype(np.int64), 24), np.tile(z, 4), np.asarray(score, dtype=np.float64))

    best = cands([0, 1, 2, 3], [0.5, 0.5, 0.5, 0.5])
    other = cands([10, 11, 12], [0.4, 0.5, 0.9])  # for rows 3, 0, 1: better, equal, worse
    better = best.keep_better(np.array([3, 0, 1]), other)
    assert better.tolist() == [True, False, False]
    assert best.z[:, 0].tolist() == [0, 1, 2, 10]
    assert best.tokens[:, 0].tolist() == [0, 1, 2, 10] and best.attributes[3].tolist() == [10.0] * 4
    assert best.score.tolist() == [0.5, 0.5, 0.5, 0.4]
    assert len(best.take(np.array([1, 3]))) == 2


def _request(lm: LiveModel, asked: np.ndarray, targeted=(), ref=None) -> Request:
    return Request(asked, frozenset(targeted), ref, 0.0, None, Budget(DecodeCost(), None, time.perf_counter()))


def _decoded(lm: LiveModel, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and (B, A) attributes of z by the model's own eager decoder, the oracle for the closed loop's decodes."""
    with torch.inference_mode():
        tokens = lm.model.decode_free(torch.from_numpy(z.astype(np.float32)))[0].numpy()
    measured = lm.measure_attributes(tokens)
    return tokens, np.stack([measured[n] for n in lm.attribute_names], axis=1)


def _start(lm: LiveModel, measures: np.ndarray, req: Request) -> Candidates:
    """The input measures' posterior means (the open loop without targets keeps them), decoded and scored."""
    z = lm.regenerate(measures, {}, closed_loop=False).latents[0]
    tokens, att = _decoded(lm, z)
    return Candidates(z, tokens, att, lm.steering.score(att, tokens, req))


def _assert_consistent(lm: LiveModel, best: Candidates, req: Request) -> None:
    tokens, att = _decoded(lm, best.z)
    np.testing.assert_array_equal(best.tokens, tokens)
    np.testing.assert_allclose(best.attributes, att)
    np.testing.assert_allclose(best.score, lm.steering.score(att, tokens, req))


def test_first_guess_is_the_calibrated_move_without_a_predictor(lm, measures):
    """The fixture's calibration maps -3..3 linearly onto each attribute's range, so the paper's move for a
    normalised target t is z = 6 (t - 0.5); untargeted dims keep their value."""
    z = lm.regenerate(measures, {}, closed_loop=False).latents[0]
    asked = np.full((4, len(lm.attributes)), np.nan)
    nd = lm.attribute_names.index("note_density")
    asked[:, nd] = [0.1, 0.4, 0.5, 0.9]
    req = _request(lm, asked, {"note_density"})
    first = lm.steering.first_guess(z, req)
    dim = lm.spec("note_density").latent_dim
    np.testing.assert_allclose(first.z[:, dim], [-2.4, -0.6, 0.0, 2.4])
    np.testing.assert_array_equal(np.delete(first.z, dim, axis=1), np.delete(z, dim, axis=1))
    assert req.budget.decoded == 4
    _assert_consistent(lm, first, req)


def test_refine_never_makes_a_row_worse_and_leaves_rows_that_meet_their_targets(lm, measures):
    req0 = _request(lm, np.zeros((4, len(lm.attributes))))
    start = _start(lm, measures, req0)
    asked = start.attributes.copy()
    nd, pr = lm.attribute_names.index("note_density"), lm.attribute_names.index("pitch_range")
    asked[1, nd], asked[2, pr] = 0.9, 0.6  # rows 1 and 2 miss; rows 0 and 3 meet every target
    req = _request(lm, asked, {"note_density", "pitch_range"}, ref=measures)
    scores = lm.steering.score(start.attributes, start.tokens, req)
    best = Candidates(start.z.copy(), start.tokens.copy(), start.attributes.copy(), scores)
    before = best.score.copy()
    rounds = lm.steering.refine(best, req, max_rounds=3)
    assert 1 <= rounds <= 3
    assert np.all(best.score <= before)
    np.testing.assert_array_equal(best.z[[0, 3]], start.z[[0, 3]])
    # each round decodes the three step sizes of each row that still misses: at most 2 rows x 3 x rounds
    assert 3 <= req.budget.decoded <= 2 * 3 * rounds
    _assert_consistent(lm, best, req)
    met = _request(lm, start.attributes.copy())
    assert lm.steering.refine(_start(lm, measures, met), met) == 0 and met.budget.decoded == 0


def test_sweep_tries_the_offset_grid_along_the_missing_dim_only(lm, measures):
    c = lm.attribute_names.index("contour")
    asked = np.full((4, len(lm.attributes)), np.nan)  # contour alone is scored: it moves on the tiny model
    req = _request(lm, asked)
    start = _start(lm, measures, req)
    asked[:, c] = start.attributes[:, c]  # every row meets its target: nothing to sweep
    best = _start(lm, measures, req)
    assert lm.steering.sweep(best, req) == 0 and req.budget.decoded == 0
    # The oracle: every offset along contour's dim from row 1, decoded by the eager decoder. Row 1 is asked for
    # the contour of one of them, so the sweep must find a point that meets it.
    dim = lm.spec("contour").latent_dim
    grid = np.repeat(start.z[1:2], len(steering.SWEEP_OFFSETS), axis=0)
    grid[:, dim] += steering.SWEEP_OFFSETS
    _, att = _decoded(lm, grid)
    reachable = np.flatnonzero(att[:, c] != start.attributes[1, c])
    assert reachable.size > 0
    asked[1, c] = att[reachable[-1], c]
    req = _request(lm, asked, {"contour"})
    best = _start(lm, measures, req)
    assert best.score[1] > 0
    assert lm.steering.sweep(best, req) == len(steering.SWEEP_OFFSETS)  # one (row, dim) pair, the whole grid
    assert best.score[1] == 0.0
    first_hit = np.flatnonzero(np.abs(att[:, c] - asked[1, c]) <= TOLERANCE["contour"])[0]
    np.testing.assert_array_equal(best.z[1], grid[first_hit])  # the first candidate that meets it, on that dim only
    np.testing.assert_array_equal(best.z[[0, 2, 3]], start.z[[0, 2, 3]])  # other rows untouched
    _assert_consistent(lm, best, req)


def test_budget_cost_model_fits_a_fixed_and_a_per_row_part_and_follows_the_machine():
    cost = DecodeCost()
    cost.calibrate([(8, 2.0), (32, 5.0), (8, 2.0), (32, 5.0)])  # 1 ms + 0.125 ms per row
    assert (cost.fixed_ms, cost.per_row_ms) == pytest.approx((1.0, 0.125))
    assert cost.predict(56) == pytest.approx(8.0)
    t0 = time.perf_counter()
    assert Budget(cost, None, t0).fits(10_000)  # no limit: always
    budget = Budget(cost, 10.0, t0)
    assert budget.fits(8)
    assert budget.fits(56)  # 8 ms + the round's margin, plus the little time elapsed here
    assert not budget.fits(72)  # 10 ms
    assert not Budget(cost, 10.0, t0 - 0.009).fits(1)  # 9 ms already spent
    for _ in range(20):  # the machine got twice as slow
        budget.spend(8, 4.0)
    assert budget.decoded == 160
    assert cost.predict(8) == pytest.approx(4.0, rel=0.05)
    assert not Budget(cost, 10.0, time.perf_counter()).fits(56)


def test_warm_up_calibrates_the_cost_model(lm):
    cost = lm.steering.cost
    assert cost.per_row_ms > 0 and cost.fixed_ms >= 0
    assert 0.5 <= cost.scale <= 4.0


def test_encode_cache_encodes_each_new_measure_once_and_gives_what_a_fresh_encode_gives(lm, measures, monkeypatch):
    batches = []
    encode = lm._encoder  # the tiny checkpoint has no distilled encoder: the model's GRU encoder

    def counting(tokens):
        batches.append(tokens.shape[0])
        return encode(tokens)

    monkeypatch.setattr(lm, "_encoder", counting)
    lm._encode_cache.clear()
    loop = np.concatenate([measures[:2], measures[:2]])  # a loop: bars 3 and 4 repeat bars 1 and 2
    lm.regenerate(loop, {"contour": 0.9})
    assert batches == [2]  # each distinct bar once
    edited = measures.copy()
    edited[2, 0] = edited[2, 0] + 1  # a performer moves one note of bar 3
    lm.regenerate(edited, {"contour": 0.9})
    assert batches == [2, 2]  # bars 3 (edited) and 4 (not seen yet); bars 1 and 2 come from the cache
    lm.regenerate(edited, {"contour": 0.1})
    assert batches == [2, 2]  # a dial move on a cached clip encodes nothing
    mu, logvar, attrs = lm._encode(edited)
    with torch.inference_mode():
        want_mu, want_logvar = encode(torch.from_numpy(edited))
    torch.testing.assert_close(mu, want_mu, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logvar, want_logvar, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(attrs, steering.measure(lm.attributes, edited, lm.grid))


def test_encode_cache_survives_a_call_with_more_measures_than_it_holds(lm, measures, monkeypatch):
    from arvae_live import engine

    monkeypatch.setattr(engine, "ENCODE_CACHE_MEASURES", 2)
    mu, _, attrs = lm._encode(measures)  # 4 distinct measures through a cache of 2
    assert mu.shape == (4, lm.latent_dim) and attrs.shape == (4, len(lm.attributes))
    assert len(lm._encode_cache) == 2
