"""`arvae-train prepare --dataset NAME`: build (or load) a measure dataset and print what was kept and why."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from arvae_live.cli_base import data_cache_option, progress_option


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """A dataset summary (see `training.data.build_dataset`) as (label, value) rows."""
    rows = [("pieces found", str(summary["pieces_found"])), ("pieces kept", str(summary["pieces_kept"]))]
    rows += [(f"  skipped: {reason}", str(n)) for reason, n in summary["skipped"].items()]
    rows += [
        ("meters kept", ", ".join(f"{m} x{n}" for m, n in summary["meters_kept"].items()) or "-"),
        ("silent measures dropped", str(summary["silent_measures_dropped"])),
        ("measures (untransposed)", str(summary["measures_untransposed"])),
        ("transpositions per piece (mean)", f"{summary['transpositions_per_piece_mean']:.1f}"),
        ("measures (with transpositions)", str(summary["measures"])),
    ]
    rows += [(f"  {s}", f"{v['pieces']} pieces, {v['measures']} measures") for s, v in summary["splits"].items()]
    rows.append(("build time", f"{summary['build_seconds']} s with {summary.get('workers', 1)} worker(s)"))
    return rows


@click.command("prepare")
@click.option(
    "--dataset",
    type=click.Choice(["bach", "folk", "general", "airds", "triple", "compound", "airds-triple", "airds-compound"]),
    required=True,
    help="Corpus to build measures from (general: the default model's, 4/4, 2/2, 2/4; triple: 3/4; compound: 6/8 "
    "and 12/8; airds, airds-triple, airds-compound: the out-of-domain test set of each grid).",
)
@data_cache_option("--cache-dir", note="Prepare writes the dataset there.")
@click.option("--rebuild", is_flag=True, help="Build even if a cache exists, and replace it.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N pieces (quick runs).")
@click.option(
    "--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Parsing processes when building."
)
@progress_option
def prepare_cmd(dataset: str, cache_dir: Path, rebuild: bool, limit: int | None, workers: int, progress: bool) -> None:
    """Build the measure dataset of a music21 corpus, cache it, and print a summary."""
    from training.data import cache_key, load_dataset

    t0 = time.perf_counter()
    ds = None
    try:
        ds = load_dataset(
            dataset, cache_dir=cache_dir, rebuild=rebuild, limit=limit, workers=workers, progress=progress
        )
    except KeyboardInterrupt:
        pass  # reported below, once the traceback (and with it the progress bar, which then closes its line) is gone
    if ds is None:
        # The cache is written atomically once a build completes, so a stop leaves the old cache (or none) intact.
        click.echo(
            f"interrupted after {time.perf_counter() - t0:.0f} s: the {dataset} dataset was not built and nothing "
            f"was written to {cache_dir}; run the same command again to build it from the start",
            err=True,
        )
        sys.exit(130)
    elapsed = time.perf_counter() - t0
    path = cache_dir / f"{cache_key(dataset, ds.vocab, limit)}.npz"
    how = f"loaded from cache in {elapsed:.2f} s" if ds.summary.get("from_cache") else f"built in {elapsed:.1f} s"
    click.echo(f"{dataset}: {how}: {path}")
    rows = summary_rows(ds.summary)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label:<{width}}  {value}")
