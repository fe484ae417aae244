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


def model_option(required: bool = False):
    """--model ID|PATH: a bundled model id (checkpoint file stem) or a checkpoint path."""
    help_text = "Model id (a bundled checkpoint's file stem) or checkpoint path."
    if not required:
        help_text += " Without it, values are normalised over the attribute registry's ranges."
    return click.option("--model", "model", default=None, metavar="ID|PATH", help=help_text)
