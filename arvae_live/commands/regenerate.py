"""`arvae-live regenerate IN... -o OUTDIR`: regenerate the melody of MIDI files with attribute targets."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click

from arvae_live.cli_base import bars_option, device_option, model_option, seed_option, track_option


@click.command("regenerate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the outputs, <stem>.v<k>.mid per input and variation (made if missing).",
)
@model_option(without="the bundled default model (bach-arvae when present)")
@click.option(
    "--set",
    "set_",
    multiple=True,
    metavar="NAME=VALUE",
    help="Aim attribute NAME at normalised VALUE (0..1) in every selected bar. Repeatable.",
)
@click.option(
    "--shift",
    multiple=True,
    metavar="NAME=DELTA",
    help="Move attribute NAME by DELTA (-1..1) from each bar's own normalised value, clipped to 0..1. Repeatable.",
)
@bars_option("Regenerate")
@track_option
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
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a report: JSON, or CSV when FILE ends in .csv (per file, bar and attribute: before, "
    "asked, achieved, warnings).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Regenerate files whose outputs exist (default: skip them, so an interrupted run resumes).",
)
def regenerate_cmd(
    inputs: tuple[Path, ...],
    out_dir: Path,
    model: str | None,
    set_: tuple[str, ...],
    shift: tuple[str, ...],
    bars: str | None,
    track: int | None,
    variations: int,
    temperature: float,
    seed: int,
    jobs: int,
    batch_files: int,
    device: str,
    report: Path | None,
    overwrite: bool,
) -> None:  # fmt: skip
    """Regenerate the melody of each MIDI file in INPUTS (files, or folders searched for *.mid and *.midi).

    Tempo, meter, the other tracks and every non-note event are kept; only the melody's notes in the selected bars
    change. Under torchrun, ranks share the files.
    """
    from tqdm import tqdm

    from arvae_live.batch import (
        RegenOptions,
        broadcast_jobs,
        check_options,
        collect_jobs,
        distributed_world,
        gather_results,
        make_groups,
        parse_assignments,
        run_groups,
        summary,
        write_report,
    )
    from arvae_live.core.checkpoint import read_header
    from arvae_live.errors import ConfigError
    from arvae_live.model_store import resolve_model

    options = RegenOptions(
        targets=parse_assignments(set_, "--set", 0.0, 1.0),
        shifts=parse_assignments(shift, "--shift", -1.0, 1.0),
        bars=bars,
        track=track,
        variations=variations,
        temperature=temperature,
        seed=seed,
        overwrite=overwrite,
    )
    model_path = resolve_model(model)
    check_options(options, [a["name"] for a in read_header(model_path)["attributes"]])
    if report is not None and report.exists() and report.is_dir():
        raise ConfigError(f"--report {report}: is a folder")

    rank, world = distributed_world()
    if world > 1:
        import torch
        import torch.distributed as dist

        # gloo carries the file list and the results (Python objects) on CPU and GPU machines alike.
        dist.init_process_group("gloo")
        if device == "auto" and torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"
    try:
        all_jobs = collect_jobs(inputs, out_dir, variations) if rank == 0 else None
        if world > 1:
            all_jobs = broadcast_jobs(all_jobs, rank)
        if not all_jobs:
            raise ConfigError("no MIDI files (*.mid, *.midi) among the inputs")
        my_groups = make_groups(all_jobs, batch_files)[rank::world]  # the same groups for any --jobs and ranks

        quiet = None if rank == 0 else True  # None: bars on a terminal only; ranks other than 0 stay quiet
        files_bar = tqdm(total=sum(map(len, my_groups)), unit="file", desc="files", disable=quiet)
        measures_bar = tqdm(unit="measure", desc="measures", position=1, disable=files_bar.disable)

        def on_result(r) -> None:
            files_bar.update(1)
            measures_bar.update(r.n_measures)
            if r.status == "failed" and not files_bar.disable:  # on a terminal, as they happen; all in the summary
                files_bar.write(f"FAILED {r.error}")

        lm = None
        if jobs == 1:  # load before the clock starts, so the summary's measures/s is the files' own
            from arvae_live.engine import LiveModel

            lm = LiveModel.from_checkpoint(model_path, device=device)
        t0 = time.perf_counter()
        outcome = run_groups(
            my_groups, options, lm=lm, model_path=model_path, device=device, n_jobs=jobs, on_result=on_result
        )
        files_bar.close()
        measures_bar.close()
        if world > 1:
            outcome = gather_results(outcome.results, outcome.interrupted, rank, world)
        seconds = time.perf_counter() - t0
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if outcome is None:  # not rank 0: rank 0 reports
        return

    stats = summary(outcome.results, seconds)
    if report is not None:
        header = {
            "model": model_path.stem,
            "model_path": str(model_path),
            "options": asdict(options),
            "world_size": world,
            "jobs": jobs,
            "batch_files": batch_files,
            "interrupted": outcome.interrupted,
            "summary": stats,
        }
        write_report(report, header, outcome.results)
    click.echo(
        f"{stats['ok']} file(s) regenerated ({stats['measures']} measures, {stats['seconds']:.1f} s, "
        f"{stats['measures_per_s'] or 0:.0f} measures/s), {stats['skipped']} skipped (outputs exist), "
        f"{stats['failed']} failed" + (f"; report: {report}" if report else "")
    )
    for r in outcome.results:
        if r.status == "failed":
            click.echo(f"  failed: {r.error}")
    if outcome.interrupted:
        done = len(outcome.results)
        click.echo(f"interrupted after {done} of {len(all_jobs)} file(s); run the same command again to continue")
        sys.exit(130)
    if stats["failed"]:
        sys.exit(1)
