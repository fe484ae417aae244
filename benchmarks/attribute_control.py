"""How well the engine hits attribute targets on held-out measures: open loop (the paper's latent move) vs closed loop.

For each attribute, 8-bar clips of held-out measures are regenerated with that attribute targeted per measure, the
other attributes aiming at the input's own values. Two kinds of target (--targets):
  uniform  values spread evenly over 0..1 (the model's range), a different one per bar;
  data     the attribute values of other held-out bars, drawn at random: values a real bar can have.
An attribute is a count at heart (onsets, semitones), so it takes only a few values per bar: note density in Bach
moves in steps of 1/24 over about 8 values of its range, so even a perfect controller misses a uniform target by a
quarter step (~0.036) on average. The report prints that floor (mean distance from each target to the nearest value
that occurs in the held-out data) beside the errors. Reported per attribute: mean |achieved - target|
(normalised), open and closed loop, the floor, and the drift of the other attributes.
Input survival: the clips regenerated with every target equal to the input's own value (nothing asked to change);
the fraction of tokens equal to the input.

    python benchmarks/attribute_control.py checkpoints/bach-arvae.pt --dataset bach --clips 64
    python benchmarks/attribute_control.py /tmp/tiny.pt --dataset synthetic --clips 32
        (a model of the synthetic data: arvae-train train --preset tiny, then
        arvae-train export runs/tiny_<hash> -o /tmp/tiny.pt)

--dataset bach|folk reads the held-out (test) split through training.data (benchmarks/ may import training/);
synthetic draws the trainer's random melodies (training.synthetic) with a seed no split uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from arvae_live.engine import LiveModel


def held_out_measures(dataset: str, lm: LiveModel, split: str) -> np.ndarray:
    if dataset == "synthetic":
        from training.synthetic import random_measures

        return random_measures(4096, 123, lm.vocab)
    from training.data import load_dataset

    return load_dataset(dataset, vocab=lm.vocab).split_tokens(split)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ckpt")
    ap.add_argument("--dataset", default="bach", choices=["bach", "folk", "synthetic"])
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--clips", type=int, default=64, help="8-bar clips per attribute")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--budget-ms",
        type=float,
        default=None,
        help="engine time budget per request, as the daemon's --budget-ms (default: none)",
    )
    ap.add_argument("--targets", default="uniform", choices=["uniform", "data"], help="how targets are drawn")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lm = LiveModel.from_checkpoint(args.ckpt)
    measures = held_out_measures(args.dataset, lm, args.split)
    # Bars that are not all rest: an empty bar has no attribute to move.
    measures = measures[(measures >= 2).any(axis=1)]
    rng = np.random.default_rng(0)
    M = 8
    n_clips = min(args.clips, len(measures) // M)
    starts = rng.choice(len(measures) - M, size=n_clips, replace=False)
    clips = [measures[s : s + M] for s in starts]
    names = [a.name for a in lm.attributes if a.latent_dim is not None]
    report: dict = {"ckpt": args.ckpt, "dataset": args.dataset, "n_clips": n_clips, "targets": args.targets,
                    "budget_ms": args.budget_ms, "attributes": {}}  # fmt: skip
    held_out = lm.measure_attributes(measures)  # normalised values of every held-out bar

    print(f"{lm.model_id}: {n_clips} clips x {M} bars of held-out {args.dataset} measures per attribute, "
          f"{args.targets} targets, budget {args.budget_ms or 'none'} ms")  # fmt: skip
    print(f"{'attribute':<22} {'open |err|':>10} {'closed |err|':>12} {'floor':>7} {'closed drift':>12} "
          f"{'decoded/bar':>11}")  # fmt: skip
    for name in names:
        errs = {True: [], False: []}
        drift, decoded, floor = [], [], []
        levels = np.unique(held_out[name])
        for i, clip in enumerate(tqdm(clips, desc=name, leave=False)):
            if args.targets == "uniform":  # spread evenly over 0..1, a different one per bar, shuffled per clip
                target = (np.arange(M) + rng.uniform(size=M)) / M
                rng.shuffle(target)
            else:
                target = rng.choice(held_out[name], size=M)
            floor.append(np.abs(target[:, None] - levels[None, :]).min(axis=1))
            for closed in (False, True):
                res = lm.regenerate(clip, {name: target}, closed_loop=closed, seed=i, budget_ms=args.budget_ms)
                errs[closed].append(np.abs(res.achieved[name][0] - target))
                if closed:
                    decoded.append(res.n_decoded / M)
                    others = [np.abs(res.achieved[o][0] - res.asked[o]) for o in lm.attribute_names if o != name]
                    drift.append(np.mean(others))
        o, c = float(np.mean(errs[False])), float(np.mean(errs[True]))
        f = float(np.mean(floor))
        report["attributes"][name] = {"open_mae": o, "closed_mae": c, "floor": f,
                                      "closed_drift_others": float(np.mean(drift)),
                                      "decoded_per_bar": float(np.mean(decoded))}  # fmt: skip
        print(f"{name:<22} {o:>10.4f} {c:>12.4f} {f:>7.4f} {np.mean(drift):>12.4f} {np.mean(decoded):>11.1f}")

    survival = {}
    for closed in (False, True):
        agree = []
        for i, clip in enumerate(clips):
            res = lm.regenerate(clip, {}, closed_loop=closed, seed=i, budget_ms=args.budget_ms)  # all aim at the input
            agree.append((res.tokens[0] == clip).mean())
        survival["closed" if closed else "open"] = float(np.mean(agree))
    report["input_survival"] = survival
    print(f"input survival (token agreement, targets = input values): open {survival['open']:.3f}, "
          f"closed {survival['closed']:.3f}")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
