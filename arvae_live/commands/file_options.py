"""Click options shared by the MIDI file commands (`attributes`, `regenerate`, `traverse`)."""

from __future__ import annotations

import click

pickup_option = click.option(
    "--pickup",
    type=click.FloatRange(0, 4, max_open=True),
    default=None,
    metavar="BEATS",
    help="Length of the pickup (upbeat) bar in quarter notes, e.g. 1 for bach/bwv66.6; 0 for none. "
    "[default: found from the time signatures; a file that marks none has none]",
)
