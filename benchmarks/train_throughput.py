"""Training throughput: samples/s of full optimiser steps (forward, loss, backward, Adam) at the paper's sizes.

Runs the same per-step code as `arvae-train train` (training.train.loss_terms) on synthetic measures, on CPU and,
when torch sees one, on CUDA (with the bf16 autocast that `amp=True` turns on there, and without).

    python benchmarks/train_throughput.py                      # bach-arvae sizes, batch 256, CPU (+ CUDA)
    python benchmarks/train_throughput.py --objective glsr --steps 5 --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch

from arvae_live.core.model import MeasureVAE
from training import losses
from training.configs import PRESETS
from training.synthetic import random_measures
from training.train import Batch, attribute_matrix, loss_terms

PRESET_OF = {"arvae": "bach-arvae", "betavae": "bach-betavae", "glsr": "bach-glsr", "csvae": "bach-csvae"}


def measure(objective: str, device: torch.device, steps: int, warmup: int, amp: bool) -> tuple[float, float]:
    """(median, best) samples/s over `steps` timed optimiser steps after `warmup` untimed ones."""
    cfg = PRESETS[PRESET_OF[objective]]
    torch.manual_seed(0)
    tokens = random_measures(cfg.batch_size * 4, seed=0)
    attrs = attribute_matrix(tokens, cfg.attributes)
    reg_cols = [cfg.attributes.index(a) for a, _ in cfg.regularized]
    scales = [float(attrs[:, c].max() - attrs[:, c].min()) for c in reg_cols]
    model = MeasureVAE(cfg.model).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    adversary = None
    labels_all = None
    if objective == "csvae":
        n_rest = cfg.model.latent_dim - len(reg_cols)
        adversary = losses.Adversary(n_rest, len(reg_cols), cfg.csvae.adversary_hidden).to(device)
        labels_all = torch.from_numpy((attrs[:, reg_cols] > 0.1).astype("float32"))
    x_all = torch.from_numpy(tokens)
    a_all = torch.from_numpy(attrs[:, reg_cols])
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else contextlib.nullcontext
    rates = []
    for i in range(warmup + steps):
        sl = slice((i % 4) * cfg.batch_size, (i % 4 + 1) * cfg.batch_size)
        x, a = x_all[sl].to(device), a_all[sl].to(device)
        y = labels_all[sl].to(device) if labels_all is not None else None
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with autocast():
            terms, _ = loss_terms(cfg, model, Batch(x, a, y), i, scales, adversary)
        opt.zero_grad(set_to_none=True)
        sum(terms.values()).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            rates.append(cfg.batch_size / (time.perf_counter() - t0))
    return statistics.median(rates), max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", choices=sorted(PRESET_OF), default="arvae", help="objective (paper sizes)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per device")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads for torch")
    parser.add_argument("--cpu-only", action="store_true", help="skip CUDA even when available")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = PRESETS[PRESET_OF[args.objective]]
    n_params = sum(p.numel() for p in MeasureVAE(cfg.model).parameters())
    print(f"{PRESET_OF[args.objective]}: {n_params:,} parameters, batch {cfg.batch_size}, torch {torch.__version__}")
    runs = [(torch.device("cpu"), False, f"cpu ({args.threads} threads)")]
    if torch.cuda.is_available() and not args.cpu_only:
        name = torch.cuda.get_device_name(0)
        runs += [
            (torch.device("cuda"), False, f"cuda fp32 ({name})"),
            (torch.device("cuda"), True, f"cuda bf16 ({name})"),
        ]
    for device, amp, label in runs:
        median, best = measure(args.objective, device, args.steps, args.warmup, amp)
        print(f"  {label:<40} {median:>9,.0f} samples/s median  ({best:,.0f} best, {args.steps} steps)")


if __name__ == "__main__":
    main()
