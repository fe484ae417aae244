"""`arvae-live inspect [ID|PATH]`: check a checkpoint as `serve` would, then print its header."""

from __future__ import annotations

import json

import click

EXAMPLES = """\b
Examples:
  arvae-live inspect                       # the default model (general-arvae)
  arvae-live inspect folk-arvae            # a model id, as --model takes it elsewhere
  arvae-live inspect runs/x/model.pt --json
"""


@click.command("inspect", epilog=EXAMPLES)
@click.argument("model", metavar="[ID|PATH]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the whole header as JSON.")
def inspect_cmd(model: str | None, as_json: bool) -> None:
    """Check checkpoint ID|PATH the way `serve` does when it loads it (sizes, latent dims, weight shapes, finite
    weights), then print its header: model config, attributes, metrics, provenance. A model id is a checkpoint's
    file stem in checkpoints/ or $ARVAE_CHECKPOINTS; without one, the default model. Exits 1 with one line saying
    what is wrong when `serve` would refuse the file."""
    from arvae_live.model_store import resolve_model

    path = resolve_model(model)  # an unknown id or a missing file fails here, before torch is imported

    from arvae_live.core.checkpoint import load_checkpoint

    header = load_checkpoint(path).info()  # the same checks LiveModel.from_checkpoint makes
    if as_json:
        click.echo(json.dumps(header, indent=2))
        return
    cfg = header["model_config"]
    click.echo(f"{path}: {header['format']} v{header['format_version']}, {header['kind']} checkpoint, loads in serve")
    click.echo("model: " + ", ".join(f"{k}={v}" for k, v in cfg.items()))
    voc = header["vocabulary"]
    click.echo(f"vocabulary: {len(voc['tokens'])} tokens, pitches {voc['pitch_low']}..{voc['pitch_high']}")
    click.echo("attributes:")
    for a in header["attributes"]:
        dim = "not regularised" if a["latent_dim"] is None else f"z[{a['latent_dim']}]"
        cal = f", calibrated on {len(a['calibration_z'])} points" if a["calibration_z"] else ""
        click.echo(f"  {a['name']:<22} {dim:<16} raw {a['low']:.4g}..{a['high']:.4g}{cal}")
    pred = header.get("attribute_predictor")
    if pred:
        click.echo(f"attribute predictor: {pred['hidden_dim']} hidden units (the closed loop's first guess)")
    else:
        click.echo("attribute predictor: none (the closed loop starts from the calibration tables)")
    dist = header.get("distilled_encoder")
    if dist:
        figures = ""
        if "decode_agreement" in dist:
            figures = (
                f"; on {int(dist['n_check'])} validation measures {100 * dist['decode_agreement']:.1f} % of tokens "
                f"decode as from the GRU encoder, token accuracy {100 * dist['recon_acc']:.1f} % "
                f"(GRU {100 * dist['recon_acc_full']:.1f} %)"
            )
        click.echo(f"distilled encoder: {dist['hidden_dim']} hidden units (encodes new clips in the daemon{figures})")
    else:
        click.echo("distilled encoder: none (new clips are encoded by the GRU encoder; `arvae-train distill` adds one)")
    metrics = header["metrics"]
    trained = {k: v for k, v in metrics.items() if not k.startswith("eval.")}
    evaluated = {k: v for k, v in metrics.items() if k.startswith("eval.")}
    if trained:
        # What training recorded: validation figures at its last epoch.
        click.echo("metrics (validation split, recorded by training):")
        for k, v in sorted(trained.items()):
            click.echo(f"  {k:<32} {v:.4f}")
    evaluation = header["provenance"].get("evaluation")
    if evaluated and evaluation:
        # What `arvae-train evaluate --embed` wrote: the figures the README and checkpoints/README.md quote.
        click.echo(f"evaluation ({evaluation['split']} split of {evaluation['dataset']}, seed {evaluation['seed']}):")
        click.echo(f"  by: {evaluation['command']}")
        for k, v in sorted(evaluated.items()):
            click.echo(f"  {k.removeprefix('eval.'):<32} {v:.4f}")
    else:
        click.echo("evaluation: none embedded (figures on the test split: arvae-train evaluate CKPT --embed)")
    prov = header["provenance"]
    if prov:
        keys = ("preset", "config_hash", "step", "epoch", "arvae_version", "torch_version", "created_utc", "device")
        click.echo("provenance: " + ", ".join(f"{k}={prov[k]}" for k in keys if k in prov))
        if prov.get("degenerate"):  # exported with --allow-degenerate: its self-check failed
            click.echo(f"WARNING: degenerate model (exported with --allow-degenerate): {prov['degenerate']}")
