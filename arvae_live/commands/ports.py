"""`arvae-live ports`: list the MIDI input and output ports that `serve --midi-in/--midi-out` can open."""

from __future__ import annotations

import json

import click

EXAMPLES = """\b
Examples:
  arvae-live ports          # then: arvae-live serve --midi-in "Bus 1" --midi-out "Bus 2"
  arvae-live ports --json
"""


@click.command("ports", epilog=EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help='Print {"inputs": [...], "outputs": [...]} as JSON.')
def ports_cmd(as_json: bool) -> None:
    """List the MIDI ports on this machine (exits 1 with one line when there is no MIDI system)."""
    from arvae_live.midi_ports import port_names

    inputs, outputs = port_names()
    if as_json:
        click.echo(json.dumps({"inputs": inputs, "outputs": outputs}, indent=2))
        return
    for title, names in (("inputs (--midi-in)", inputs), ("outputs (--midi-out)", outputs)):
        click.echo(f"{title}:")
        for name in names:
            click.echo(f"  {name}")
        if not names:
            click.echo("  (none)")
