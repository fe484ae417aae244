"""How long `arvae-train evaluate` takes: model passes (encode, sample, free-running decode) and the metrics apart.

Uses the paper-sized MeasureVAE (untrained weights: speed does not depend on them) and random token ids, so it needs
no checkpoint or corpus. The metrics part is dominated by sklearn's kNN mutual information (N log N per latent dim).

    python -m benchmarks.evaluate_speed --n 4096 --device cpu   (from the repository root)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from arvae_live.core.attributes import compute_attributes
from arvae_live.core.model import MeasureVAE, ModelConfig
from training import metrics as M


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096, help="held-out measures")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MeasureVAE(ModelConfig())  # paper sizes: hidden 128, latent 32
    # Random token ids: not music, but the passes and the estimators cost the same on them.
    tokens = np.random.default_rng(0).integers(0, ModelConfig().vocab_size, (args.n, 24))

    M.reconstruct(model, tokens[: args.batch_size], batch_size=args.batch_size, device=args.device)  # warm-up
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    z = M.reconstruct(model, tokens, batch_size=args.batch_size, device=args.device).z
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t_model = time.perf_counter() - t0

    attrs = np.stack(list(compute_attributes(tokens).values()), axis=1)
    t0 = time.perf_counter()
    mi = M.mutual_info_matrix(z, attrs)
    M.interpretability(z, attrs, mi=mi), M.mig(z, attrs, mi=mi), M.modularity(z, attrs, mi=mi)
    M.sap(z, attrs), M.scc(z, attrs)
    t_metrics = time.perf_counter() - t0

    print(f"device {args.device}, torch threads {args.threads}, N={args.n}, batch {args.batch_size}")
    print(f"model passes : {t_model:7.2f} s  ({args.n / t_model:8.0f} measures/s)")
    print(f"metrics      : {t_metrics:7.2f} s  (MI matrix {z.shape[1]}x{attrs.shape[1]}, SAP, SCC)")


if __name__ == "__main__":
    main()
