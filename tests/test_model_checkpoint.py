"""MeasureVAE shapes and decoding, and the checkpoint format: round trip, atomicity, and refusals."""

import enum
import json

import numpy as np
import pytest
import torch

from arvae_live.core.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    load_checkpoint,
    read_header,
    save_checkpoint,
)
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.errors import CheckpointError, ConfigError


def test_paper_size_parameter_count():
    # shared/reference section 2.3: 149*V + 1,092,427 for the reference (log-sigma head is the same size)
    model = MeasureVAE(ModelConfig(vocab_size=77))
    assert sum(p.numel() for p in model.parameters()) == 149 * 77 + 1_092_427


def test_shapes_and_decoding(tiny_model, measures):
    tokens = torch.as_tensor(measures)
    logits, mu, logvar, z = tiny_model(tokens, teacher_forcing=True)
    assert logits.shape == (4, 24, tiny_model.config.vocab_size)
    assert mu.shape == logvar.shape == z.shape == (4, 6)
    out, free_logits = tiny_model.decode_free(mu)
    assert out.shape == (4, 24) and out.dtype == torch.long
    assert torch.equal(out, free_logits.argmax(-1))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    s1, _ = tiny_model.decode_free(mu, temperature=1.0, generator=g1)
    s2, _ = tiny_model.decode_free(mu, temperature=1.0, generator=g2)
    assert torch.equal(s1, s2)  # same seed, same variation


def test_teacher_forced_matches_free_running_on_its_own_output(tiny_model):
    # Feeding the decoder its own argmax as "ground truth" must give the free-running logits: the two code paths
    # (one batched GRU call vs 24 single steps) implement the same recurrence.
    z = torch.randn(5, 6)
    with torch.no_grad():
        tokens, free = tiny_model.decode_free(z)
        forced = tiny_model.decode_teacher_forced(z, tokens)
    torch.testing.assert_close(forced, free, rtol=1e-4, atol=1e-5)


def test_config_refuses_bad_values():
    with pytest.raises(ConfigError, match="hidden_dim"):
        ModelConfig(hidden_dim=0)
    with pytest.raises(ConfigError, match="dropout"):
        ModelConfig(dropout=1.5)


def test_checkpoint_round_trip(tiny_ckpt, tiny_model, measures):
    ckpt = load_checkpoint(tiny_ckpt)
    model = ckpt.build_model()
    tokens = torch.as_tensor(measures)
    with torch.no_grad():
        torch.testing.assert_close(model.encode(tokens)[0], tiny_model.encode(tokens)[0])
    assert [a.name for a in ckpt.attributes] == ["rhythmic_complexity", "pitch_range", "note_density", "contour"]
    header = read_header(tiny_ckpt)
    assert header["format_version"] == FORMAT_VERSION and header["kind"] == "inference"
    json.dumps(header)  # plain JSON all the way down
    assert not list(tiny_ckpt.parent.glob("*.tmp"))


def _save_raw(payload, path):
    torch.save(payload, path)
    return path


def test_refusals(tmp_path, tiny_ckpt):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        load_checkpoint(garbage)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(tiny_ckpt.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        load_checkpoint(truncated)
    with pytest.raises(CheckpointError, match="not an arvae checkpoint"):
        load_checkpoint(_save_raw({"weights": torch.zeros(2)}, tmp_path / "foreign.pt"))
    payload = torch.load(tiny_ckpt, weights_only=True)
    with pytest.raises(CheckpointError, match="format_version 99 is newer"):
        load_checkpoint(_save_raw({**payload, "format_version": 99}, tmp_path / "future.pt"))
    bad_cfg = {**payload, "model_config": {**payload["model_config"], "n_heads": 4}}
    with pytest.raises(CheckpointError, match="malformed"):
        load_checkpoint(_save_raw(bad_cfg, tmp_path / "badcfg.pt"))
    wrong = {**payload, "model_config": {**payload["model_config"], "hidden_dim": 8}}
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(_save_raw(wrong, tmp_path / "wrong.pt")).build_model()


def test_save_refuses_non_json_header(tmp_path, tiny_model, tiny_config, vocab):
    import numpy as np

    ckpt = Checkpoint(
        "inference", tiny_config, [], vocab, tiny_model.state_dict(), metrics={}, provenance={"seed": np.int64(3)}
    )
    with pytest.raises(CheckpointError, match="plain JSON"):
        save_checkpoint(ckpt, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


class _VersionStr(str):  # what torch.__version__ is (TorchVersion): json.dumps takes it, weights_only does not
    pass


@pytest.mark.parametrize(
    "value, type_name",
    [
        (_VersionStr("2.13.0"), "_VersionStr"),
        (np.float64(0.5), "float64"),  # a float subclass
        (enum.IntEnum("Steps", "ONE")(1), "Steps"),  # an int subclass
        ([1, {"deep": _VersionStr("x")}], "_VersionStr"),
    ],
)
def test_save_refuses_subclasses_of_json_types(tmp_path, tiny_model, tiny_config, vocab, value, type_name):
    ckpt = Checkpoint(
        "inference", tiny_config, [], vocab, tiny_model.state_dict(), metrics={}, provenance={"v": value}
    )
    with pytest.raises(CheckpointError, match=f"provenance.v.* is a {type_name}; .*plain JSON"):
        save_checkpoint(ckpt, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_save_keeps_exact_json_types(tmp_path, tiny_model, tiny_config, vocab):
    provenance = {"flag": True, "off": False, "n": 3, "x": 0.25, "s": "a", "none": None, "l": [1, [2.5, "b"]]}
    ckpt = Checkpoint("inference", tiny_config, [], vocab, tiny_model.state_dict(), metrics={}, provenance=provenance)
    loaded = load_checkpoint(save_checkpoint(ckpt, tmp_path / "x.pt"))  # weights_only=True inside
    assert loaded.provenance == provenance
    assert type(loaded.provenance["flag"]) is bool and type(loaded.provenance["n"]) is int
