"""The options shared by subcommands (arvae_live/cli_base.py): one spelling, type and help text everywhere."""

import click
import pytest

from arvae_live.cli import COMMANDS as LIVE_COMMANDS
from arvae_live.cli import main as live_cli
from arvae_live.cli_base import DeviceType
from training.cli import COMMANDS as TRAIN_COMMANDS
from training.cli import main as train_cli


def _commands() -> dict[str, click.Command]:
    out = {}
    for prog, group, names in (("arvae-live", live_cli, LIVE_COMMANDS), ("arvae-train", train_cli, TRAIN_COMMANDS)):
        ctx = click.Context(group)
        out.update({f"{prog} {n}": group.get_command(ctx, n) for n in names})
    return out


def _option(cmd: click.Command, flag: str) -> click.Option | None:
    return next((p for p in cmd.params if isinstance(p, click.Option) and flag in p.opts), None)


def test_device_option_is_the_same_everywhere():
    found = {name: _option(cmd, "--device") for name, cmd in _commands().items()}
    found = {name: opt for name, opt in found.items() if opt is not None}
    live = {f"arvae-live {n}" for n in ("serve", "bench", "regenerate", "traverse")}
    assert set(found) == live | {f"arvae-train {n}" for n in ("train", "evaluate", "export")}
    for name, opt in found.items():
        assert opt.help.startswith("Torch device: auto (cuda when available), cpu"), name
        assert opt.show_default and opt.default in ("auto", "cpu"), name


def test_model_and_data_cache_options_share_their_help():
    cmds = _commands()
    models = [o for c in cmds.values() if (o := _option(c, "--model")) is not None]
    assert len(models) == 5  # serve, bench, attributes, regenerate, traverse
    assert all(o.help.startswith("Model id (a checkpoint's file stem in checkpoints/") for o in models)
    assert all(o.metavar == "ID|PATH" for o in models)
    caches = [o for c in cmds.values() if (o := _option(c, "--data-cache") or _option(c, "--cache-dir"))]
    assert len(caches) == 4  # prepare, train, evaluate, export
    assert all(o.help.startswith("Folder of prepared corpora") and str(o.default) == "data_cache" for o in caches)


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_indexed_device_type_accepts(value):
    assert DeviceType().convert(value, None, None) == value


@pytest.mark.parametrize("value", ["mps", "gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU"])
def test_indexed_device_type_refuses(value):
    with pytest.raises(click.BadParameter, match="auto, cpu, cuda or cuda:N"):
        DeviceType().convert(value, None, None)


def test_no_progress_flag_gives_progress_false():
    train_cmd = _commands()["arvae-train train"]
    assert train_cmd.make_context("train", ["--preset", "tiny"]).params["progress"] is True
    assert train_cmd.make_context("train", ["--preset", "tiny", "--no-progress"]).params["progress"] is False
