"""`arvae-live serve`: the OSC inference daemon for the Max for Live device (docs/protocol.md)."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal

import click

from arvae_live.cli_base import budget_option, device_option, model_option, threads_option
from arvae_live.midi_mode import check_midi_options, midi_options
from arvae_live.protocol import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REPLY_PORT

log = logging.getLogger(__name__)


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


@click.command("serve")
@model_option(without="every model in the model folder, the Bach model current", multiple=True, dest="models")
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
@midi_options
def serve_cmd(
    models: tuple[str, ...],
    host: str,
    port: int,
    reply_port: int,
    device: str,
    threads: int,
    budget_ms: float,
    **midi,
) -> None:
    """Serve AR-VAE models over OSC (UDP) until Ctrl-C or SIGTERM; with --midi-in/--midi-out, also answer phrases
    played on a MIDI port (docs/midi-ports.md)."""
    use_midi = check_midi_options(midi["midi_in"], midi["midi_out"])
    # torch.set_num_threads does not bound the OpenMP team of the engine thread (it is not the thread that called
    # it): without this the engine ran 2 threads that fought the receiving thread and the client for 2 cores, and
    # took 5.5 ms at p50 instead of 3.6 ms (`arvae-live bench`). OpenMP reads it when torch loads, so set it first.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from arvae_live.daemon import Daemon, ModelHost
    from arvae_live.errors import CheckpointError
    from arvae_live.model_store import available_models, default_model_path

    torch.set_num_threads(threads)
    host_models = ModelHost(device=device)
    if models:
        for m in models:
            host_models.add(m)
    else:
        default = default_model_path()  # raises with how-to when there is none
        host_models.add(default)
        for path in available_models().values():
            if path != default:
                try:
                    host_models.add(path)
                except CheckpointError as err:  # a stray bad file in the folder must not stop the daemon
                    log.warning("skipped %s", err)
    daemon = Daemon(host_models, host, port, reply_port, threads=threads, budget_ms=budget_ms or None)
    machine = None
    if use_midi:  # built before anything starts, so a bad --midi-cc stops here
        from arvae_live.midi_mode import SharedEngine, build_machine

        machine = build_machine(SharedEngine(lambda: host_models.current, daemon.engine_lock, daemon.budget_ms), **midi)
    # Handlers before the startup lines: a client that reads them may signal at once.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: daemon.request_shutdown())
    daemon.start()  # a port in use: PortInUseError, one line
    if not _is_loopback(host):
        click.echo(f"WARNING: listening on {host}, reachable from other machines; use --host 127.0.0.1 to stay local")
    click.echo(f"arvae-live serve: listening on {host}:{daemon.port} (OSC/UDP), replies to port {reply_port}")
    click.echo(f"device {daemon.device}, models: {', '.join(host_models.loaded)} (current: {host_models.current_id})")
    midi_mode = _start_midi_mode(machine, midi, threads) if machine is not None else None
    click.echo("Ctrl-C to stop.")
    daemon.serve_forever()
    if midi_mode is not None:
        midi_mode.stop()
    s = daemon.stats
    n_req, n_err, n_bad = s.get("requests"), s.get("errors"), s.get("bad_datagrams")
    n_held_back = s.get("unverified_refusals") + s.get("dropped_replies")
    click.echo(f"stopped: {n_req} requests, {n_err} errors, {n_bad} bad datagrams, {n_held_back} replies held back")


def _start_midi_mode(machine, midi: dict, threads: int):
    """Open the MIDI ports and start call and response; on a port error, say so in one line and serve OSC only."""
    from arvae_live.errors import MidiPortError
    from arvae_live.midi_mode import MidiMode

    try:
        mode = MidiMode.open(
            machine, midi["midi_in"], midi["midi_out"], virtual=midi["midi_virtual"], threads=threads
        ).start()
    except MidiPortError as err:
        click.echo(f"MIDI mode not started, serving OSC only: {err}", err=True)
        return None
    clock = f"{machine.tempo_bpm:g} bpm" if machine.tempo_bpm else "incoming MIDI clock"
    click.echo(f"MIDI: calls from {mode.inport.name!r}, responses to {mode.outport.name!r}, following {clock}")
    click.echo(f"MIDI CCs: {machine.cc_map.describe()}")
    return mode


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
