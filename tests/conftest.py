"""Shared fixtures: a tiny model and checkpoint made by the suite itself, and hand-written measures.

Measures are written as (pitch, onset_tick, dur_ticks) tuples on the 24-tick grid so that expected values can be
worked out by hand.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from arvae_live.client import DaemonClient
from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, get_attribute
from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.representation import Note, Vocabulary, notes_to_tokens, ticks_to_beats
from arvae_live.daemon import Daemon, ModelHost

# Keep the suite from fighting itself for the 2 cores.
torch.set_num_threads(1)


def save_untrained(path, grid: str = "simple", names=PAPER_ATTRIBUTES):
    """An untrained tiny model of one grid as an inference checkpoint (seeded weights; a linear calibration per
    attribute over its formula's range, attribute k on z[k]); returns the path."""
    vocab = Vocabulary()
    config = ModelConfig(
        vocab_size=vocab.size, embed_dim=4, hidden_dim=16, n_layers=2, latent_dim=6, dropout=0.0, grid=grid
    )
    torch.manual_seed(0)
    model = MeasureVAE(config).eval()
    specs = []
    for dim, name in enumerate(names):
        a = get_attribute(name)
        zs = tuple(np.linspace(-3, 3, 7))
        specs.append(AttributeSpec(name, dim, a.raw_low, a.raw_high, zs, tuple(np.linspace(a.raw_low, a.raw_high, 7))))
    ckpt = Checkpoint(
        kind="inference", model_config=config, attributes=specs, vocabulary=vocab, state_dict=model.state_dict(),
        metrics={}, provenance={"preset": f"test-{grid}"},
    )  # fmt: skip
    return save_checkpoint(ckpt, path)


def tick_notes(*spec: tuple[int, int, int], velocity: int = 100) -> list[Note]:
    """Notes from (pitch, onset_tick, dur_ticks) tuples, ticks counted from the clip start."""
    out = []
    for pitch, onset, dur in spec:
        start = float(ticks_to_beats(onset))
        out.append(Note(pitch, start, float(ticks_to_beats(onset + dur)) - start, velocity))
    return out


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary()


@pytest.fixture
def tiny_config(vocab: Vocabulary) -> ModelConfig:
    return ModelConfig(vocab_size=vocab.size, embed_dim=4, hidden_dim=16, n_layers=2, latent_dim=6, dropout=0.0)


@pytest.fixture
def tiny_model(tiny_config: ModelConfig) -> MeasureVAE:
    torch.manual_seed(0)
    return MeasureVAE(tiny_config).eval()


@pytest.fixture
def measures(vocab: Vocabulary) -> np.ndarray:
    """Four hand-written measures (4, 24): quarters, 8ths, triplets, and an empty bar."""
    notes = tick_notes(
        (60, 0, 6), (62, 6, 6), (64, 12, 6), (65, 18, 6),  # bar 1: four quarters
        (67, 24, 3), (65, 27, 3), (64, 30, 3), (62, 33, 3), (60, 36, 12),  # bar 2: 8ths then a half note
        (72, 48, 2), (71, 50, 2), (69, 52, 2), (67, 54, 18),  # bar 3: a triplet figure then a long note
    )  # fmt: skip
    tokens, _ = notes_to_tokens(notes, 4, vocab)  # bar 4 stays empty
    return tokens


@pytest.fixture
def tiny_ckpt(tmp_path, tiny_model: MeasureVAE, tiny_config: ModelConfig, vocab: Vocabulary):
    """An inference checkpoint of the untrained tiny model, attributes on z0..z3 with a linear calibration."""
    specs = []
    for dim, name in enumerate(PAPER_ATTRIBUTES):
        a = get_attribute(name)
        grid = np.linspace(-3, 3, 7)
        specs.append(
            AttributeSpec(name, dim, a.raw_low, a.raw_high, tuple(grid), tuple(np.linspace(a.raw_low, a.raw_high, 7)))
        )
    ckpt = Checkpoint(
        kind="inference",
        model_config=tiny_config,
        attributes=specs,
        vocabulary=vocab,
        state_dict=tiny_model.state_dict(),
        metrics={"val_recon_acc": 0.5},
        provenance={"preset": "test-fixture"},
    )
    return save_checkpoint(ckpt, tmp_path / "tiny.pt")


# ---- the daemon on the tiny model, over real loopback sockets (tests/test_daemon.py, tests/test_hostile_osc.py)


@pytest.fixture
def sink():
    """The daemon's default reply port: replies to clients without a registration land here (a test may read them)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


@pytest.fixture
def daemon(tiny_ckpt, sink, tmp_path, monkeypatch):
    # An empty model folder: the models bundled in checkpoints/ would otherwise be listed as loadable too.
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "no-models"))
    (tmp_path / "no-models").mkdir()
    host = ModelHost("cpu")
    host.add(str(tiny_ckpt))
    d = Daemon(host, port=0, reply_port=sink.getsockname()[1]).start()
    yield d
    d.stop()


@pytest.fixture
def client(daemon):
    with DaemonClient(daemon.port, timeout_sec=10) as c:
        yield c
