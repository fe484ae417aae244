"""`arvae-live traverse FILE.mid --attr NAME -o OUTDIR`: a clip decoded along one attribute, as MIDI and a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from arvae_live.cli_base import bars_option, device_option, model_option, seed_option, track_option


@click.command("traverse")
@click.argument("midi_file", type=click.Path(path_type=Path))
@click.option("--attr", "attribute", required=True, help="The attribute to traverse, e.g. note_density.")
@click.option(
    "--steps",
    type=click.IntRange(2, 33),
    default=7,
    show_default=True,
    help="Values asked, evenly spaced over 0..1 inclusive.",
)
@click.option(
    "-o",
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for <stem>.<attr>.s<k>.mid (one per step) and <stem>.<attr>.png.",
)
@model_option(without="the bundled default model (bach-arvae when present)")
@track_option
@bars_option("Traverse")
@click.option(
    "--open-loop",
    is_flag=True,
    help="The paper's traversal: move the latent dimension only, without measuring and refining.",
)
@seed_option("passed to the engine")
@device_option(indexed=True)
def traverse_cmd(
    midi_file: Path,
    attribute: str,
    steps: int,
    out_dir: Path,
    model: str | None,
    track: int | None,
    bars: str | None,
    open_loop: bool,
    seed: int,
    device: str,
) -> None:  # fmt: skip
    """Decode the melody of MIDI_FILE (or bars of it) at STEPS values of one attribute, from low to high.

    Writes one MIDI file per step (the input with the selected bars replaced) and a PNG piano roll of all steps
    with the achieved attribute curve.
    """
    import numpy as np

    from arvae_live.batch import melody_with
    from arvae_live.core.representation import notes_to_tokens
    from arvae_live.engine import LiveModel
    from arvae_live.midi_files import parse_bars, read_midi, write_midi
    from arvae_live.model_store import resolve_model
    from arvae_live.traversal import plot_traversal, traverse

    clip = read_midi(midi_file, track=track)
    start, stop = parse_bars(bars, clip.n_measures)
    lm = LiveModel.from_checkpoint(resolve_model(model), device=device)
    tokens, _ = notes_to_tokens(clip.notes, clip.n_measures, lm.vocab)
    tr = traverse(lm, tokens[start:stop], attribute, steps=steps, closed_loop=not open_loop, seed=seed)
    stem = f"{midi_file.stem}.{attribute}"
    for s in range(steps):
        notes = melody_with(clip, tr.tokens[s], lm.vocab, start, stop)
        write_midi(clip, notes, out_dir / f"{stem}.s{s + 1}{midi_file.suffix or '.mid'}")
    bar_text = f"bar {start + 1}" if stop - start == 1 else f"bars {start + 1}-{stop}"
    png = plot_traversal(
        tr, lm.vocab, out_dir / f"{stem}.png", f"{midi_file.name}, {bar_text}: {attribute} ({lm.model_id})"
    )
    click.echo(f"{steps} MIDI files and {png} written to {out_dir} ({tr.engine_ms:.0f} ms in the engine)")
    click.echo("step  asked  achieved (mean over measures)")
    for s in range(steps):
        click.echo(f"{s + 1:>4}  {tr.values[s]:.3f}  {float(np.mean(tr.achieved[s])):.3f}")
