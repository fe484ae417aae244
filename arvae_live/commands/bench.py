"""`arvae-live bench`: round-trip latency of the daemon over loopback, beside the engine time of the same work
(the measurement itself is arvae_live/bench.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from arvae_live.cli_base import (
    budget_option,
    device_option,
    encoder_option,
    model_option,
    progress_option,
    threads_option,
)

EXAMPLES = """\b
Examples:
  arvae-live bench --requests 300                  # starts its own daemon per variation count
  arvae-live bench --model folk-arvae --variations 1 --out bench.json
  arvae-live serve --port 9200 &  arvae-live bench --port 9200 --open-loop
"""


@click.command("bench", epilog=EXAMPLES)
@model_option(without="the default model (checkpoints/general-arvae.pt)")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Use a daemon already running on this port.")
@click.option("--requests", "n_requests", type=click.IntRange(1, 100000), default=200, show_default=True)
@click.option("--warmup", type=click.IntRange(0, 10000), default=20, show_default=True, help="Untimed requests first.")
@click.option("--variations", type=click.IntRange(1, 16), multiple=True, default=(1, 4), show_default=True)
@device_option("cpu")
@threads_option
@budget_option(note="For the daemon started here and the engine timing.")
@encoder_option(note="For the daemon started here and the engine timing.")
@click.option("--open-loop", is_flag=True, help="Time open-loop targeting (the paper's) instead of closed loop.")
@click.option("--vary-clip", is_flag=True, help="Upload a new clip before every request, every bar new (all encoded).")
@click.option(
    "--edit-clip", is_flag=True, help="Upload the clip with one note moved before every request (one bar encoded)."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the figures as JSON.")
@progress_option
def bench_cmd(model: str | None, out: Path | None, **options) -> None:
    """Measure /arvae/regen round-trip latency (p50/p95/p99) and the engine time of the same work. With --port, the
    daemon there must answer within 2 s, or bench stops with one line."""
    from arvae_live.bench import BenchSettings, run_bench
    from arvae_live.model_store import resolve_model

    if out is not None and not out.parent.is_dir():  # found now, not after minutes of measuring
        raise click.BadParameter(f"folder {out.parent} does not exist", param_hint="--out")

    settings = BenchSettings(model=resolve_model(model), **options)
    settings.check()  # before torch is imported: an impossible combination fails at once
    results = run_bench(settings, report=click.echo)
    if out is not None:
        from arvae_live.core.atomic import write_atomic

        write_atomic(out, json.dumps(results, indent=2).encode())
