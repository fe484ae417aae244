"""`arvae-live regenerate IN... -o OUTDIR`: regenerate the melody of MIDI files with attribute targets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from arvae_live.cli_base import bars_option, device_option, model_option, seed_option, track_option
from arvae_live.commands.file_options import pickup_option

_NORMALISED = (
    "normalised 0..1 over the model's range for the attribute (e.g. note_density 1.0 is 16 onsets per bar on "
    "general-arvae, 8 on bach-arvae; `arvae-live attributes FILE --model ID` shows each model's scale)"
)


@click.command("regenerate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the outputs, <stem>.v<k>.mid per input and variation (made if missing).",
)
@model_option(
    without="each file's model is picked by its meter: the default model of its grid (4/4, 2/2, 2/4: general-arvae "
    "when present; 3/4: triple-arvae; 12/8, 6/8: compound-arvae; else the first model of the grid)"
)
@click.option(
    "--set",
    "set_",
    multiple=True,
    metavar="NAME=VALUE",
    help=f"Aim attribute NAME at VALUE in every selected bar, {_NORMALISED}. Repeatable.",
)
@click.option(
    "--shift",
    multiple=True,
    metavar="NAME=DELTA",
    help="Move attribute NAME by DELTA (-1..1, same normalised scale) from each bar's own value, clipped to 0..1. "
    "Repeatable.",
)
@bars_option("Regenerate")
@track_option
@pickup_option
@click.option("--variations", type=click.IntRange(1, 64), default=1, show_default=True, help="Output files per input.")
@click.option(
    "--temperature",
    type=click.FloatRange(0.0, 10.0),
    default=0.0,
    show_default=True,
    help="0 decodes the most likely tokens; > 0 samples them.",
)
@seed_option("variations and sampling")
@click.option(
    "--scale",
    type=click.Choice(["auto", "off"]),
    default="auto",
    show_default=True,
    help="auto: new notes stay in each melody's key (its Krumhansl-Kessler key's scale plus its own chromatic notes; "
    "each file's line names the key); off: any pitch.",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes (each loads the model)."
)
@click.option(
    "--batch-files",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Files regenerated together in one engine call (the unit of work for --jobs and ranks).",
)
@device_option(indexed=True, note="Under torchrun, auto uses cuda:LOCAL_RANK.")
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a report: JSON, or CSV when FILE ends in .csv (per file: the melody part; per bar and attribute: "
    "before, asked, achieved, normalised and in musical units; warnings). Written also after Ctrl-C.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Regenerate files whose outputs exist. Without it, outputs made with the same options and model are "
    "skipped (an interrupted run resumes) and a file whose outputs were made otherwise is refused.",
)
def regenerate_cmd(
    inputs: tuple[Path, ...],
    out_dir: Path,
    model: str | None,
    jobs: int,
    batch_files: int,
    device: str,
    report: Path | None,
    **what: Any,
) -> None:
    """Regenerate the melody of each MIDI file in INPUTS (files, or folders searched for *.mid and *.midi).

    Tempo, meter, the other tracks and every non-note event are kept; only the melody's notes in the selected bars
    change. The melody is the top part, or a part named like one ("Soprano", "Melody", "Lead", ...); each file's
    line says which part it took. Under torchrun, ranks share the files.

    \b
    Examples:
      arvae-live regenerate songs/ -o out/ --set note_density=0.7 --report report.csv
      arvae-live regenerate bwv66.6.mid -o out/ --pickup 1 --bars 1:4 --shift contour=0.2 --variations 4
    """
    from arvae_live.batch import RegenOptions, parse_assignments
    from arvae_live.batch_run import BatchRun, check_model_options, distributed_world, run_batch
    from arvae_live.errors import CheckpointError
    from arvae_live.model_store import resolve_model
    from arvae_live.paths import check_regular

    # `what`: the options that decide what each file becomes (RegenOptions' fields; --set and --shift parsed here).
    options = RegenOptions(
        targets=parse_assignments(what.pop("set_"), "--set", 0.0, 1.0),
        shifts=parse_assignments(what.pop("shift"), "--shift", -1.0, 1.0),
        **what,
    )
    # --model: every file goes to it (a file of another meter fails alone); without it each file goes to the default
    # model of its meter's grid (batch_run.plan_models), and --set / --shift are checked against each model used.
    model_path = None if model is None else check_regular(resolve_model(model), CheckpointError, "checkpoint")
    if model_path is not None:
        check_model_options(options, model_path)
    progress = _Progress(enabled=distributed_world()[0] == 0)
    run = BatchRun(inputs, out_dir, options, model_path, jobs, batch_files, device, report)
    try:
        outcome = run_batch(run, on_result=progress.file_done, on_start=progress.start)
    finally:
        progress.close()
    if outcome is None:  # not rank 0: rank 0 reports
        return
    for r in outcome.results:  # other ranks' files
        progress.file_done(r)
    stats = outcome.summary
    if outcome.swept:
        click.echo(f"removed {outcome.swept} temporary file(s) left by an interrupted run")
    click.echo(
        f"{stats['ok']} file(s) regenerated ({stats['measures']} measures, {stats['seconds']:.1f} s, "
        f"{stats['measures_per_s'] or 0:.0f} measures/s), {stats['skipped']} skipped (outputs exist, same options), "
        f"{stats['failed']} failed" + (f"; report: {report}" if report and not outcome.report_error else "")
    )
    if outcome.report_error:
        click.echo(f"Error: {outcome.report_error}", err=True)
    if outcome.interrupted:
        done = len(outcome.results)
        click.echo(f"interrupted after {done} of {outcome.n_jobs} file(s); run the same command again to continue")
        sys.exit(130)
    if stats["failed"] or outcome.report_error:
        sys.exit(1)


class _Progress:
    """A files bar and a measures bar on a terminal (tqdm), and one line per file, printed once."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.printed: set[str] = set()
        self.files = self.measures = None

    def start(self, n_files: int) -> None:
        from tqdm import tqdm

        quiet = None if self.enabled else True  # None: bars on a terminal only
        self.files = tqdm(total=n_files, unit="file", desc="files", disable=quiet)
        self.measures = tqdm(unit="measure", desc="measures", position=1, disable=self.files.disable)

    def file_done(self, r) -> None:
        if not self.enabled or r.source in self.printed:
            return
        self.printed.add(r.source)
        if self.files is not None:
            self.files.update(1)
            self.measures.update(r.n_measures)
        if r.status == "ok":
            name = f' "{r.track_name}"' if r.track_name else ""
            bars = f"bars {r.bars[0]}-{r.bars[1]}" if r.bars[0] != r.bars[1] else f"bar {r.bars[0]}"
            line = f"ok      {r.source}: melody track {r.track}{name} channel {r.channel} ({r.melody}), {bars}"
            line += "".join(f"; {w['message']}" for w in r.warnings if w["kind"] == "bars_clamped")
            line += f"; kept in {r.key}" if r.key else ""
            line += f"; {r.meter} by {r.model}" if r.meter and r.model else ""  # the model is picked per meter
        elif r.status == "skipped":
            line = f"skipped {r.source}: outputs exist, made with the same options"
        else:
            line = f"FAILED  {r.error}"
        if self.files is not None and not self.files.disable:
            self.files.write(line)
        else:
            click.echo(line)

    def close(self) -> None:
        for bar in (self.files, self.measures):
            if bar is not None:
                bar.close()
