"""Shared by the training tests: tiny-size overrides for any preset, and the calibration used by export.

`calibrate` is the real `training.calibration.calibrate` once the metrics branch has landed; until then it is a
minimal stand-in written here (and installed as that module for in-process CLI runs). It is used only by tests.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import types

import numpy as np
import pytest
import torch

from arvae_live.core.attributes import compute_attributes

# Tiny sizes and synthetic data for any preset: a run of 2 steps takes well under a second.
TINY = [
    "dataset=synthetic",
    "model.embed_dim=4",
    "model.hidden_dim=16",
    "model.latent_dim=8",
    "synthetic_n_train=32",
    "synthetic_n_val=8",
    "batch_size=8",
    "log_interval=1",
]


def _standin_calibrate(model, tokens, specs, device):
    """Stand-in for training.calibration.calibrate until the metrics branch lands: mean attribute of the decoded
    measure at 9 values of the regularised dim, made non-decreasing."""
    out = []
    with torch.no_grad():
        mu, _ = model.encode(torch.from_numpy(tokens).to(device))
        for spec in specs:
            if spec.latent_dim is None:
                out.append(spec)
                continue
            grid = np.linspace(-3.0, 3.0, 9)
            raw = []
            for value in grid:
                z = mu.clone()
                z[:, spec.latent_dim] = value
                decoded, _ = model.decode_free(z)
                raw.append(float(compute_attributes(decoded.cpu().numpy(), [spec.name])[spec.name].mean()))
            raw = np.maximum.accumulate(raw)
            out.append(dataclasses.replace(spec, calibration_z=tuple(grid), calibration_raw=tuple(raw)))
    return out


def training_calibrate(monkeypatch: pytest.MonkeyPatch):
    """The real calibrate when training.calibration exists, else the stand-in (also installed as the module)."""
    try:
        return importlib.import_module("training.calibration").calibrate
    except ImportError:
        module = types.ModuleType("training.calibration")
        module.calibrate = _standin_calibrate
        monkeypatch.setitem(sys.modules, "training.calibration", module)
        return _standin_calibrate
