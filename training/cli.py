"""The `arvae-train` command group. Subcommands live in training/commands/ and are imported when used."""

from __future__ import annotations

import click

from arvae_live import __version__
from arvae_live.cli_base import ArvaeGroup, configure_logging, group_options

COMMANDS: dict[str, str] = {
    "prepare": "training.commands.prepare:prepare_cmd",  # corpus -> cached measure dataset
    "train": "training.commands.train:train_cmd",  # train a preset (torchrun for data-parallel)
    "export": "training.commands.export:export_cmd",  # training run -> inference checkpoint, self-checked
    "evaluate": "training.commands.evaluate:evaluate_cmd",  # paper metrics on held-out measures, traversal plots
    "distill": "training.commands.distill:distill_cmd",  # a fast feed-forward encoder, written into a checkpoint
}


@click.group(cls=ArvaeGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arvae-train")
@group_options
def main(log_level: str, verbose: bool) -> None:
    """Build datasets, train, evaluate and export arvae-live models."""
    configure_logging(log_level)
