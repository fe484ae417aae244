"""`arvae-live attributes FILE.mid`: the attributes of each measure of a MIDI file's melody, in musical units and
normalised."""

from __future__ import annotations

import json
from pathlib import Path

import click

from arvae_live.cli_base import model_option, track_option
from arvae_live.commands.file_options import pickup_option


@click.command("attributes")
@click.argument("midi_file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@track_option
@pickup_option
@model_option(
    without="the ranges of the default model of the file's meter (4/4: general-arvae when bundled; 3/4, 12/8, 6/8: "
    "that grid's default), the scale `regenerate --set` uses; the attribute registry's ranges only when no model "
    "of that grid is installed. A --model that does not serve the file's meter is refused"
)
def attributes_cmd(midi_file: Path, as_json: bool, track: int | None, pickup: float | None, model: str | None) -> None:
    """Print the per-measure attributes of MIDI_FILE's melody: in musical units (onsets per bar, semitones,
    weighted onsets per bar) and normalised 0..1 over the model's ranges, the scale of `regenerate --set`; then the
    changes made to fit the notes on the grid of the file's meter (4/4: 24 ticks; 3/4: 18; 12/8 and 6/8: 24 16ths).

    \b
    Examples:
      arvae-live attributes song.mid
      arvae-live attributes bwv66.6.mid --pickup 1 --model folk-arvae --json
    """
    from arvae_live.clip_report import (
        attribute_scales,
        describe_clip,
        measure_table,
        model_scale,
        raw_to_units,
        warning_dicts,
    )
    from arvae_live.midi_files import read_midi

    clip = read_midi(midi_file, track=track, pickup=pickup)
    vocab, specs, over = model_scale(model, clip.grid)  # the file's meter picks the model (and the units per bar)
    table = measure_table(clip, vocab, specs)
    names = [s.name for s in specs]
    scales = attribute_scales(specs, clip.grid)
    units = {k: raw_to_units(k, table.raw[k], clip.grid) for k in names}
    bars = range(clip.first_bar, clip.first_bar + clip.n_measures)
    if as_json:
        out = {
            "file": str(clip.path),
            "track": clip.track,
            "channel": clip.channel + 1,
            "track_name": clip.track_name,
            "melody": clip.reason,
            "pickup_beats": clip.pickup_beats,
            "meter": clip.meter,
            "grid": clip.grid.name,
            "n_notes": len(clip.notes),
            "n_measures": clip.n_measures,
            "ticks_per_beat": clip.ticks_per_beat,
            "tempos": [{"beat": b, "bpm": bpm} for b, bpm in clip.tempos],
            "time_signatures": [{"beat": b, "meter": f"{n}/{d}"} for b, n, d in clip.time_signatures],
            "normalised_over": over,
            "ranges": {s.name: [s.low, s.high] for s in specs},
            "scale": scales,
            "measures": [
                {
                    "bar": bar,
                    "raw": {k: float(table.raw[k][m]) for k in names},
                    "units": {k: float(units[k][m]) for k in names},
                    "normalised": {k: float(table.normalised[k][m]) for k in names},
                }
                for m, bar in enumerate(bars)
            ],
            "warnings": warning_dicts(table.adjustments, clip.first_bar),
        }
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(describe_clip(clip))
    click.echo(f"value in musical units (normalised 0..1 over the {over} ranges, the scale of regenerate --set):")
    for k in names:
        s = scales[k]
        click.echo(f"  {k}: 0..1 = {s['unit_low']:.3g}..{s['unit_high']:.3g} {s['unit']}")
    width = max(16, *(len(n) for n in names))
    click.echo("bar  " + "  ".join(f"{n:>{width}}" for n in names))
    for m, bar in enumerate(bars):
        cells = [f"{units[k][m]:.3g} ({table.normalised[k][m]:.3f})" for k in names]
        click.echo(f"{bar:>3}  " + "  ".join(f"{c:>{width}}" for c in cells))
    if table.adjustments:
        click.echo("warnings:")
        for w in warning_dicts(table.adjustments, clip.first_bar):
            click.echo(f"  {w['message']}")
