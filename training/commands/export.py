"""`arvae-train export`: a training run -> the inference checkpoint the daemon serves, checked by reloading."""

from __future__ import annotations

from pathlib import Path

import click

from arvae_live.cli_base import data_cache_option, device_option, progress_option


@click.command("export")
@click.argument("src", type=click.Path(exists=True, path_type=Path), metavar="RUN_OR_CKPT")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Inference checkpoint to write (e.g. checkpoints/bach-arvae.pt).",
)
@click.option(
    "--allow-degenerate",
    is_flag=True,
    help="Write the model even when its self-check fails (silent or wrong decoding); the file records why.",
)
@device_option(note="The calibration runs there.")
@data_cache_option(note="Export reads the validation split from it.")
@progress_option
def export_cmd(src: Path, out: Path, allow_degenerate: bool, device: str, data_cache: Path, progress: bool) -> None:
    """Export RUN_OR_CKPT (a run directory or its last.pt) as an inference checkpoint, then reload and decode it.

    A model that fails the self-check is refused (exit 1, nothing written) unless --allow-degenerate is given.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    from training.export import export_checkpoint

    with logging_redirect_tqdm():  # log lines above the progress bars, not inside them
        summary = export_checkpoint(
            src, out, device=device, data_cache=data_cache, allow_degenerate=allow_degenerate, progress=progress
        )
    print_summary(summary)


def print_summary(summary) -> None:
    """Print an ExportSummary: the file, its attributes and calibration, metrics and the self-check decode."""
    click.echo(f"wrote {summary.path} (inference, from {summary.source}, step {summary.step})")
    click.echo("attributes:")
    for a in summary.attributes:
        dim = "not regularised" if a.latent_dim is None else f"z[{a.latent_dim}]"
        cal = f", calibrated on {len(a.calibration_z)} points" if a.calibration_z else ""
        click.echo(f"  {a.name:<22} {dim:<16} raw {a.low:.4g}..{a.high:.4g}{cal}")
    if summary.metrics:
        click.echo("metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(summary.metrics.items())))
    if summary.predictor_mae:
        errors = ", ".join(f"{k} {v:.3f}" for k, v in summary.predictor_mae.items())
        click.echo(f"attribute predictor, held-out error: {errors}")
    same = sum(a == b for a, b in zip(summary.check_input, summary.check_output))
    n_ticks = len(summary.check_input)
    click.echo(f"self-check: reloaded and decoded a fixed measure, {same}/{n_ticks} tokens as the input")
    click.echo("  input:  " + " ".join(map(str, summary.check_input)))
    click.echo("  output: " + " ".join(map(str, summary.check_output)))
    if summary.degenerate:
        click.echo(f"WARNING: DEGENERATE MODEL: {summary.degenerate}; written only because it was allowed", err=True)
