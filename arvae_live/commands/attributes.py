"""`arvae-live attributes FILE.mid`: the attributes of each measure of a MIDI file's melody, raw and normalised."""

from __future__ import annotations

import json
from pathlib import Path

import click

from arvae_live.cli_base import model_option, track_option


@click.command("attributes")
@click.argument("midi_file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@track_option
@model_option(without="values are normalised over the attribute registry's ranges")
def attributes_cmd(midi_file: Path, as_json: bool, track: int | None, model: str | None) -> None:
    """Print the per-measure attributes of MIDI_FILE's melody: raw values (the paper's formulas) and values
    normalised to 0..1 over the registry's ranges, or over the model's ranges with --model; then the changes made
    to fit the notes on the 24-tick grid."""
    from arvae_live.clip_report import describe_clip, measure_table, registry_specs, warning_dicts
    from arvae_live.core.checkpoint import load_checkpoint
    from arvae_live.core.representation import Vocabulary
    from arvae_live.midi_files import read_midi

    clip = read_midi(midi_file, track=track)
    if model is None:
        vocab, specs, over = Vocabulary(), registry_specs(), "registry"
    else:
        from arvae_live.model_store import resolve_model

        path = resolve_model(model)
        ckpt = load_checkpoint(path)
        vocab, specs, over = ckpt.vocabulary, ckpt.attributes, f"model {path.stem}"
    table = measure_table(clip, vocab, specs)
    names = [s.name for s in specs]
    if as_json:
        out = {
            "file": str(clip.path),
            "track": clip.track,
            "channel": clip.channel + 1,
            "n_notes": len(clip.notes),
            "n_measures": clip.n_measures,
            "ticks_per_beat": clip.ticks_per_beat,
            "tempos": [{"beat": b, "bpm": bpm} for b, bpm in clip.tempos],
            "time_signatures": [{"beat": b, "meter": f"{n}/{d}"} for b, n, d in clip.time_signatures],
            "normalised_over": over,
            "ranges": {s.name: [s.low, s.high] for s in specs},
            "measures": [
                {
                    "bar": m + 1,
                    "raw": {k: float(table.raw[k][m]) for k in names},
                    "normalised": {k: float(table.normalised[k][m]) for k in names},
                }
                for m in range(clip.n_measures)
            ],
            "warnings": warning_dicts(table.adjustments),
        }
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(describe_clip(clip))
    click.echo(f"raw value (normalised 0..1 over the {over} ranges)")
    width = max(18, *(len(n) for n in names))
    click.echo("bar  " + "  ".join(f"{n:>{width}}" for n in names))
    for m in range(clip.n_measures):
        cells = [f"{table.raw[k][m]:.4f} ({table.normalised[k][m]:.3f})" for k in names]
        click.echo(f"{m + 1:>3}  " + "  ".join(f"{c:>{width}}" for c in cells))
    if table.adjustments:
        click.echo("warnings:")
        for a in table.adjustments:
            click.echo(f"  {a.message}")
