"""What both command-line groups share: lazy subcommands, logging set-up, and one-line errors.

`arvae-live` and `arvae-train` are `ArvaeGroup`s. Subcommands are named as "module:attribute" and imported only
when run (or when --help lists them), so `arvae-live --help` does not pay for importing torch. An `ArvaeError` (or
an OSError: a file that cannot be written, a port in use) raised anywhere below becomes one line on stderr and exit
code 1; `--verbose` shows the traceback instead.

The options that several subcommands take (--device, --model, --track, --bars, --seed, --threads, --budget-ms,
--data-cache, --no-progress) are defined once here as decorators, so each has one spelling, one type and one help
text wherever it appears; a command's own twist (its default, a sentence about what it does there) is an argument.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
        except (ArvaeError, OSError) as err:
            if ctx.params.get("verbose"):
                raise
            raise click.ClickException(_one_line(err)) from err


def _one_line(err: Exception) -> str:
    """The error as one line. An OSError the command did not expect (a file it cannot write, a port in use) reads
    as the system says it, with the file it concerns, not as a traceback."""
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename is not None else ""
        return f"{where}{err.strerror}"
    return str(err)


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


# ---- options shared by subcommands --------------------------------------------------------------------------------

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

DEVICES = ("auto", "cpu", "cuda")  # auto: cuda when torch sees a GPU, else cpu


class DeviceType(click.ParamType):
    """auto, cpu, cuda, or cuda:N (a GPU index >= 0); checked by spelling only, so --help never imports torch."""

    name = "device"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[auto|cpu|cuda|cuda:N]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value in DEVICES or re.fullmatch(r"cuda:\d+", str(value)):
            return value
        self.fail(f"{value!r} is not one of auto, cpu, cuda or cuda:N", param, ctx)


def device_option(default: str = "auto", *, indexed: bool = False, note: str = "") -> Decorator:
    """--device: where torch runs.

    Args:
        default: "auto", "cpu" or "cuda".
        indexed: also accept cuda:N (a GPU index), for commands whose engine takes it.
        note: a sentence added to the help text about the device in this command.
    """
    choices = "cpu, cuda or cuda:N" if indexed else "cpu or cuda"
    return click.option(
        "--device",
        type=DeviceType() if indexed else click.Choice(DEVICES),
        default=default,
        show_default=True,
        help=f"Torch device: auto (cuda when available), {choices}." + (f" {note}" if note else ""),
    )


def model_option(without: str, *, multiple: bool = False, dest: str = "model") -> Decorator:
    """--model ID|PATH: a bundled model id (checkpoint file stem) or a checkpoint path.

    Args:
        without: what the command does when --model is not given, for the help text.
        multiple: repeatable (the command receives a tuple; the first is current).
        dest: the command's parameter name.
    """
    again = "; repeat to hold several, the first is current" if multiple else ""
    return click.option(
        "--model",
        dest,
        multiple=multiple,
        default=None,
        metavar="ID|PATH",
        help="Model id (a checkpoint's file stem in checkpoints/ or $ARVAE_CHECKPOINTS) or checkpoint path"
        f"{again}. Without it: {without}.",
    )


track_option: Decorator = click.option(
    "--track",
    type=click.IntRange(min=0),
    default=None,
    help="Take the melody from this track (0-based index in the file) instead of choosing it; "
    "`arvae-live attributes` shows the track it chose.",
)


def bars_option(verb: str) -> Decorator:
    """--bars A:B, the bars of a MIDI file a command changes.

    Args:
        verb: what the command does to the bars, capitalised ("Regenerate").
    """
    return click.option(
        "--bars",
        default=None,
        metavar="A:B",
        help=f"{verb} only bars A..B (1-based, inclusive), e.g. 3:3 for one measure; the others are kept as they "
        "are.  [default: all bars]",
    )


def seed_option(what: str) -> Decorator:
    """--seed N (default 0). Args: what: what the seed drives, for the help text."""
    return click.option("--seed", type=int, default=0, show_default=True, help=f"Random seed ({what}).")


threads_option: Decorator = click.option(
    "--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="Torch threads (CPU)."
)


def budget_option(note: str = "") -> Decorator:
    """--budget-ms: LiveModel.regenerate's closed-loop time budget (the command gets 0.0 for no limit)."""
    return click.option(
        "--budget-ms",
        type=click.FloatRange(0),
        default=8.0,
        show_default=True,
        help="Closed-loop time budget per request: no refinement round starts that would end later (0: no limit)."
        + (f" {note}" if note else ""),
    )


def encoder_option(note: str = "") -> Decorator:
    """--encoder: how new measures are encoded (LiveModel.from_checkpoint's `encoder`)."""
    return click.option(
        "--encoder",
        type=click.Choice(["auto", "full"]),
        default="auto",
        show_default=True,
        help="auto: a new clip is encoded by the checkpoint's distilled encoder when it has one (a fraction of the "
        "time; core/distilled_encoder.py); full: always by the model's GRU encoder." + (f" {note}" if note else ""),
    )


def data_cache_option(*decls: str, note: str = "") -> Decorator:
    """The folder of prepared corpora (`arvae-train prepare` writes it, the other training commands read it).

    Args:
        decls: the option's names; default --data-cache (prepare calls it --cache-dir).
        note: a sentence added to the help text about what this command reads or writes there.
    """
    return click.option(
        *(decls or ("--data-cache",)),
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("data_cache"),
        show_default=True,
        help="Folder of prepared corpora (the dataset cache files of `arvae-train prepare`)."
        + (f" {note}" if note else ""),
    )


# The command receives `progress` (True unless --no-progress).
progress_option: Decorator = click.option(
    "--no-progress", "progress", is_flag=True, flag_value=False, default=True, help="Hide progress bars."
)
