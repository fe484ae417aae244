"""Data-parallel training under torchrun: 2 CPU processes over gloo train, rank 0 alone writes, and the exported
checkpoint loads in the daemon's model class."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _training_helpers import TINY

from arvae_live.core.checkpoint import load_checkpoint
from training.export import export_checkpoint
from training.train import CHECKPOINT_NAME, resolve_config, run_dir_for

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_torchrun_two_cpu_processes_train_and_export(tmp_path):
    overrides = [*TINY, "synthetic_n_train=64", "batch_size=16", "epochs=1"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "training"]
    cmd += ["train", "--preset", "tiny", "--device", "cpu", "--out", str(tmp_path), "--no-progress"]
    for item in overrides:
        cmd += ["--set", item]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("trained:") == 1  # only rank 0 reports (and writes)

    run_dir = run_dir_for("tiny", resolve_config("tiny", overrides), tmp_path)
    assert sorted(p.name for p in run_dir.iterdir()) == sorted([CHECKPOINT_NAME, "config.json"])
    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME)
    # 64 measures, global batch 16 split 8 + 8 over the 2 processes: 4 steps in the epoch
    assert (ckpt.provenance["world_size"], ckpt.provenance["step"], ckpt.provenance["epoch"]) == (2, 4, 1)

    export_checkpoint(run_dir, tmp_path / "ddp.pt", device="cpu", allow_degenerate=True, progress=False)
    model = load_checkpoint(tmp_path / "ddp.pt").build_model()  # the daemon's path: no DDP "module." prefix
    with torch.inference_mode():
        tokens, _ = model.decode_free(torch.zeros(2, model.config.latent_dim))
    assert tokens.shape == (2, 24)
