"""What both command-line groups share: lazy subcommands, logging set-up, and one-line errors.

`arvae-live` and `arvae-train` are `ArvaeGroup`s. Subcommands are named as "module:attribute" and imported only
when run (or when --help lists them), so `arvae-live --help` does not pay for importing torch. An `ArvaeError`
raised anywhere below becomes one line on stderr and exit code 1; `--verbose` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging

import click

from arvae_live.errors import ArvaeError


class ArvaeGroup(click.Group):
    """A click group whose subcommands live in other modules, imported on first use."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}  # command name -> "package.module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attr = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ArvaeError as err:
            if ctx.params.get("verbose"):
                raise
            raise click.ClickException(str(err)) from err


def group_options(f):
    """--log-level and --verbose, configured once here (library modules never configure logging)."""
    f = click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")(f)
    f = click.option(
        "--log-level",
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
        default="INFO",
        show_default=True,
        help="Logging level for messages on stderr.",
    )(f)
    return f


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
