"""`arvae-train distill CKPT`: fit a distilled encoder for a checkpoint and write it into the file."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from arvae_live.cli_base import data_cache_option, device_option, progress_option, seed_option


@click.command("distill")
@click.argument("ckpt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--steps",
    type=click.IntRange(1),
    default=None,
    help="Adam steps (default: about 45 passes over the pairs, 200 to 10,000).",
)
@click.option("--hidden", type=click.IntRange(8, 8192), default=768, show_default=True, help="Hidden units.")
@seed_option("transpositions, initialisation, batches")
@device_option()
@data_cache_option()
@progress_option
def distill_cmd(
    ckpt: Path, steps: int | None, hidden: int, seed: int, device: str, data_cache: Path, progress: bool
) -> None:
    """Fit a feed-forward copy of CKPT's encoder (arvae_live/core/distilled_encoder.py) on the training split of the
    dataset CKPT was trained on, check it on the validation split, and write it into CKPT (atomically: the file
    stays whole or as it was). The daemon then encodes new clips with it; `serve --encoder full` does not.
    About 5 minutes on one CPU core for the general model."""
    from training.encoder_distill import distill_checkpoint

    parts = ["arvae-train", "distill", str(ckpt), "--hidden", str(hidden), "--seed", str(seed)]
    parts += ["--steps", str(steps)] if steps is not None else []
    fit = distill_checkpoint(
        ckpt,
        " ".join(map(shlex.quote, parts)),
        device=device,
        data_cache=data_cache,
        progress=progress,
        hidden_dim=hidden,
        steps=steps,
        seed=seed,
    )
    h = fit.heldout
    click.echo(
        f"{ckpt}: distilled encoder written ({int(h['n_pairs'])} training measures); on {int(h['n_check'])} "
        f"validation measures: mu RMSE {h['mu_rmse']:.3f}, decoded tokens the same as from the GRU encoder "
        f"{100 * h['decode_agreement']:.1f} %, token accuracy {100 * h['recon_acc']:.1f} % "
        f"(GRU encoder {100 * h['recon_acc_full']:.1f} %)"
    )
