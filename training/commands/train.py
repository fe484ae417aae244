"""`arvae-train train`: train a preset (with `--set` overrides), on one process or under torchrun."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from arvae_live.cli_base import data_cache_option, device_option, progress_option


@click.command("train")
@click.option(
    "--preset",
    required=True,
    help="Preset name: bach-arvae, folk-arvae, bach-betavae, bach-glsr, "
    "bach-csvae, or tiny (synthetic data, tiny model).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config field, e.g. --set lr=3e-4 --set model.hidden_dim=256 (repeatable).",
)
@device_option(note="Under torchrun each process takes its local GPU.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Parent folder of run directories (runs/<preset>_<config hash>).",
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Continue from the run directory's last.pt when it exists.",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Stop (and save) after this many optimiser steps in total.",
)
@click.option(
    "--init-from",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Warm start: begin from this checkpoint's weights (same model config), e.g. to train a run longer.",
)
@click.option(
    "--smoke",
    is_flag=True,
    help="Train 2 steps, then export run_dir/model.pt and check it (CI); the 2-step model is exported although "
    "its self-check flags it degenerate.",
)
@data_cache_option()
@progress_option
def train_cmd(preset: str, overrides: tuple[str, ...], out: Path, smoke: bool, **options: Any) -> None:
    """Train a MeasureVAE with the objective of PRESET (AR-VAE, beta-VAE, GLSR-VAE or CSVAE).

    Launch with torchrun for data-parallel training, e.g.
    `torchrun --nproc_per_node 2 -m training train --preset bach-arvae`.
    """
    # `options` are the fields of training.train.RunOptions, one click option each: device, resume, max_steps,
    # init_from, data_cache, progress.
    from tqdm.contrib.logging import logging_redirect_tqdm

    from training.train import CHECKPOINT_NAME, EXPORT_NAME, resolve_config, run, run_dir_for

    if smoke:
        options["max_steps"] = 2
    cfg = resolve_config(preset, overrides)
    run_dir = run_dir_for(preset, cfg, out)
    is_main = int(os.environ.get("RANK", "0")) == 0
    try:
        with logging_redirect_tqdm():  # log lines above the progress bar, not inside it
            run(preset, overrides, out=out, **options)
    except KeyboardInterrupt:
        if is_main:
            click.echo(
                f"interrupted; state saved in {run_dir / CHECKPOINT_NAME}; run the same command to resume", err=True
            )
        sys.exit(130)
    if is_main:
        click.echo(f"trained: {run_dir / CHECKPOINT_NAME}")
    if smoke and is_main:
        from training.commands.export import print_summary
        from training.export import export_checkpoint

        with logging_redirect_tqdm():
            summary = export_checkpoint(run_dir, run_dir / EXPORT_NAME, device=options["device"],
                                        data_cache=options["data_cache"], allow_degenerate=True,
                                        progress=options["progress"])  # fmt: skip
        print_summary(summary)
