"""Click options shared by the MIDI-file commands (attributes, regenerate, traverse)."""

from __future__ import annotations

import click

track_option = click.option(
    "--track",
    type=click.IntRange(min=0),
    default=None,
    help="Take the melody from this track (0-based index in the file) instead of choosing it; "
    "`arvae-live attributes` shows the track it chose.",
)


def model_option(without: str = "the bundled default model (bach-arvae when present)"):
    """--model ID|PATH: a bundled model id (checkpoint file stem) or a checkpoint path.

    Args:
        without: what the command does when --model is not given, for the help text.
    """
    help_text = (
        "Model id (a checkpoint's file stem in checkpoints/ or $ARVAE_CHECKPOINTS) or checkpoint path. "
        f"Without it: {without}."
    )
    return click.option("--model", "model", default=None, metavar="ID|PATH", help=help_text)
