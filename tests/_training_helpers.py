"""Shared by the training tests: tiny-size overrides for any preset."""

from __future__ import annotations

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
