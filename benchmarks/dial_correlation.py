"""Do a model's dials move together? Spearman correlation of every pair of its attributes, in the data and in what
the model puts out, over the test split of the model's own dataset.

"Output" is what a performer hears with every dial free: each test measure encoded, decoded from the posterior mean
(argmax). A pair that correlates strongly in the output cannot be told apart by ear, whatever the latent space does;
issue #17 asks that no pair of the default model's dials exceed 0.7.

    python benchmarks/dial_correlation.py --model checkpoints/general-arvae.pt
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from arvae_live.core.attributes import compute_attributes
from arvae_live.core.batched import decode_batched, encode_batched
from arvae_live.core.checkpoint import load_checkpoint


def pair_correlations(tokens: np.ndarray, names: list[str], grid) -> dict[str, float]:
    """{"a ~ b": Spearman rho} of every pair of the named attributes over (N, ticks) tokens."""
    values = compute_attributes(tokens, names, grid)
    out = {}
    for a, b in combinations(names, 2):
        rho = spearmanr(values[a], values[b]).statistic
        out[f"{a} ~ {b}"] = float(rho) if np.isfinite(rho) else 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="checkpoints/general-arvae.pt", help="inference checkpoint")
    ap.add_argument("--split", default="test", choices=("train", "val", "test"))
    ap.add_argument("--data-cache", type=Path, default=Path("data_cache"))
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    from training.data import load_dataset

    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.model)
    model = ckpt.build_model().eval()
    dataset = ckpt.provenance["train_config"]["dataset"]
    ds = load_dataset(dataset, cache_dir=args.data_cache, vocab=ckpt.vocabulary, progress=False)
    tokens = ds.split_tokens(args.split)
    names = [a.name for a in ckpt.attributes if a.latent_dim is not None]
    decoded = decode_batched(model, encode_batched(model, tokens).mu).tokens
    data, output = pair_correlations(tokens, names, model.grid), pair_correlations(decoded, names, model.grid)
    print(f"{args.model}: {len(tokens)} {args.split} measures of {dataset}; Spearman rho of each dial pair")
    print(f"{'pair':<34} {'data':>7} {'output':>7}")
    for pair in data:
        flag = "  > 0.7" if abs(output[pair]) > 0.7 else ""
        print(f"{pair:<34} {data[pair]:>7.3f} {output[pair]:>7.3f}{flag}")
    worst = max(output, key=lambda p: abs(output[p]))
    print(f"largest |rho| in the output: {worst} {output[worst]:.3f}")
    if args.out:
        report = {"model": args.model, "dataset": dataset, "split": args.split, "n": len(tokens)}
        args.out.write_text(json.dumps(report | {"data": data, "output": output}, indent=2))


if __name__ == "__main__":
    main()
