"""Configs, presets, the loop (save, resume, determinism), export and the `arvae-train` commands, on tiny models."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from _training_helpers import TINY
from click.testing import CliRunner

from arvae_live.core.attributes import AttributeSpec, compute_attributes
from arvae_live.core.checkpoint import load_checkpoint
from arvae_live.core.representation import HOLD, REST, TICKS_PER_MEASURE, Vocabulary
from arvae_live.errors import CheckpointError, ConfigError
from training.cli import main as train_cli
from training.configs import PRESETS, TrainConfig, apply_overrides
from training.export import export_checkpoint
from training.synthetic import random_measures
from training.train import CHECKPOINT_NAME, EXPORT_NAME, _transposer, lr_at, resolve_config, run, run_dir_for

ROOT = Path(__file__).resolve().parents[1]

# ---- configs ------------------------------------------------------------------------------------------------------


def test_paper_presets_hold_the_paper_hyperparameters():
    cfg = PRESETS["bach-arvae"]
    assert (cfg.dataset, cfg.objective, cfg.beta, cfg.gamma, cfg.delta) == ("bach", "arvae", 0.001, 1.0, 10.0)
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.teacher_forcing) == (1e-4, 256, 30, 0.5)
    assert (cfg.model.embed_dim, cfg.model.hidden_dim, cfg.model.n_layers, cfg.model.latent_dim) == (10, 128, 2, 32)
    assert cfg.model.dropout == 0.5
    assert dict(zip(cfg.attributes, cfg.latent_dims)) == {
        "rhythmic_complexity": 0, "pitch_range": 1, "note_density": 2, "contour": 3,
    }  # fmt: skip
    assert PRESETS["folk-arvae"].dataset == "folk"
    assert PRESETS["bach-betavae"].latent_dims == (None, None, None, None)
    assert PRESETS["bach-glsr"].regularized == [("rhythmic_complexity", 0), ("note_density", 2)]
    cs = PRESETS["bach-csvae"].csvae
    assert (cs.recon_weight, cs.kl_w_weight, cs.kl_z_weight, cs.negentropy_weight, cs.adversary_weight) == (
        20.0, 1.0, 0.2, 10.0, 1.0,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_json_round_trip(name):
    cfg = PRESETS[name]
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.config_hash() == cfg.config_hash()


def test_overrides_apply_typed_values():
    cfg = apply_overrides(
        PRESETS["tiny"],
        [
            "model.hidden_dim=24",
            "lr=1",
            "dataset=folk",
            "data_limit=3",
            "latent_dims=(None, 1, 2, 3)",
            "csvae.prior_means=(0, 2.5)",
        ],
    )
    assert cfg.model.hidden_dim == 24 and cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.dataset == "folk" and cfg.data_limit == 3
    assert cfg.latent_dims == (None, 1, 2, 3) and cfg.csvae.prior_means == (0.0, 2.5)
    assert cfg.config_hash() != PRESETS["tiny"].config_hash()


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("learning_rate=0.1", "unknown config key 'learning_rate'"),
        ("model.hidden=3", "unknown config key 'model.hidden'"),
        ("lr.x=3", "lr has no sub-keys"),
        ("model=3", "set the fields of model one by one"),
        ("epochs=1.5", "epochs must be of type int"),
        ("model.hidden_dim=1.0", "model.hidden_dim must be of type int"),
        ("lr=fast", "lr must be of type float"),
        ("amp=1", "amp must be of type bool"),
        ("latent_dims=(0,)", "one dim .or None. per attribute"),
        ("objective=vqvae", "objective must be one of"),
        ("latent_dims=(0, 0, 2, 3)", "distinct dims"),
        ("teacher_forcing=1.5", "teacher_forcing must be in range"),
        ("lr_schedule=step", "lr_schedule must be one of"),
        ("min_lr=1.0", "min_lr must be in range 0..lr"),
        ("grad_clip=-1.0", "grad_clip must be >= 0"),
        ("no_equals_sign", "must look like key=value"),
    ],
)
def test_overrides_refused(override, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(PRESETS["tiny"], [override])


def test_lr_schedules():
    const = apply_overrides(PRESETS["tiny"], ["lr=1e-3"])
    assert [lr_at(s, const, 100) for s in (0, 50, 99, 500)] == [1e-3] * 4
    cos = apply_overrides(PRESETS["tiny"], ["lr=1e-3", "lr_schedule=cosine", "min_lr=1e-5"])
    assert lr_at(0, cos, 101) == pytest.approx(1e-3)
    assert lr_at(50, cos, 101) == pytest.approx((1e-3 + 1e-5) / 2)  # half way down the half cosine
    assert lr_at(100, cos, 101) == pytest.approx(1e-5)
    assert lr_at(1000, cos, 101) == pytest.approx(1e-5)  # past the end (a run trained longer) stays at min_lr
    values = [lr_at(s, cos, 101) for s in range(101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_cosine_schedule_and_clipping_train_and_log_the_lr(tmp_path, caplog):
    caplog.set_level("INFO", logger="training.train")
    over = [*TINY, "lr_schedule=cosine", "min_lr=1e-4", "grad_clip=0.5", "log_interval=1"]
    run_dir = run("tiny", over, out=tmp_path, max_steps=3, progress=False)
    assert load_checkpoint(run_dir / CHECKPOINT_NAME).provenance["step"] == 3
    lrs = [float(r.getMessage().split("| lr ")[1].split(" |")[0]) for r in caplog.records if "| lr " in r.getMessage()]
    assert len(lrs) == 3 and lrs[0] == pytest.approx(3e-3) and lrs[2] < lrs[0]


def test_glsr_refuses_attributes_without_a_differentiable_expectation():
    with pytest.raises(ConfigError, match="glsr can regularise only"):
        apply_overrides(PRESETS["tiny"], ["objective=glsr"])  # pitch_range and contour are regularised in tiny


def test_run_dir_is_named_by_the_config_hash(tmp_path):
    cfg = resolve_config("tiny", TINY)
    d = run_dir_for("tiny", cfg, tmp_path)
    assert d.parent == tmp_path and d.name.startswith("tiny_") and len(d.name) == len("tiny_") + 10
    assert d.name[5:] == cfg.config_hash()[:10]


def test_synthetic_measures_are_seeded_and_well_formed():
    a, b = random_measures(50, seed=3), random_measures(50, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, random_measures(50, seed=4))
    assert a.shape == (50, TICKS_PER_MEASURE) and a.dtype == np.int64
    assert (a[:, 0] != HOLD).all() and a.min() >= 0 and a.max() < Vocabulary().size
    # a rest never follows a rest with only holds between (it would be the same rest)
    for row in a:
        events = row[row != HOLD]
        assert not ((events[1:] == REST) & (events[:-1] == REST)).any()


# ---- every preset: build, train 2 steps, save, reload, export, decode -------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_trains_saves_exports_and_decodes(name, tmp_path):
    run_dir = run(name, TINY, out=tmp_path, max_steps=2, progress=False)
    assert json.loads((run_dir / "config.json").read_text())["train_config"] == resolve_config(name, TINY).to_dict()
    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME)
    assert ckpt.kind == "training" and ckpt.provenance["step"] == 2 and ckpt.provenance["preset"] == name
    assert ckpt.provenance["train_config"] == resolve_config(name, TINY).to_dict()
    assert "optimizer" in ckpt.training and "val_recon_acc" in ckpt.metrics

    # 2 steps make a degenerate model, which export writes only when allowed to, and flags.
    summary = export_checkpoint(run_dir, tmp_path / "model.pt", device="cpu", allow_degenerate=True, progress=False)
    exported = load_checkpoint(tmp_path / "model.pt")
    assert exported.kind == "inference" and exported.training is None
    assert exported.provenance.get("degenerate") == summary.degenerate
    assert exported.provenance["config_hash"] == ckpt.provenance["config_hash"]
    grid = resolve_config(name, TINY).model.measure_grid  # triple-arvae, compound-arvae: their own grid
    train_tokens = random_measures(32, 0, grid=grid)  # the tiny synthetic train split (data seed 0)
    if resolve_config(name, TINY).augment_transpose:  # ranges over transposed measures: they do move
        train_tokens = transposed = _transposer(resolve_config(name, TINY))(train_tokens, -1)
        assert not np.array_equal(transposed, random_measures(32, 0, grid=grid))
    for spec in exported.attributes:
        values = compute_attributes(train_tokens, [spec.name], grid)[spec.name]
        assert (spec.low, spec.high) == pytest.approx((values.min(), values.max()))
        assert bool(spec.calibration_z) == (spec.latent_dim is not None)
    steerable = any(spec.latent_dim is not None for spec in exported.attributes)
    predictor = exported.build_predictor()
    assert (predictor is not None) == steerable  # a beta-VAE has nothing for the closed loop to steer
    if steerable:
        assert predictor.config.attributes == tuple(a.name for a in exported.attributes)
        assert set(summary.predictor_mae) == set(predictor.config.attributes)
    model = exported.build_model()
    with torch.inference_mode():
        tokens, _ = model.decode_free(torch.zeros(3, model.config.latent_dim))
    assert tokens.shape == (3, grid.ticks) and len(summary.check_output) == grid.ticks
    assert exported.model_config.grid == grid.name


# ---- resume and determinism --------------------------------------------------------------------------------------

# 64 measures / batch 16 = 4 steps per epoch, 2 epochs; dropout on, so the saved RNG state matters.
RESUME = [*TINY, "synthetic_n_train=64", "batch_size=16", "epochs=2", "model.dropout=0.3"]


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / CHECKPOINT_NAME).state_dict


def test_validation_note_acc_is_the_evaluate_metric(measures, vocab):
    from arvae_live.core.model import MeasureVAE
    from training.metrics import validation_metrics
    from training.train import attribute_matrix

    cfg = resolve_config("tiny", TINY)
    torch.manual_seed(0)
    model = MeasureVAE(cfg.model).eval()
    with torch.no_grad():  # a decoder that starts pitch 60 on every tick, whatever z is
        model.out_proj.bias[vocab.tokens.index("60")] = 1e4
    dims = list(zip(cfg.attributes, cfg.latent_dims))
    out = validation_metrics(model, measures, attribute_matrix(measures, cfg.attributes), dims)
    # The 4 measures hold 13 onsets, 2 of them pitch 60 (bar 1 tick 0, bar 2 tick 12), and a rest (bar 4). Every
    # tick of the prediction is an onset, so all 96 ticks count for note_acc and 2 are right; the old recall over
    # non-HOLD target ticks (onsets and the rest) would give 2/14.
    assert out["val_recon_acc"] == pytest.approx(2 / 96)
    assert out["val_note_acc"] == pytest.approx(2 / 96)


def test_resume_after_interrupt_gives_the_uninterrupted_result(tmp_path):
    full = run("tiny", RESUME, out=tmp_path / "full", progress=False)
    assert load_checkpoint(full / CHECKPOINT_NAME).provenance["step"] == 8

    def interrupt_at_3(step, terms):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("tiny", RESUME, out=tmp_path / "cut", progress=False, on_step=interrupt_at_3)
    cut = run_dir_for("tiny", resolve_config("tiny", RESUME), tmp_path / "cut")
    saved = load_checkpoint(cut / CHECKPOINT_NAME)
    assert (saved.provenance["step"], saved.training["step_in_epoch"]) == (3, 3)
    # stopped again across the epoch boundary, then resumed to the end
    run("tiny", RESUME, out=tmp_path / "cut", progress=False, max_steps=6)
    assert load_checkpoint(cut / CHECKPOINT_NAME).provenance["step"] == 6
    steps_seen = []
    run("tiny", RESUME, out=tmp_path / "cut", progress=False, on_step=lambda s, t: steps_seen.append(s))
    assert steps_seen == [7, 8]
    a, b = _weights(full), _weights(cut)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    a = run("tiny", TINY, out=tmp_path / "a", max_steps=3, progress=False)
    b = run("tiny", TINY, out=tmp_path / "b", max_steps=3, progress=False)
    c = run("tiny", [*TINY, "seed=1"], out=tmp_path / "c", max_steps=3, progress=False)
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    a = run("tiny", TINY, out=tmp_path, max_steps=1, progress=False)
    other = resolve_config("tiny", [*TINY, "seed=5"])
    target = run_dir_for("tiny", other, tmp_path)
    target.mkdir()
    (target / CHECKPOINT_NAME).write_bytes((a / CHECKPOINT_NAME).read_bytes())
    with pytest.raises(CheckpointError, match="not made by this config"):
        run("tiny", [*TINY, "seed=5"], out=tmp_path, max_steps=2, progress=False)


# ---- export and the command line ---------------------------------------------------------------------------------


def test_export_refuses_to_overwrite_its_source_and_inference_inputs(tmp_path, tiny_ckpt):
    run_dir = run("tiny", TINY, out=tmp_path, max_steps=1, progress=False)
    before = (run_dir / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(CheckpointError, match="refusing to overwrite"):
        export_checkpoint(run_dir, run_dir / CHECKPOINT_NAME, progress=False)
    assert (run_dir / CHECKPOINT_NAME).read_bytes() == before
    with pytest.raises(CheckpointError, match="export reads training checkpoints"):
        export_checkpoint(tiny_ckpt, tmp_path / "out.pt", progress=False)
    with pytest.raises(CheckpointError, match="holds no last.pt"):
        export_checkpoint(tmp_path, tmp_path / "out.pt", progress=False)


def test_cli_smoke_trains_exports_and_checks(tmp_path):
    result = CliRunner().invoke(
        train_cli, ["train", "--preset", "tiny", "--smoke", "--out", str(tmp_path), "--device", "cpu", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    run_dir = run_dir_for("tiny", PRESETS["tiny"], tmp_path)
    assert load_checkpoint(run_dir / CHECKPOINT_NAME).provenance["step"] == 2
    exported = load_checkpoint(run_dir / EXPORT_NAME)
    assert exported.kind == "inference"
    assert [a.name for a in exported.attributes] == list(PRESETS["tiny"].attributes)
    assert f"wrote {run_dir / EXPORT_NAME}" in result.output and "self-check" in result.output
    # 2 steps make a degenerate model: the smoke run exports it anyway (it checks the pipeline), flagged loudly.
    assert exported.provenance["degenerate"] and "DEGENERATE MODEL" in result.output


def test_export_refuses_a_degenerate_model_unless_allowed(tmp_path):
    run_dir = run("tiny", TINY, out=tmp_path, max_steps=2, progress=False)
    out = tmp_path / "model.pt"
    out.write_bytes(b"an earlier export")
    args = ["export", str(run_dir), "-o", str(out), "--device", "cpu", "--no-progress"]
    result = CliRunner().invoke(train_cli, args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "looks degenerate" in lines[0] and "--allow-degenerate" in lines[0], result.output
    assert out.read_bytes() == b"an earlier export"  # nothing written, the old file kept
    assert not list(tmp_path.glob(".*.tmp"))

    result = CliRunner().invoke(train_cli, [*args, "--allow-degenerate"])
    assert result.exit_code == 0, result.output
    exported = load_checkpoint(out)
    assert isinstance(exported.attributes[0], AttributeSpec)
    reason = exported.provenance["degenerate"]
    assert reason in lines[0] and f"DEGENERATE MODEL: {reason}" in result.output
    from arvae_live.cli import main as live_cli

    shown = CliRunner().invoke(live_cli, ["inspect", str(out)])
    assert shown.exit_code == 0
    assert f"WARNING: degenerate model (exported with --allow-degenerate): {reason}" in shown.output


def test_degenerate_reason_judges_the_notes_not_the_holds(vocab):
    from training.export import degenerate_reason, self_check_measure

    check = self_check_measure(vocab)[0]  # C4 D4 E4 F4 onsets at ticks 0, 6, 9, 12, a rest at 18
    assert degenerate_reason(check, check) is None
    no_rest = check.copy()
    no_rest[18] = HOLD  # the rest held over: the notes are all right
    assert degenerate_reason(check, no_rest) is None
    silent = np.full(24, HOLD)
    silent[0] = REST  # 19 of 24 tokens right, no note
    assert (silent == check).sum() == 19 and "silence" in degenerate_reason(check, silent)
    two_wrong = check.copy()
    two_wrong[[6, 9]] = vocab.pitch_to_token(70)  # 2 of 4 notes right: note accuracy 0.5
    assert "note accuracy is 0.50, below 0.75" in degenerate_reason(check, two_wrong)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "tiny", "--set", "lr=fast"], "Error: lr must be of type float, got 'fast'"),
        (["--preset", "nope"], "Error: unknown preset 'nope'"),
        (["--preset", "tiny", "--set", "batch_size=1000"], "fewer than batch_size 1000"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_1(tmp_path, args, message):
    result = CliRunner().invoke(train_cli, ["train", *args, "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_saves_a_whole_step_and_the_run_resumes_from_it(tmp_path):
    overrides = [*TINY, "synthetic_n_train=64", "batch_size=16", "epochs=100000"]  # runs until interrupted
    cmd = [sys.executable, "-m", "training", "train", "--preset", "tiny", "--device", "cpu", "--no-progress"]
    cmd += ["--out", str(tmp_path)] + [arg for item in overrides for arg in ("--set", item)]
    run_dir = run_dir_for("tiny", resolve_config("tiny", overrides), tmp_path)
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / CHECKPOINT_NAME).exists():  # the first epoch's checkpoint: training is under way
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted; state saved in" in err
    saved = load_checkpoint(run_dir / CHECKPOINT_NAME)
    step = saved.provenance["step"]
    # Stopped after a whole step: 1..4 steps into its epoch of 4. A stop on an epoch's last step saves
    # step_in_epoch 4 (not 0 of the next epoch), so that the resumed run still validates that epoch.
    assert step >= 4 and saved.training["step_in_epoch"] == (step - 1) % 4 + 1
    steps_seen = []
    run("tiny", overrides, out=tmp_path, progress=False, max_steps=step + 2, on_step=lambda s, t: steps_seen.append(s))
    assert steps_seen == [step + 1, step + 2]


@pytest.mark.slow
def test_log_lines_do_not_land_inside_the_progress_bars(tmp_path):
    """train --smoke with bars on: every log line of the training loop and the export starts a line of its own."""
    cmd = [sys.executable, "-m", "training", "--log-level", "info", "train", "--preset", "tiny", "--smoke"]
    cmd += ["--device", "cpu", "--out", str(tmp_path), "--set", "log_interval=1"]
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "epoch 1/" in proc.stderr and "calibrate" in proc.stderr  # the bars were drawn
    # A bar redraws its line after a carriage return; a log line written inside it would follow the bar's text.
    segments = [seg for line in proc.stderr.split("\n") for seg in line.split("\r")]
    logged = [seg for seg in segments if " INFO training." in seg or " WARNING training." in seg]
    assert any("step 2: loss" in seg for seg in logged) and any("DEGENERATE MODEL" in seg for seg in logged)
    assert all(re.match(r"\d{4}-\d\d-\d\d ", seg) for seg in logged), [seg[:80] for seg in logged]


@pytest.mark.slow
def test_ctrl_c_in_prepare_says_what_was_done_in_one_line(tmp_path):
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "training", "prepare", "--dataset", "bach", "--cache-dir", str(cache)]
    cmd += ["--workers", "1"]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            deadline = time.monotonic() + 120
            while "parsing bach" not in err_path.read_text():  # the build is under way (350 chorales take a minute)
                assert proc.poll() is None and time.monotonic() < deadline, err_path.read_text()[-2000:]
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        finally:
            proc.kill()
    lines = err_path.read_text().replace("\r", "\n").strip().splitlines()
    assert proc.returncode == 130, lines[-5:]
    assert lines[-1].startswith("interrupted after") and "run the same command again" in lines[-1]
    assert "Traceback" not in err_path.read_text() and "Aborted!" not in err_path.read_text()
    assert not cache.exists() or not list(cache.glob("*.npz"))


def test_warm_start_continues_from_another_runs_weights(tmp_path):
    """--init-from: a new config (here another lr) starts from a run's weights and Adam state, not a fresh init."""
    from arvae_live.core.checkpoint import load_checkpoint
    from training.train import CHECKPOINT_NAME, run

    src_dir = run("tiny", ["synthetic_n_train=64", "synthetic_n_val=32"], out=tmp_path, device="cpu", max_steps=10,
                  progress=False)  # fmt: skip
    src = load_checkpoint(src_dir / CHECKPOINT_NAME)
    lr = 1e-4
    overrides = ["synthetic_n_train=64", "synthetic_n_val=32", f"lr={lr}"]
    warm_dir = run("tiny", overrides, out=tmp_path / "warm", device="cpu", max_steps=1, progress=False,
                   init_from=src_dir / CHECKPOINT_NAME)  # fmt: skip
    cold_dir = run("tiny", overrides, out=tmp_path / "cold", device="cpu", max_steps=1, progress=False)
    warm, cold = (load_checkpoint(d / CHECKPOINT_NAME) for d in (warm_dir, cold_dir))
    # One Adam step moves each weight by about lr at most; the same seed's fresh init lacks the 10 trained steps.
    warm_gap = max(float((warm.state_dict[k] - v).abs().max()) for k, v in src.state_dict.items())
    cold_gap = max(float((cold.state_dict[k] - v).abs().max()) for k, v in src.state_dict.items())
    assert warm_gap <= 3 * lr
    assert cold_gap > 10 * warm_gap
    assert warm.provenance["init_from"] == str(src_dir / CHECKPOINT_NAME)


def test_warm_start_refuses_another_model_size(tmp_path):
    from arvae_live.errors import CheckpointError
    from training.train import CHECKPOINT_NAME, run

    src_dir = run("tiny", ["synthetic_n_train=64", "synthetic_n_val=32"], out=tmp_path, device="cpu", max_steps=1,
                  progress=False)  # fmt: skip
    with pytest.raises(CheckpointError, match="model config"):
        run("tiny", ["synthetic_n_train=64", "synthetic_n_val=32", "model.hidden_dim=12"], out=tmp_path / "b",
            device="cpu", max_steps=1, progress=False, init_from=src_dir / CHECKPOINT_NAME)  # fmt: skip


def test_warm_start_may_change_what_changes_no_shape(tmp_path):
    base = ["synthetic_n_train=64", "synthetic_n_val=32"]
    src_dir = run("tiny", base, out=tmp_path, device="cpu", max_steps=1, progress=False)
    dst = run("tiny", [*base, "model.relu_logits=False", "model.dropout=0.2"], out=tmp_path / "b", device="cpu",
              max_steps=1, progress=False, init_from=src_dir / CHECKPOINT_NAME)  # fmt: skip
    assert load_checkpoint(dst / CHECKPOINT_NAME).model_config.relu_logits is False
