"""The `arvae-live` command group. Each subcommand lives in arvae_live/commands/ and is imported when used."""

from __future__ import annotations

import click

from arvae_live import __version__
from arvae_live.cli_base import ArvaeGroup, configure_logging, group_options

COMMANDS: dict[str, str] = {
    "inspect": "arvae_live.commands.inspect:inspect_cmd",  # a checkpoint's header
    "serve": "arvae_live.commands.serve:serve_cmd",  # the OSC inference daemon
    "bench": "arvae_live.commands.bench:bench_cmd",  # round-trip latency of the daemon
    "ports": "arvae_live.commands.ports:ports_cmd",  # the MIDI ports serve --midi-in/--midi-out can open
    "attributes": "arvae_live.commands.attributes:attributes_cmd",  # per-measure attributes of a MIDI file
    "regenerate": "arvae_live.commands.regenerate:regenerate_cmd",  # MIDI files with attribute targets
    "traverse": "arvae_live.commands.traverse:traverse_cmd",  # a clip decoded along one attribute, MIDI + PNG
}


@click.group(cls=ArvaeGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arvae-live")
@group_options
def main(log_level: str, verbose: bool) -> None:
    """Steer melodies by their musical attributes with AR-VAE models."""
    configure_logging(log_level)
