"""`arvae-live traverse FILE.mid --attr NAME -o OUTDIR`: a clip decoded along one attribute, as MIDI and a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from arvae_live.cli_base import bars_option, device_option, model_option, seed_option, track_option
from arvae_live.commands.file_options import pickup_option


@click.command("traverse")
@click.argument("midi_file", type=click.Path(path_type=Path))
@click.option("--attr", "attribute", required=True, help="The attribute to traverse, e.g. note_density.")
@click.option(
    "--steps",
    type=click.IntRange(2, 33),
    default=7,
    show_default=True,
    help="Values asked, evenly spaced over 0..1 (normalised over the model's range) inclusive.",
)
@click.option(
    "-o",
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for <stem>.<attr>.s<k>.mid (one per step) and <stem>.<attr>.png.",
)
@model_option(
    without="the default model of the file's meter (4/4, 2/2, 2/4: general-arvae when present; 3/4, 12/8, 6/8: that "
    "grid's default). A --model that does not serve the file's meter is refused"
)
@track_option
@pickup_option
@bars_option("Traverse")
@click.option(
    "--open-loop",
    is_flag=True,
    help="The paper's traversal: move the latent dimension only, without measuring and refining.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (steps, per-bar values, files) instead.")
@seed_option("passed to the engine")
@device_option(indexed=True)
def traverse_cmd(
    midi_file: Path,
    attribute: str,
    steps: int,
    out_dir: Path,
    model: str | None,
    as_json: bool,
    device: str,
    **how: Any,
) -> None:
    """Decode the melody of MIDI_FILE (or bars of it) at STEPS values of one attribute, from low to high.

    Writes one MIDI file per step (the input with the selected bars replaced) and a PNG: the input's and each
    step's piano roll with note names, and the achieved attribute curve.

    \b
    Examples:
      arvae-live traverse song.mid --attr pitch_range -o trav/
      arvae-live traverse bwv66.6.mid --pickup 1 --attr note_density --bars 1:4 --steps 5 -o trav/ --json
    """
    import numpy as np

    from arvae_live.batch import check_grid, melody_with
    from arvae_live.clip_report import attribute_scales, musical_value
    from arvae_live.engine import LiveModel
    from arvae_live.errors import CheckpointError
    from arvae_live.midi_files import clip_tokens, parse_bars, read_midi, write_midi
    from arvae_live.model_store import default_model_path, resolve_model
    from arvae_live.paths import check_regular
    from arvae_live.traversal import plot_traversal, traverse

    # `how`: which melody and bars (track, pickup, bars) and how to steer (open_loop, seed).
    clip = read_midi(midi_file, track=how["track"], pickup=how["pickup"])
    sel = parse_bars(how["bars"], clip.n_measures, clip.first_bar)
    if sel.clamped:
        click.echo(f"note: {sel.clamped}", err=True)
    path = resolve_model(model) if model is not None else default_model_path(clip.grid)  # the file's meter's model
    lm = LiveModel.from_checkpoint(check_regular(path, CheckpointError, "checkpoint"), device=device)
    check_grid(clip, lm)
    tokens, _ = clip_tokens(clip, lm.vocab)
    window = tokens[sel.start : sel.stop]
    tr = traverse(lm, window, attribute, steps=steps, closed_loop=not how["open_loop"], seed=how["seed"])
    stem = f"{midi_file.stem}.{attribute}"
    outputs = []
    for s in range(steps):
        notes = melody_with(clip, tr.tokens[s], lm.vocab, sel.start, sel.stop)
        outputs.append(write_midi(clip, notes, out_dir / f"{stem}.s{s + 1}{midi_file.suffix or '.mid'}"))
    first, last = clip.first_bar + sel.start, clip.first_bar + sel.stop - 1
    bar_text = f"bar {first}" if first == last else f"bars {first}-{last}"
    title = f"{midi_file.name}, {bar_text}: {attribute} ({lm.model_id}); melody {clip.describe_part()}"
    png = plot_traversal(tr, lm.vocab, out_dir / f"{stem}.png", title, first_bar=first, grid=clip.grid)
    scale = attribute_scales([lm.spec(attribute)], clip.grid)[attribute]
    if as_json:
        doc = _json_doc(clip, tr, lm.model_id, (first, last), sel.clamped, scale, outputs, png)
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"{midi_file}: melody {clip.describe_part()}, {bar_text}, {clip.meter} by model {lm.model_id}")
    click.echo(f"{steps} MIDI files and {png} written to {out_dir} ({tr.engine_ms:.0f} ms in the engine)")
    click.echo(f"step  asked  achieved (mean over bars; {attribute} 0..1 = "
               f"{scale['unit_low']:.3g}..{scale['unit_high']:.3g} {scale['unit']})")  # fmt: skip
    for s in range(steps):
        mean = float(np.mean(tr.achieved[s]))
        click.echo(
            f"{s + 1:>4}  {tr.values[s]:.3f}  {mean:.3f}  ({float(musical_value(scale, mean)):.3g} {scale['unit']})"
        )


def _json_doc(clip, tr, model_id: str, bars, clamped, scale, outputs, png) -> dict:
    """The --json object: the melody part, the bars, the scale, and per step asked, achieved and the file."""
    return {
        "file": str(clip.path),
        "attribute": tr.attribute,
        "model": model_id,
        "melody": {"track": clip.track, "channel": clip.channel + 1, "name": clip.track_name, "why": clip.reason},
        "pickup_beats": clip.pickup_beats,
        "meter": clip.meter,
        "grid": clip.grid.name,
        "bars": list(bars),
        "bars_clamped": clamped,
        "scale": scale,
        "before": [float(v) for v in tr.before],
        "steps": [
            {
                "step": s + 1,
                "asked": float(tr.values[s]),
                "achieved": [float(v) for v in tr.achieved[s]],
                "achieved_mean": float(tr.achieved[s].mean()),
                "output": str(outputs[s]),
            }
            for s in range(len(tr.values))
        ],
        "png": str(png),
        "engine_ms": tr.engine_ms,
    }
