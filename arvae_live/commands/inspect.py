"""`arvae-live inspect CKPT`: print a checkpoint's header without building the model."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("inspect")
@click.argument("ckpt", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole header as JSON.")
def inspect_cmd(ckpt: Path, as_json: bool) -> None:
    """Print the header of checkpoint CKPT: model config, attributes, metrics, provenance."""
    from arvae_live.core.checkpoint import read_header

    header = read_header(ckpt)
    if as_json:
        click.echo(json.dumps(header, indent=2))
        return
    cfg = header["model_config"]
    click.echo(f"{ckpt}: {header['format']} v{header['format_version']}, {header['kind']} checkpoint")
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
    if header["metrics"]:
        click.echo("metrics:")
        for k, v in sorted(header["metrics"].items()):
            click.echo(f"  {k:<32} {v:.4f}")
    prov = header["provenance"]
    if prov:
        keys = ("preset", "config_hash", "step", "epoch", "arvae_version", "torch_version", "created_utc", "device")
        click.echo("provenance: " + ", ".join(f"{k}={prov[k]}" for k in keys if k in prov))
