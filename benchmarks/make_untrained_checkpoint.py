"""Write an UNTRAINED checkpoint of a given size, for latency benchmarks before a trained model exists.

The weights are random (seeded), the attributes sit on z0..z3 with a linear calibration over the formula ranges. Its
musical output is noise; its speed is that of a trained model of the same size, which is all it is for.

    python benchmarks/make_untrained_checkpoint.py /tmp/paper-untrained.pt --hidden 128 --latent 32
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, get_attribute
from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.representation import Vocabulary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    vocab = Vocabulary()
    cfg = ModelConfig(vocab_size=vocab.size, hidden_dim=args.hidden, latent_dim=args.latent, n_layers=args.layers)
    torch.manual_seed(args.seed)
    model = MeasureVAE(cfg).eval()
    specs = []
    for dim, name in enumerate(PAPER_ATTRIBUTES):
        a = get_attribute(name)
        grid = tuple(np.linspace(-3, 3, 7))
        specs.append(AttributeSpec(name, dim, a.raw_low, a.raw_high, grid, tuple(np.linspace(a.raw_low, a.raw_high, 7))))
    ckpt = Checkpoint("inference", cfg, specs, vocab, model.state_dict(), provenance={"preset": "untrained-benchmark"})
    print(save_checkpoint(ckpt, args.out))


if __name__ == "__main__":
    main()
