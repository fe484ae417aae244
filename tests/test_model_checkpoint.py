"""MeasureVAE shapes and decoding, and the checkpoint format: round trip, atomicity, and refusals (in the library
and, in one line each, through `arvae-live inspect` and `serve`)."""

import enum
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from arvae_live.cli import main as cli_main
from arvae_live.core.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    load_checkpoint,
    read_header,
    save_checkpoint,
)
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.errors import CheckpointError, ConfigError
from arvae_live.model_store import ENV_VAR

REPO = Path(__file__).resolve().parents[1]


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
        load_checkpoint(_save_raw(wrong, tmp_path / "wrong.pt"))


class _Foreign:  # pickled by torch.save as a class reference, which weights-only loading refuses
    pass


def _edit(change):
    """A bad-file maker: the tiny checkpoint's payload, changed in place by change(payload), saved with torch.save."""

    def make(tiny_ckpt: Path, path: Path) -> Path:
        payload = torch.load(tiny_ckpt, weights_only=True)
        change(payload)
        torch.save(payload, path)
        return path

    return make


def _bytes(data):
    def make(tiny_ckpt: Path, path: Path) -> Path:
        path.write_bytes(data(tiny_ckpt.read_bytes()) if callable(data) else data)
        return path

    return make


def _attr_dim(k: int, dim):
    return _edit(lambda p: p["attributes"][k].update(latent_dim=dim))


def _config(**sizes):
    return _edit(lambda p: p["model_config"].update(sizes))


def _poison(name: str, value: float):
    return _edit(lambda p: p["state_dict"][name].view(-1).__setitem__(0, value))


# Every way a checkpoint can be bad that issue 12 found (and the file-level ones), with what the one line must say.
BAD_FILES = {
    "dim-999": (_attr_dim(0, 999), "attribute rhythmic_complexity: latent_dim 999 is outside 0..5"),
    "dim-negative": (_attr_dim(2, -5), "attribute note_density: latent_dim -5 is outside 0..5"),
    "dim-twice": (_attr_dim(1, 0), "attributes rhythmic_complexity and pitch_range both use latent dim 0"),
    "dim-not-int": (_attr_dim(0, 1.5), "attribute rhythmic_complexity: latent_dim 1.5 is not a whole number"),
    # 10^7 hidden units would be ~10^15 weights: refused by its size, before anything is allocated
    "oversized": (_config(hidden_dim=10_000_000), "model_config.hidden_dim is 10000000, above the 8192"),
    "too-many-layers": (_config(n_layers=100_000), "model_config.n_layers is 100000, above the 16"),
    "vocab-mismatch": (_config(vocab_size=40), "vocab_size is 40 but the vocabulary has 32 tokens"),
    "shape-mismatch": (_config(hidden_dim=8), r"\d+ tensors have the wrong shape, first: \S+ \[\d+, \d+\] expected \["),
    "nan-weight": (_poison("out_proj.weight", float("nan")), "1 NaN or infinite weight in 1 tensor, first: out_proj"),
    "inf-weight": (_poison("enc_embed.weight", float("inf")), "1 NaN or infinite weight in 1 tensor, first: enc_embed"),
    "missing-tensor": (_edit(lambda p: p["state_dict"].pop("out_proj.bias")), "1 tensor missing, first: out_proj.bias"),
    "nan-calibration": (
        _edit(lambda p: p["attributes"][0]["calibration_raw"].__setitem__(3, float("nan"))),
        "attribute rhythmic_complexity: its range or calibration table holds a value that is not finite",
    ),
    "foreign-object": (
        lambda tiny, path: (torch.save({"format": "arvae", "x": _Foreign()}, path), path)[1],
        "holds a Python object of type .*_Foreign, not only tensors",
    ),
    "empty": (_bytes(b""), "the file is empty"),
    "garbage": (_bytes(b"this is not a checkpoint"), "not a PyTorch checkpoint at all"),
    "truncated": (_bytes(lambda data: data[: len(data) // 2]), "truncated or corrupted"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_checkpoint_is_refused_in_one_line_by_load_inspect_and_serve(tmp_path, tiny_ckpt, case):
    make, match = BAD_FILES[case]
    path = make(tiny_ckpt, tmp_path / f"{case}.pt")
    with pytest.raises(CheckpointError, match=match) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
    assert "weights_only" not in str(err.value)  # torch's advice to load untrusted files unsafely is not passed on
    for args in (["inspect", str(path)], ["serve", "--model", str(path), "--port", "0"]):
        result = CliRunner().invoke(cli_main, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.splitlines() == [f"Error: {err.value}"], args


def test_refusals_print_one_line_on_a_real_terminal(tmp_path, tiny_ckpt):
    # A subprocess, so that nothing torch prints or warns on the real stderr (a pickle-protocol UserWarning before
    # the refusal, for one) escapes the check.
    import pickle

    plain = tmp_path / "plain-pickle.pt"
    plain.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    nan = BAD_FILES["nan-weight"][0](tiny_ckpt, tmp_path / "nan.pt")
    for path, why in ((plain, "a Python pickle that is not a PyTorch checkpoint"), (nan, "NaN or infinite")):
        for args in (["inspect", str(path)], ["serve", "--model", str(path), "--port", "0"]):
            proc = subprocess.run(
                [sys.executable, "-m", "arvae_live", *args], cwd=REPO, capture_output=True, text=True, timeout=120
            )
            assert proc.returncode == 1 and proc.stdout == "", (args, proc.stdout)
            (line,) = proc.stderr.splitlines()
            assert line.startswith(f"Error: {path}: ") and why in line, line


def test_a_checkpoint_that_passes_loads_builds_and_shows(tiny_ckpt):
    ckpt = load_checkpoint(tiny_ckpt)
    ckpt.build_model()
    result = CliRunner().invoke(cli_main, ["inspect", str(tiny_ckpt)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{tiny_ckpt}: arvae v1, inference checkpoint, loads in serve")
    assert "note_density" in result.output and "z[2]" in result.output


def test_inspect_takes_model_ids_like_every_other_command(tmp_path, tiny_ckpt, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(tiny_ckpt, folder / "alpha.pt")
    monkeypatch.setenv(ENV_VAR, str(folder))
    result = CliRunner().invoke(cli_main, ["inspect", "alpha"])
    assert result.exit_code == 0 and result.output.startswith(f"{folder / 'alpha.pt'}: arvae v1"), result.output
    result = CliRunner().invoke(cli_main, ["inspect"])  # no id: the default model, as for --model elsewhere
    assert result.exit_code == 0 and result.output.startswith(f"{folder / 'alpha.pt'}: "), result.output
    result = CliRunner().invoke(cli_main, ["inspect", "beta"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: unknown model 'beta' in {folder}; available: alpha"]


def test_a_folder_or_a_fifo_is_refused_without_reading(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.pt"
        os.mkfifo(fifo)
        with pytest.raises(CheckpointError, match="pipe.pt: not a regular file"):
            load_checkpoint(fifo)  # reading it would block forever


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
    ckpt = Checkpoint("inference", tiny_config, [], vocab, tiny_model.state_dict(), metrics={}, provenance={"v": value})
    with pytest.raises(CheckpointError, match=f"provenance.v.* is a {type_name}; .*plain JSON"):
        save_checkpoint(ckpt, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_save_keeps_exact_json_types(tmp_path, tiny_model, tiny_config, vocab):
    provenance = {"flag": True, "off": False, "n": 3, "x": 0.25, "s": "a", "none": None, "l": [1, [2.5, "b"]]}
    ckpt = Checkpoint("inference", tiny_config, [], vocab, tiny_model.state_dict(), metrics={}, provenance=provenance)
    loaded = load_checkpoint(save_checkpoint(ckpt, tmp_path / "x.pt"))  # weights_only=True inside
    assert loaded.provenance == provenance
    assert type(loaded.provenance["flag"]) is bool and type(loaded.provenance["n"]) is int
