"""The options shared by subcommands (arvae_live/cli_base.py): one spelling, type and help text everywhere; argument
errors before torch is imported; examples in --help; bench without a daemon in one line."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from arvae_live.bench import BenchSettings, own_daemon
from arvae_live.cli import COMMANDS as LIVE_COMMANDS
from arvae_live.cli import main as live_cli
from arvae_live.cli_base import ArvaeGroup, DeviceType, group_options
from arvae_live.errors import DaemonUnreachableError
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
    assert set(found) == live | {f"arvae-train {n}" for n in ("train", "evaluate", "export", "distill")}
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
    assert len(caches) == 5  # prepare, train, evaluate, export, distill
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


def test_every_command_with_progress_bars_takes_no_progress():
    # Every command that builds, trains, evaluates or fits over many measures shows progress bars, and each can hide
    # them the same way (CI logs, scripts).
    cmds = _commands()
    for name in ("arvae-train prepare", "arvae-train train", "arvae-train evaluate", "arvae-train export",
                 "arvae-train distill", "arvae-live bench"):  # fmt: skip
        opt = _option(cmds[name], "--no-progress")
        assert opt is not None and opt.help == "Hide progress bars.", name


REPO = Path(__file__).resolve().parents[1]

# Argument errors of the arvae-live commands of this module's concern; each must be refused before torch loads.
ARGUMENT_ERRORS = [
    ["inspect", "no-such-model"],
    ["inspect", "missing/file.pt"],
    ["bench", "--open-loop"],
    ["bench", "--model", "no-such-model"],
    ["bench", "--requests", "0"],
    ["bench", "--out", "no-such-folder/bench.json"],
    ["serve", "--midi-in", "Bus 1"],
    ["serve", "--tempo", "96"],
    ["serve", "--midi-optional"],
    ["serve", "--midi-in", "a", "--midi-out", "b", "--midi-cc", "note_density"],
    ["serve", "--midi-in", "a", "--midi-out", "b", "--midi-cc", "reset=200"],
    ["serve", "--meter", "3/4"],  # an option of MIDI-port mode without the ports
    ["serve", "--midi-in", "a", "--midi-out", "b", "--meter", "9/8"],  # no grid serves it
    ["serve", "--midi-in", "a", "--midi-out", "b", "--meter", "three"],
    ["serve", "--device", "gpu"],
    ["ports", "--jsn"],
]


def test_argument_errors_come_back_before_torch_is_imported():
    # One interpreter runs every case and reports, per case, its exit code and whether torch got imported; a case
    # that imports torch is named (torch stays imported, so later cases would not tell).
    script = f"""
import json, sys
from arvae_live.cli import main
out = []
for args in {ARGUMENT_ERRORS!r}:
    try:
        main(args, prog_name="arvae-live")
    except SystemExit as exc:
        out.append((args, exc.code, "torch" in sys.modules))
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    results = json.loads(proc.stdout.splitlines()[-1])
    assert [args for args, _, _ in results] == ARGUMENT_ERRORS, proc.stderr
    for args, code, torch_loaded in results:
        assert code in (1, 2) and not torch_loaded, (args, code, torch_loaded)
    errors = [x for x in proc.stderr.splitlines() if x.startswith("Error: ")]
    assert len(errors) == len(ARGUMENT_ERRORS) and not any("Traceback" in x for x in proc.stderr.splitlines())


@pytest.mark.parametrize("name", ["inspect", "bench", "ports", "serve"])
def test_help_shows_examples(name):
    result = CliRunner().invoke(live_cli, [name, "--help"])
    assert result.exit_code == 0
    examples = result.output.split("Examples:")[1]
    assert f"arvae-live {name}" in examples


def test_serve_meter_option_says_what_it_takes_and_refuses_an_unserved_meter_in_one_line():
    help_text = " ".join(CliRunner().invoke(live_cli, ["serve", "--help"]).output.split())
    assert "--meter NUM/DEN Meter the calls are played in: 4/4, 2/2, 2/4, 3/4, 6/8 or 12/8." in help_text
    assert "[default: 4/4]" in help_text and "--meter 3/4" in help_text.split("Examples:")[1]
    result = CliRunner().invoke(live_cli, ["serve", "--midi-in", "a", "--midi-out", "b", "--meter", "5/4"])
    assert result.exit_code == 2
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error")]
    assert "meter '5/4' is not served; arvae-live reads simple: 4/4, 2/2" in line


def test_bench_without_a_daemon_on_its_port_says_so_in_one_line(tiny_ckpt):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, so nothing else answers; it never does
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = CliRunner().invoke(live_cli, ["bench", "--model", str(tiny_ckpt), "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: no arvae-live daemon answers on 127.0.0.1:{port} (no reply to /arvae/hello within 2 s); start one "
        "with `arvae-live serve`, or leave out --port and bench starts its own"
    ]


def test_a_daemon_bench_starts_that_fails_is_one_line_with_its_reason(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DaemonUnreachableError, match=r"did not come up .*: Error: .*bad\.pt: not a readable") as err:
        with own_daemon(BenchSettings(model=bad), timeout_sec=120):
            pytest.fail("must not get here")
    assert "\n" not in str(err.value)


def test_an_os_error_is_one_line_and_its_traceback_only_with_verbose():
    @click.group(cls=ArvaeGroup)
    @group_options
    def group(log_level, verbose):
        pass

    @group.command()
    def write():
        raise PermissionError(13, "Permission denied", "/read-only/out.json")

    result = CliRunner().invoke(group, ["write"])
    assert result.exit_code == 1 and result.output == "Error: /read-only/out.json: Permission denied\n"
    result = CliRunner().invoke(group, ["--verbose", "write"])
    assert isinstance(result.exception, PermissionError)
