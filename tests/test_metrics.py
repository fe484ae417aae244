"""Evaluation metrics, calibration tables, traversal plots and `arvae-train evaluate`.

Expected values come from constructed cases whose answer is known without the code under test: a latent dim that *is*
the attribute, orthogonal vectors with a squared correlation of exactly 1/2, a hand-computed MI matrix, hand-written
token pairs.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import tick_notes

from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, get_attribute
from arvae_live.core.batched import encode_batched
from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import HOLD, REST, Vocabulary, notes_to_tokens
from training import metrics as M
from training.calibration import attribute_curve, calibrate, monotone_table
from training.cli import main as train_cli
from training.plots import traversal_figure, traversal_tokens

N = 300  # points in the constructed latent sets: enough for the kNN MI estimate, milliseconds to score


@pytest.fixture
def attrs() -> np.ndarray:
    """Two independent attributes, uniform on 0..1, (N, 2)."""
    return np.random.default_rng(1).uniform(0.0, 1.0, (N, 2))


@pytest.fixture
def random_tokens(vocab: Vocabulary) -> np.ndarray:
    """Sixty random monophonic measures with 1..8 quarter/8th/16th notes each, made through notes_to_tokens."""
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(60):
        onsets = np.sort(rng.choice(np.arange(0, 24, 3), size=int(rng.integers(1, 9)), replace=False))
        ends = np.append(onsets[1:], 24)
        notes = tick_notes(*[(int(rng.integers(55, 85)), int(o), int(e - o)) for o, e in zip(onsets, ends)])
        rows.append(notes_to_tokens(notes, 1, vocab)[0][0])
    return np.stack(rows)


# ---- disentanglement metrics on constructed latents ------------------------------------------------------------


def test_dim_equal_to_attribute_scores_perfectly(attrs):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(N, 5))
    z[:, 2] = attrs[:, 0]  # dim 2 *is* attribute 0
    z[:, 4] = 3.0 * attrs[:, 1] - 1.0  # dim 4 is an affine copy of attribute 1
    res = M.interpretability(z, attrs)
    assert res.details["dim"].tolist() == [2, 4]
    assert res.details["r2"] == pytest.approx([1.0, 1.0], abs=1e-9)
    assert res.score == pytest.approx(1.0, abs=1e-9)
    scc = M.scc(z, attrs)
    assert scc.score == pytest.approx(1.0) and scc.details["dim"].tolist() == [2, 4]
    sap = M.sap(z, attrs)
    assert sap.score > 0.95 and sap.details["dim"].tolist() == [2, 4]
    assert M.mig(z, attrs).score > 0.9


def test_random_latents_score_low(attrs):
    z = np.random.default_rng(0).normal(size=(N, 5))
    assert M.interpretability(z, attrs).score < 0.05
    assert M.mig(z, attrs).score < 0.05
    assert M.sap(z, attrs).score < 0.05
    assert M.scc(z, attrs).score < 0.2  # a chance-significant |rho| at N=300 is about 0.12


def test_sap_is_the_gap_of_squared_correlations_exactly():
    # x and e are zero-mean, orthogonal and of equal norm, so r(x, x+e)^2 = 1/2 and r(x, w)^2 = 0 exactly.
    x = np.tile([1.0, 1.0, -1.0, -1.0], 25)
    e = np.tile([1.0, -1.0, 1.0, -1.0], 25)
    w = np.tile([1.0, -1.0, -1.0, 1.0], 25)
    z = np.stack([x + e, w, 2.0 * x], axis=1)
    res = M.sap(z, x[:, None])
    assert res.details["matrix"][:, 0] == pytest.approx([0.5, 0.0, 1.0], abs=1e-12)
    assert res.score == pytest.approx(1.0 - 0.5, abs=1e-12)
    assert res.details["dim"].tolist() == [2]


def test_scc_is_rank_based_where_interpretability_is_linear(attrs):
    z = np.random.default_rng(0).normal(size=(N, 4))
    z[:, 1] = np.exp(5.0 * attrs[:, 0])  # monotone but far from linear
    assert M.scc(z, attrs[:, :1]).score == pytest.approx(1.0)
    assert M.spearman(z[:, 1], attrs[:, 0]) == pytest.approx(1.0)
    assert M.spearman(-z[:, 1], attrs[:, 0]) == pytest.approx(-1.0)
    assert M.interpretability(z, attrs[:, :1]).score < 0.9


def test_mig_is_zero_when_two_dims_share_an_attribute(attrs):
    rng = np.random.default_rng(0)
    alone = np.c_[attrs[:, 0], rng.normal(size=(N, 4))]
    shared = np.c_[attrs[:, 0], attrs[:, 0], rng.normal(size=(N, 3))]  # top1 == top2: no gap
    assert M.mig(alone, attrs[:, :1]).score > 0.9
    assert M.mig(shared, attrs[:, :1]).score == pytest.approx(0.0, abs=1e-6)


def test_modularity_from_a_hand_computed_mi_matrix(attrs):
    mi = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 1.0]])
    # rows: 1 - 0/1 = 1; 1 - (2-1)/1 = 0; max 0 -> 0; 1 - (5-4)/4 = 0.75
    res = M.modularity(np.zeros((N, 4)), attrs, mi=mi)
    assert res.details["per_latent"] == pytest.approx([1.0, 0.0, 0.0, 0.75])
    assert res.score == pytest.approx(1.75 / 4)


def test_modularity_separates_exclusive_from_mixed_dims(attrs):
    exclusive = attrs.copy()  # z0 = a0, z1 = a1
    mixed = np.stack([attrs[:, 0] + attrs[:, 1], attrs[:, 0] - attrs[:, 1]], axis=1)  # each dim holds both equally
    assert M.modularity(exclusive, attrs).score > 0.99
    assert M.modularity(mixed, attrs).score < 0.35


def test_constant_attribute_gives_zero_not_nan():
    z = np.random.default_rng(0).normal(size=(40, 3))
    flat = np.zeros((40, 1))
    for f in (M.sap, M.scc, M.mig):
        assert f(z, flat).score == 0.0


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same N"):
        M.sap(np.zeros((10, 3)), np.zeros((9, 2)))


# ---- accuracies on hand-written tokens ------------------------------------------------------------------------


def _measure(onsets: dict[int, int], rests: tuple[int, ...] = ()) -> np.ndarray:
    """One measure (24,) of HOLD with pitch onsets {tick: MIDI pitch} and REST at the given ticks."""
    row = np.full(24, HOLD, dtype=np.int64)
    for t, p in onsets.items():
        row[t] = Vocabulary().pitch_to_token(p)
    row[list(rests)] = REST
    return row


def test_note_and_token_accuracy_on_hand_written_measures():
    target = _measure({0: 60, 6: 62, 12: 64, 18: 65})  # C D E F quarters
    # tick 3: extra C; tick 6: D# instead of D; tick 12: missed (hold); tick 20: a rest where the target holds
    pred = _measure({0: 60, 3: 60, 6: 63, 18: 65}, rests=(20,))
    # counted ticks: onsets of either = {0, 3, 6, 12, 18}; equal at 0 and 18 -> 2/5. Tick 20 is not counted.
    assert M.note_accuracy(pred[None], target[None]) == pytest.approx(2 / 5)
    # token accuracy: ticks 3, 6, 12, 20 differ -> 20/24
    assert M.token_accuracy(pred[None], target[None]) == pytest.approx(20 / 24)
    # pooled over measures: a perfect second measure with 2 onsets adds 2 correct of 2 counted
    second = _measure({0: 70, 12: 72})
    both_pred, both_target = np.stack([pred, second]), np.stack([target, second])
    assert M.note_accuracy(both_pred, both_target) == pytest.approx(4 / 7)


def test_note_accuracy_ignores_holds_and_rests():
    silent = _measure({}, rests=(0,))
    assert M.note_accuracy(_measure({}, rests=(5,))[None], silent[None]) == 1.0  # no onset anywhere
    assert M.token_accuracy(_measure({}, rests=(5,))[None], silent[None]) == pytest.approx(22 / 24)


# ---- model_metrics on the tiny model -----------------------------------------------------------------------------


def _specs(latent_dims=(0, 1, 2, 3)) -> list[AttributeSpec]:
    return [
        AttributeSpec(n, d, get_attribute(n).raw_low, get_attribute(n).raw_high)
        for n, d in zip(PAPER_ATTRIBUTES, latent_dims)
    ]


def test_model_metrics_keys_ranges_and_eval_mode(tiny_config, random_tokens):
    torch.manual_seed(0)
    model = MeasureVAE(replace(tiny_config, dropout=0.5)).train()  # model_metrics must switch dropout off
    specs = _specs((0, 1, 2, None))
    first = M.model_metrics(model, random_tokens, specs, batch_size=16, seed=3, progress=False)
    model.train()
    second = M.model_metrics(model, random_tokens, specs, batch_size=16, seed=3, progress=False)
    assert first == second  # same seed and dropout off: identical
    for key in ("interpretability", "mig", "sap", "scc", "modularity", "recon_acc", "note_acc", "recon_ce"):
        assert np.isfinite(first[key])
    for key in ("recon_acc", "note_acc", "recon_acc_mean", "note_acc_mean", "interpretability", "sap", "scc",
                "modularity"):  # fmt: skip
        assert 0.0 <= first[key] <= 1.0
    # From the mean: the same as decoding mu by hand.
    with torch.inference_mode():
        mu, _ = model.encode(torch.from_numpy(random_tokens))
        by_hand = (model.decode_free(mu)[0].numpy() == random_tokens).mean()
    assert first["recon_acc_mean"] == pytest.approx(by_hand)
    assert {f"spearman.{n}" for n in PAPER_ATTRIBUTES[:3]} <= first.keys()
    assert "spearman.contour" not in first  # contour has no latent dim here
    assert all(f"interpretability.{n}" in first for n in PAPER_ATTRIBUTES)
    assert first["n_measures"] == len(random_tokens)
    assert first["interpretability"] == pytest.approx(
        np.mean([first[f"interpretability.{n}"] for n in PAPER_ATTRIBUTES])
    )
    other_seed = M.model_metrics(model, random_tokens, specs, batch_size=32, seed=4, progress=False)
    assert other_seed["scc"] != first["scc"] or other_seed["mig"] != first["mig"]  # z is sampled, not mu


# ---- calibration ------------------------------------------------------------------------------------------------


def test_monotone_table_by_hand():
    z, raw, dec = monotone_table(np.array([-1.0, 0.0, 1.0, 2.0]), np.array([0.0, 0.2, 0.1, 0.5]))
    # the dip 0.2, 0.1 pools to 0.15 over z 0..1 -> one point at z 0.5
    assert (z.tolist(), raw.tolist(), dec) == ([-1.0, 0.5, 2.0], pytest.approx([0.0, 0.15, 0.5]), False)
    z, raw, dec = monotone_table(np.array([-1.0, 0.0, 1.0, 2.0]), np.array([0.5, 0.3, 0.3, 0.0]))
    assert (z.tolist(), raw.tolist(), dec) == ([2.0, 0.5, -1.0], [0.0, 0.3, 0.5], True)
    z, raw, dec = monotone_table(np.linspace(-4, 4, 9), np.full(9, 0.25))
    assert (z.tolist(), raw.tolist(), dec) == ([0.0], [0.25], False)


def test_calibrate_tiny_model_gives_increasing_tables(tiny_model, random_tokens, measures):
    tokens = np.concatenate([measures, random_tokens])
    specs = _specs((0, 1, 2, None))
    out = calibrate(tiny_model, tokens, specs, n_points=9, z_range=(-4.0, 4.0), n_measures=32, progress=False)
    assert [s.name for s in out] == list(PAPER_ATTRIBUTES)
    assert out[3] == specs[3]  # no latent dim: unchanged
    for spec in out[:3]:
        raw, z = np.array(spec.calibration_raw), np.array(spec.calibration_z)
        assert 1 <= len(raw) <= 9 and len(raw) == len(z)
        assert np.all(np.diff(raw) > 0)
        assert np.all((-4.0 <= z) & (z <= 4.0))
        assert AttributeSpec.from_dict(spec.to_dict()) == spec
        mid = float(spec.latent_for((raw[0] + raw[-1]) / 2))
        assert -4.0 <= mid <= 4.0


def test_attribute_curve_agrees_with_traversal_decoding(tiny_model, random_tokens):
    grid = np.linspace(-3.0, 3.0, 5)
    x = torch.from_numpy(random_tokens[:10])
    with torch.inference_mode():
        mu, _ = tiny_model.encode(x)
    curve = attribute_curve(tiny_model, mu, 1, "pitch_range", grid, batch_size=7)
    decoded = traversal_tokens(tiny_model, random_tokens[:10], 1, grid)  # (10, 5, 24), a separate decoding path
    expected = get_attribute("pitch_range").fn(decoded.reshape(-1, 24)).reshape(10, 5).mean(axis=0)
    assert curve == pytest.approx(expected)


# ---- traversal plot ---------------------------------------------------------------------------------------------


def test_traversal_png_is_written(tiny_model, measures, tmp_path):
    path = traversal_figure(tiny_model, measures, _specs()[3], tmp_path / "plots" / "contour.png", steps=5)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 600
    assert not list(path.parent.glob(".*.tmp"))


def test_piano_roll_draws_every_note_of_multi_measure_segments(measures, vocab):
    from matplotlib.figure import Figure

    from arvae_live.piano_roll import GAP_BEATS, draw_roll, note_name

    ax = Figure().subplots()
    # A one-measure segment (4 quarters) and a three-measure one (5 + 4 notes and an empty bar).
    centres = draw_roll(ax, [measures[0], measures[1:]], ["grey", "blue"], vocab)
    assert centres == [2.0, 4 + GAP_BEATS + 6.0]
    (notes,) = ax.collections[:1]
    assert len(notes.get_paths()) == 4 + 5 + 4
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["A#3", "B3", "C4"]  # pitches 58..74, all named
    assert (note_name(60), note_name(61), note_name(21)) == ("C4", "C#4", "A0")


def test_traversal_needs_a_latent_dim(tiny_model, measures, tmp_path):
    with pytest.raises(ValueError, match="no regularised latent dim"):
        traversal_figure(tiny_model, measures, _specs((0, 1, 2, None))[3], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ---- the CLI ----------------------------------------------------------------------------------------------------


def test_evaluate_cli_json_end_to_end(tiny_ckpt, random_tokens, tmp_path):
    npy = tmp_path / "held_out.npy"
    np.save(npy, random_tokens)
    before = npy.read_bytes()
    result = CliRunner().invoke(
        train_cli,
        ["evaluate", str(tiny_ckpt), "--dataset", str(npy), "--json", "--no-progress", "--device", "cpu",
         "--plot-dir", str(tmp_path / "plots"), "--max-measures", "40"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["split"] == "file" and out["dataset"] == str(npy)
    assert out["metrics"]["n_measures"] == 40
    assert {"interpretability", "mig", "sap", "scc", "modularity", "recon_acc", "note_acc"} <= out["metrics"].keys()
    assert sorted(p.rsplit("/", 1)[1] for p in out["plots"]) == sorted(f"traversal_{n}.png" for n in PAPER_ATTRIBUTES)
    assert npy.read_bytes() == before  # input untouched


def test_evaluate_embed_writes_the_figures_that_inspect_then_shows(tiny_ckpt, random_tokens, tmp_path):
    from arvae_live.cli import main as live_cli
    from arvae_live.core.checkpoint import load_checkpoint

    ckpt = tmp_path / "shipped.pt"
    ckpt.write_bytes(tiny_ckpt.read_bytes())
    npy = tmp_path / "held_out.npy"
    np.save(npy, random_tokens[:24])
    args = ["evaluate", str(ckpt), "--dataset", str(npy), "--json", "--no-progress", "--device", "cpu"]
    plain = json.loads(CliRunner().invoke(train_cli, args).stdout)
    result = CliRunner().invoke(train_cli, [*args, "--embed"])
    assert result.exit_code == 0, result.output
    loaded = load_checkpoint(ckpt)
    assert loaded.metrics["eval.recon_acc"] == pytest.approx(plain["metrics"]["recon_acc"])  # same seed, same figures
    assert loaded.metrics["eval.interpretability"] == pytest.approx(plain["metrics"]["interpretability"])
    assert (
        loaded.provenance["evaluation"]["split"] == "file"
        and "--embed" not in loaded.provenance["evaluation"]["command"]
    )
    assert {k for k in loaded.metrics if not k.startswith("eval.")} == set(load_checkpoint(tiny_ckpt).metrics)
    shown = CliRunner().invoke(live_cli, ["inspect", str(ckpt)])
    assert shown.exit_code == 0, shown.output
    assert "evaluation (file split" in shown.stdout and f"{plain['metrics']['recon_acc']:.4f}" in shown.stdout
    assert "evaluation: none embedded" in CliRunner().invoke(live_cli, ["inspect", str(tiny_ckpt)]).stdout


def test_evaluate_cli_table(tiny_ckpt, random_tokens, tmp_path):
    npy = tmp_path / "held_out.npy"
    np.save(npy, random_tokens[:20])
    result = CliRunner().invoke(train_cli, ["evaluate", str(tiny_ckpt), "--dataset", str(npy), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "interpretability" in result.stdout and "note_density" in result.stdout


def test_evaluate_cli_errors_are_one_line(tiny_ckpt, tmp_path):
    runner = CliRunner()
    result = runner.invoke(train_cli, ["evaluate", str(tiny_ckpt), "--no-progress"])
    assert result.exit_code == 1 and "--dataset" in result.output  # the fixture records no training dataset
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((5, 16), dtype=np.int64))
    result = runner.invoke(train_cli, ["evaluate", str(tiny_ckpt), "--dataset", str(bad)])
    assert result.exit_code == 1 and "shape (N, 24)" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(train_cli, ["evaluate", str(tiny_ckpt), "--dataset", "nosuchcorpus"])
    assert result.exit_code == 1 and "unknown dataset" in result.output


def test_evaluate_cli_synthetic_from_provenance(tmp_path, tiny_model, tiny_config, vocab):
    pytest.importorskip("training.synthetic", reason="training/synthetic.py comes with the trainer branch")
    ckpt = Checkpoint(
        kind="inference",
        model_config=tiny_config,
        attributes=_specs(),
        vocabulary=vocab,
        state_dict=tiny_model.state_dict(),
        provenance={"train_config": {"dataset": "synthetic", "synthetic_n_val": 48}},
    )
    path = save_checkpoint(ckpt, tmp_path / "syn.pt")
    result = CliRunner().invoke(train_cli, ["evaluate", str(path), "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["dataset"], out["split"], out["metrics"]["n_measures"]) == ("synthetic", "test", 48)


def test_novel_accuracy_and_modularity_over_z_draws(tiny_config, random_tokens):
    torch.manual_seed(0)
    model = MeasureVAE(tiny_config).eval()
    specs = _specs()
    novel = np.arange(len(random_tokens)) % 3 == 0
    out = M.model_metrics(model, random_tokens, specs, batch_size=16, seed=3, progress=False,
                          extras=M.MetricExtras(novel, z_draws=3))  # fmt: skip
    plain = M.model_metrics(model, random_tokens, specs, batch_size=16, seed=3, progress=False)
    assert out["n_novel"] == novel.sum()
    # the accuracy on the novel rows alone, from the same sampled-z decode as recon_acc (seed 3), by hand
    enc = encode_batched(model, random_tokens, seed=3, batch_size=16)
    with torch.inference_mode():
        pred = model.decode_free(torch.from_numpy(enc.z))[0].numpy()
    assert out["recon_acc_novel"] == pytest.approx((pred[novel] == random_tokens[novel]).mean())
    # the first draw is the plain modularity; the others are new samples of z
    attrs = np.stack([get_attribute(n).fn(random_tokens) for n in PAPER_ATTRIBUTES], axis=1)
    draws = [plain["modularity"]]
    for s in (4, 5):
        z = encode_batched(model, random_tokens, seed=s, batch_size=16).z.astype(np.float64)
        draws.append(M.modularity(z, attrs, seed=s).score)
    assert out["modularity_mean"] == pytest.approx(np.mean(draws))
    assert out["modularity_sd"] == pytest.approx(np.std(draws, ddof=1))
    assert "modularity_mean" not in plain and "n_novel" not in plain
