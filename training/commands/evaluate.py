"""`arvae-train evaluate CKPT`: the paper's metrics on held-out measures, as a table or JSON, plus traversal plots."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from arvae_live.cli_base import data_cache_option, device_option, progress_option, seed_option

# Metrics shown per attribute, in table order: (key prefix, column label).
_PER_ATTRIBUTE = (
    ("interpretability", "interpretability (R^2)"),
    ("interpretability_dim", "  chosen dim"),
    ("mig", "MIG gap"),
    ("sap", "SAP gap"),
    ("scc", "SCC |rho|"),
    ("spearman", "Spearman rho, own dim"),
)
_OVERALL = (
    "interpretability",
    "mig",
    "sap",
    "scc",
    "modularity",
    "modularity_mean",
    "modularity_sd",
    "recon_acc",
    "note_acc",
    "recon_ce",
    "recon_acc_mean",
    "note_acc_mean",
    "n_novel",
    "recon_acc_novel",
    "note_acc_novel",
    "ood.n_measures",
    "ood.recon_acc",
    "ood.note_acc",
    "ood.recon_acc_mean",
    "ood.note_acc_mean",
    "ood.interpretability",
)


def format_table(metrics: dict[str, float], names: list[str]) -> str:
    """The metrics as a fixed-width table: overall scores, then one column per attribute."""
    lines = [f"{key:<24} {metrics[key]:.4f}" for key in _OVERALL if key in metrics]
    width = max(12, *(len(n) for n in names))
    lines.append("")
    lines.append(f"{'per attribute':<24} " + " ".join(f"{n:>{width}}" for n in names))
    for prefix, label in _PER_ATTRIBUTE:
        cells = []
        for n in names:
            v = metrics.get(f"{prefix}.{n}")
            cells.append(f"{'-':>{width}}" if v is None else f"{v:>{width}.{0 if prefix.endswith('dim') else 4}f}")
        lines.append(f"{label:<24} " + " ".join(cells))
    return "\n".join(lines)


@click.command("evaluate")
@click.argument("ckpt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@click.option(
    "--dataset",
    default=None,
    metavar="NAME|FILE.npy",
    help="bach, folk, general, airds (4/4 models), triple, airds-triple (3/4), compound, airds-compound (6/8, 12/8), "
    "synthetic, or a .npy file of (N, ticks) token ids (24, or 18 for 3/4); default: the checkpoint's "
    "training dataset.",
)
@click.option(
    "--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True, help="Dataset split."
)
@click.option(
    "--plot-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a latent-traversal PNG per regularised attribute into this folder.",
)
@seed_option("z sampling, subset and MI estimator")
@click.option(
    "--max-measures",
    type=click.IntRange(4),
    default=201 * 256,
    show_default=True,
    help="Evaluate a seeded random subset of at most this many measures (the paper's cap).",
)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True, help="Measures per pass.")
@click.option(
    "--ood",
    is_flag=True,
    help="Also score the out-of-domain collection (Aird's Airs, in no training set, in the model's meters: airds, "
    "airds-triple or airds-compound): ood.* accuracies.",
)
@click.option(
    "--z-draws",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Posterior draws of z for modularity's mean and sd (modularity alone is the first draw's).",
)
@click.option(
    "--embed",
    is_flag=True,
    help="Write the figures into CKPT (metrics eval.*, provenance.evaluation with this command), so that "
    "`arvae-live inspect` shows them; the file is rewritten atomically. For a checkpoint you ship.",
)
@device_option()
@data_cache_option()
@progress_option
def evaluate_cmd(
    ckpt: Path,
    as_json: bool,
    dataset: str | None,
    split: str,
    max_measures: int,
    data_cache: Path,
    device: str,
    embed: bool,
    **options: Any,
) -> None:
    """Evaluate checkpoint CKPT on held-out measures: interpretability, MIG, SAP, SCC, modularity and accuracies."""
    # `options` are evaluate_checkpoint's keyword arguments, one click option each: seed, batch_size, plot_dir,
    # progress; and HeldOutData's ood and z_draws.
    from arvae_live.core.device import resolve_device
    from training.evaluation import HeldOutData, embed_evaluation, evaluate_checkpoint

    device = resolve_device(device).type  # ConfigError (one line, exit 1) when cuda is asked for and absent
    data = HeldOutData(dataset, split, data_cache, max_measures, options.pop("ood"), options.pop("z_draws"))
    result = evaluate_checkpoint(ckpt, data, device=device, **options)
    if embed:
        # The command that reproduces these figures, from the options that decide them (not the display flags).
        parts = ["arvae-train", "evaluate", str(ckpt), "--split", split, "--seed", str(result.seed)]
        parts += ["--max-measures", str(max_measures), "--z-draws", str(data.z_draws)]
        parts += ["--dataset", dataset] if dataset else []
        parts += ["--ood"] if data.ood else []
        keys = embed_evaluation(ckpt, result, " ".join(map(shlex.quote, parts)))
        click.echo(f"embedded {len(keys)} figures in {ckpt} (metrics eval.*)", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        return
    names = [k.split(".", 1)[1] for k in result.metrics if k.startswith("interpretability.")]
    n = int(result.metrics["n_measures"])
    click.echo(f"{ckpt}: {n} measures of {result.dataset} ({result.split}), seed {result.seed}, {device}")
    click.echo(format_table(result.metrics, names))
    for p in result.plots:
        click.echo(f"wrote {p}")
