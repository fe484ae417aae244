"""`arvae-live serve`: the OSC inference daemon for the Max for Live device (docs/protocol.md)."""

from __future__ import annotations

import ipaddress
import signal

import click

from arvae_live.protocol import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REPLY_PORT


@click.command("serve")
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="ID|PATH",
    help="Model id (checkpoints/ID.pt or $ARVAE_CHECKPOINTS/ID.pt) or checkpoint path; repeat to hold several, "
    "the first is current. Default: every model in the model folder, the Bach model current.",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind; loopback unless you say so.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="Request port.")
@click.option(
    "--reply-port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_REPLY_PORT,
    show_default=True,
    help="Port replies go to on the sender's IP (clients may register another with /arvae/hello).",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Torch device."
)
@click.option("--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="Torch threads (CPU).")
def serve_cmd(models: tuple[str, ...], host: str, port: int, reply_port: int, device: str, threads: int) -> None:
    """Serve AR-VAE models over OSC (UDP) until Ctrl-C or SIGTERM."""
    import torch

    from arvae_live.daemon import Daemon, ModelHost
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
                host_models.add(path)
    daemon = Daemon(host_models, host=host, port=port, reply_port=reply_port, threads=threads)
    daemon.start()
    if not _is_loopback(host):
        click.echo(f"WARNING: listening on {host}, reachable from other machines; use --host 127.0.0.1 to stay local")
    click.echo(f"arvae-live serve: listening on {host}:{daemon.port} (OSC/UDP), replies to port {reply_port}")
    click.echo(f"device {daemon.device}, models: {', '.join(host_models.loaded)} (current: {host_models.current_id})")
    click.echo("Ctrl-C to stop.")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: daemon.request_shutdown())
    daemon.serve_forever()
    s = daemon.stats
    n_req, n_err, n_bad = s.get("requests"), s.get("errors"), s.get("bad_datagrams")
    click.echo(f"stopped: {n_req} requests, {n_err} errors, {n_bad} bad datagrams")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
