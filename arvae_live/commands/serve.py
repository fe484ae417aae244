"""`arvae-live serve`: the OSC inference daemon for the Max for Live device (docs/protocol.md)."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import time

import click

from arvae_live.cli_base import budget_option, device_option, encoder_option, model_option, threads_option
from arvae_live.protocol import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REPLY_PORT

log = logging.getLogger(__name__)


# ---- MIDI-port mode options (docs/midi-ports.md) -------------------------------------------------------------------

MIDI_PORT_KEYS = ("midi_in", "midi_out", "midi_virtual", "midi_optional")  # the rest go to midi_mode.build_machine


def _cc_override(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Check each --midi-cc's form before any model loads; its name is checked against the model's later."""
    for item in value:
        name, sep, number = (part.strip() for part in item.partition("="))
        if not (sep and name) or not (number.lower() == "off" or (number.isdigit() and int(number) <= 119)):
            raise click.BadParameter(f"{item!r} must look like NAME=NUMBER (0..119) or NAME=off", ctx, param)
    return value


def _meter(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Check --meter's form and that a grid serves it before any model loads (whether a loaded model serves that grid
    is known only once they are loaded: serve_cmd checks it before the daemon starts)."""
    from arvae_live.call_response import parse_meter  # mido and numpy, no torch
    from arvae_live.errors import ConfigError

    try:
        parse_meter(value)
    except ConfigError as err:
        raise click.BadParameter(str(err), ctx, param) from None
    return value.strip()


def midi_options(f):
    """The options of MIDI-port mode; the command receives them as keyword arguments."""
    options = [
        click.option(
            "--midi-in", metavar="NAME", help="MIDI input to record calls from (a unique part of the name will do; "
            "`arvae-live ports` lists them). Turns MIDI-port mode on, with --midi-out."
        ),
        click.option("--midi-out", metavar="NAME", help="MIDI output to play responses on."),
        click.option(
            "--midi-virtual", is_flag=True, help="Create virtual ports named --midi-in/--midi-out instead of opening "
            "existing ones (macOS, Linux)."
        ),
        click.option(
            "--midi-optional", is_flag=True, help="When the MIDI ports cannot be opened, say so and serve OSC only "
            "(without it, serve exits with code 1 and says why)."
        ),
        click.option(
            "--tempo", type=click.FloatRange(20, 400), default=None, metavar="BPM",
            help="Follow this fixed tempo, a call's first note being its downbeat, instead of incoming MIDI clock.  "
            "[default: follow MIDI clock]",
        ),
        click.option(
            "--midi-cc", multiple=True, metavar="NAME=CC", callback=_cc_override,
            help="Map a control to a CC number 0..119 or 'off'; repeatable. Defaults: rhythmic_complexity=21 "
            "pitch_range=22 note_density=23 contour=24 temperature=25 regenerate=26 reset=27.",
        ),
        click.option(
            "--midi-channel", type=click.IntRange(1, 16), default=None,
            help="Read notes and CCs on this channel only.  [default: any]",
        ),
        click.option(
            "--midi-out-channel", type=click.IntRange(1, 16), default=1, show_default=True,
            help="Channel the response is played on.",
        ),
        click.option(
            "--max-bars", type=click.IntRange(1, 64), default=8, show_default=True,
            help="Longest call, in bars; a call reaching it ends on that bar line.",
        ),
        click.option(
            "--end-silence", type=click.FloatRange(0.25, 64), default=2.0, show_default=True, metavar="BEATS",
            help="Beats with no key held that end a call.",
        ),
        click.option(
            "--meter", default="4/4", show_default=True, metavar="NUM/DEN", callback=_meter,
            help="Meter the calls are played in: 4/4, 2/2, 2/4, 3/4, 6/8 or 12/8. Bar lines and --max-bars follow it "
            "(6/8 and 2/4 count pairs of bars), and MIDI-port mode answers with the model serving it (the grid's "
            "current one); a meter no loaded model serves is refused before anything starts.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def check_midi_options(ctx: click.Context, midi: dict) -> bool:
    """True when MIDI-port mode is asked for; a UsageError when only one of --midi-in/--midi-out is given, or another
    MIDI option without them (it would be ignored)."""
    if (midi["midi_in"] is None) != (midi["midi_out"] is None):
        raise click.UsageError("--midi-in and --midi-out go together")
    if midi["midi_in"] is None:
        given = [k for k in midi if ctx.get_parameter_source(k) is click.core.ParameterSource.COMMANDLINE]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise click.UsageError(f"{flag} is an option of MIDI-port mode: give --midi-in and --midi-out too")
    return midi["midi_in"] is not None


# ---- the command ---------------------------------------------------------------------------------------------------

SERVE_EXAMPLES = """\b
Examples:
  arvae-live serve                                   # every model in checkpoints/, OSC on 127.0.0.1:9127
  arvae-live serve --model folk-arvae --budget-ms 4
  arvae-live serve --model folk-arvae --model waltz.pt      # 4/4 from one, 3/4 from the other (grid in the file)
  arvae-live serve --midi-in "Bus 1" --midi-out "Bus 2" --tempo 96
  arvae-live serve --midi-in "Bus 1" --midi-out "Bus 2" --meter 3/4       # calls in 3/4, the 3/4 model answers
  arvae-live serve --midi-in "Bus 1" --midi-out "Bus 2" --midi-optional   # OSC only if the ports are missing
"""


def _remember_allow_remote(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta["arvae_allow_remote"] = value  # read by _check_host; not a parameter of serve_cmd


def _check_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a non-loopback --host without --allow-remote, in one line, before anything loads."""
    if not _is_loopback(value) and not ctx.meta.get("arvae_allow_remote"):
        raise click.ClickException(
            f"--host {value} is not a loopback address: other machines could send requests and receive replies; "
            "add --allow-remote if you mean that"
        )
    return value


@click.command("serve", epilog=SERVE_EXAMPLES)
@model_option(
    without="every model in the model folder, each grid's default current (4/4: the Bach model); with it, the "
    "first given of each grid is that grid's current and grids none serves get the folder's default",
    multiple=True,
    dest="models",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_remember_allow_remote,
    help="Allow a --host that is not loopback (the daemon is then reachable from other machines).",
)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    callback=_check_host,
    help="Address to bind; anything but loopback also needs --allow-remote.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="Request port.")
@click.option(
    "--reply-port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_REPLY_PORT,
    show_default=True,
    help="Port replies go to on the sender's IP (clients may register another with /arvae/hello).",
)
@device_option()
@threads_option
@budget_option()
@encoder_option()
@click.option(
    "--scale",
    type=click.Choice(["auto", "off"]),
    default="auto",
    show_default=True,
    expose_value=False,
    callback=lambda ctx, param, value: ctx.meta.__setitem__("arvae_scale", value),
    help="auto: regenerated notes keep to each clip's key (its scale plus the clip's own chromatic notes); off: any "
    "pitch. A client may choose per connection with /arvae/scale (docs/protocol.md).",
)
@midi_options
def serve_cmd(
    models: tuple[str, ...],
    host: str,
    port: int,
    reply_port: int,
    device: str,
    threads: int,
    budget_ms: float,
    encoder: str,
    **midi,
) -> None:
    """Serve AR-VAE models over OSC (UDP) until Ctrl-C or SIGTERM; with --midi-in/--midi-out, also answer phrases
    played on a MIDI port (docs/midi-ports.md)."""
    use_midi = check_midi_options(click.get_current_context(), midi)
    # torch.set_num_threads does not bound the OpenMP team of the engine thread (it is not the thread that called
    # it): without this the engine ran 2 threads that fought the receiving thread and the client for 2 cores, and
    # took 5.5 ms at p50 instead of 3.6 ms (`arvae-live bench`). OpenMP reads it when torch loads, so set it first.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from arvae_live.core.meters import GRIDS
    from arvae_live.daemon import Daemon, ModelHost
    from arvae_live.errors import CheckpointError
    from arvae_live.model_store import available_models, default_model_path

    torch.set_num_threads(threads)
    host_models = ModelHost(device=device, encoder=encoder)
    t0 = time.perf_counter()
    for m in models:  # each serves its checkpoint's grid; the first given for a grid is its current model
        host_models.add(m)
    if not models:
        default_model_path()  # raises with how-to when the folder has no model at all
    # Each grid no --model covers gets its default from the folder (the simple one first: the current 4/4 model),
    # then, without --model, every other model there is held too, loadable by /arvae/model/load without a wait.
    paths = [_grid_default(g) for g in GRIDS.values() if host_models.for_grid(g) is None]
    paths += [] if models else list(available_models().values())
    for path in dict.fromkeys(p for p in paths if p is not None):
        if path in host_models.paths.values():  # given with --model already
            continue
        try:
            host_models.add(path)
        except CheckpointError as err:  # a stray bad file in the folder must not stop the daemon
            log.warning("skipped %s", err)
    load_sec = time.perf_counter() - t0
    daemon = Daemon(host_models, host, port, reply_port, threads=threads, budget_ms=budget_ms or None)
    daemon.default_scale = (click.get_current_context().meta.get("arvae_scale", "auto"), 0)  # --scale
    midi_mode = None
    if use_midi:  # the ports open before the daemon starts: MIDI asked for and impossible stops here, in one line
        from arvae_live.midi_mode import SharedEngine

        grid = _midi_grid(host_models, midi["meter"])
        # The current model of the meter's grid, looked up per call: a client's /arvae/model/load of another model
        # of that grid switches the MIDI side too.
        engine = SharedEngine(lambda: host_models.loaded[host_models.for_grid(grid)], daemon.engine_lock,
                              daemon.budget_ms)  # fmt: skip
        midi_mode = _open_midi_mode(engine, midi, threads)
    # Handlers before the startup lines: a client that reads them may signal at once.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: daemon.request_shutdown())
    daemon.start()  # a port in use: PortInUseError, one line
    if not _is_loopback(host):
        click.echo(f"WARNING: listening on {host}, reachable from other machines; use --host 127.0.0.1 to stay local")
    click.echo(f"arvae-live serve: listening on {host}:{daemon.port} (OSC/UDP), replies to port {reply_port}")
    click.echo(f"device {daemon.device}, models: {', '.join(host_models.loaded)} (current: {host_models.current_id})")
    click.echo(f"meters served: {host_models.served_text()} (models loaded in {load_sec:.2f} s)")
    if midi_mode is not None:
        _start_midi_mode(midi_mode)
    click.echo("Ctrl-C to stop.")
    daemon.serve_forever()
    if midi_mode is not None:
        midi_mode.stop()
    s = daemon.stats
    n_req, n_err, n_bad = s.get("requests"), s.get("errors"), s.get("bad_datagrams")
    n_held_back = s.get("unverified_refusals") + s.get("dropped_replies")
    click.echo(f"stopped: {n_req} requests, {n_err} errors, {n_bad} bad datagrams, {n_held_back} replies held back")


def _midi_grid(host_models, meter: str):
    """The grid of --meter, when a loaded model serves it.

    Raises:
        click.ClickException: no loaded model serves the meter's grid (one line naming what is served).
    """
    from arvae_live.call_response import parse_meter

    grid = parse_meter(meter)
    if host_models.for_grid(grid) is None:
        raise click.ClickException(
            f"--meter {meter} ({grid.name} grid) is not served by any loaded model; loaded: "
            f"{host_models.served_text()}. Add a {grid.name} model with --model or to the model folder, or play "
            "in a meter that is served"
        )
    return grid


def _grid_default(grid):
    """The model folder's default checkpoint for a grid, or None when the folder has none of that grid."""
    from arvae_live.errors import CheckpointError
    from arvae_live.model_store import default_model_path

    try:
        return default_model_path(grid)
    except CheckpointError:
        return None


def _open_midi_mode(engine, midi: dict, threads: int):
    """Build the call and response machine and open its ports; None when they cannot be opened and --midi-optional
    was given (one line says why), else MidiPortError (exit 1, one line).

    Raises:
        ConfigError: a --midi-cc naming a control the model lacks, or a CC number used twice.
        MidiPortError: the ports cannot be opened and --midi-optional was not given.
    """
    from arvae_live.errors import MidiPortError
    from arvae_live.midi_mode import MidiMode, build_machine

    machine = build_machine(engine, **{k: v for k, v in midi.items() if k not in MIDI_PORT_KEYS})
    try:
        return MidiMode.open(machine, midi["midi_in"], midi["midi_out"], virtual=midi["midi_virtual"], threads=threads)
    except MidiPortError as err:
        if not midi["midi_optional"]:
            raise MidiPortError(
                f"{err}. To serve OSC without MIDI, add --midi-optional or leave out --midi-in/--midi-out"
            ) from err
        click.echo(f"MIDI mode not started, serving OSC only: {err}", err=True)
        return None


def _start_midi_mode(mode) -> None:
    """Start the MIDI thread of an opened MidiMode and say what it listens to."""
    mode.start()
    machine = mode.machine
    clock = f"{machine.tempo_bpm:g} bpm" if machine.tempo_bpm else "incoming MIDI clock"
    click.echo(f"MIDI: calls from {mode.inport.name!r}, responses to {mode.outport.name!r}, following {clock}")
    click.echo(f"MIDI CCs: {machine.cc_map.describe()}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
