"""Train a quick AR-VAE on synthetic melodies, for daemon benchmarks before the real Bach model exists.

NOT the product's trainer (that is `arvae-train`): a short, self-contained AR-VAE run (reconstruction + beta KL +
the paper's attribute-regularisation term on z0..z3) on random stepwise melodies with mixed 16th/8th/triplet/quarter
rhythms, then a calibration table per attribute (latent value -> mean attribute of decoded measures). Its purpose is
a model whose outputs look like melodies (a few notes per bar, attributes that follow their latent dims), so that
latency and closed-loop figures are not those of random weights, which emit a note on every tick and ignore the
dims. Measure the real model with the same commands once it exists.

    python benchmarks/train_quick_model.py /tmp/quick-arvae.pt --steps 600
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, compute_attributes
from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.representation import Note, Vocabulary, notes_to_tokens, ticks_to_beats

# Beat rhythms, in ticks of 6 per beat: onsets within the beat.
BEAT_PATTERNS = [(0,), (0,), (0, 3), (0, 3), (0, 1, 3, 5), (0, 2, 4), (0, 3, 5), (3,), (0, 5), (2, 4)]


def synthetic_measures(n: int, vocab: Vocabulary, rng: np.random.Generator) -> np.ndarray:
    """n random one-bar melodies (n, 24): a rhythm per beat, pitches a random walk with a random step size."""
    out = np.empty((n, 24), dtype=np.int64)
    for i in range(n):
        notes_on = []
        for beat in range(4):
            pattern = BEAT_PATTERNS[rng.integers(len(BEAT_PATTERNS))] if rng.random() > 0.08 else ()
            notes_on += [beat * 6 + t for t in pattern]
        pitch = int(rng.integers(60, 80))
        step = int(rng.choice([1, 2, 3, 5]))
        direction = rng.choice([-1, 1])
        notes = []
        for k, onset in enumerate(notes_on):
            end = notes_on[k + 1] if k + 1 < len(notes_on) else 24
            start = float(ticks_to_beats(onset))
            notes.append(Note(pitch, start, float(ticks_to_beats(end)) - start))
            if rng.random() < 0.3:
                direction = -direction
            pitch = int(np.clip(pitch + direction * rng.integers(0, step + 1), 55, 84))
        out[i], _ = notes_to_tokens(notes, 1, vocab)
    return out


def ar_loss(z: torch.Tensor, attr: torch.Tensor, delta: float = 10.0) -> torch.Tensor:
    """The AR-VAE regulariser for one dim: MAE between tanh(delta * pairwise z differences) and the sign of the
    pairwise attribute differences (Pati & Lerch 2020, eq. 3)."""
    dz = z[:, None] - z[None, :]
    da = attr[:, None] - attr[None, :]
    return F.l1_loss(torch.tanh(delta * dz), torch.sign(da))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocab = Vocabulary()
    cfg = ModelConfig(vocab_size=vocab.size, hidden_dim=args.hidden, latent_dim=args.latent, dropout=0.0)
    model = MeasureVAE(cfg)
    data = synthetic_measures(20000, vocab, rng)
    raw = compute_attributes(data, PAPER_ATTRIBUTES)
    attrs = torch.tensor(np.stack([raw[n] for n in PAPER_ATTRIBUTES], 1), dtype=torch.float32)
    tokens = torch.from_numpy(data)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.time()
    for step in tqdm(range(args.steps), desc="training"):
        idx = torch.from_numpy(rng.integers(0, len(data), args.batch))
        logits, mu, logvar, z = model(tokens[idx])
        recon = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), tokens[idx].reshape(-1))
        kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        reg = sum(ar_loss(z[:, d], attrs[idx, d]) for d in range(4))
        loss = recon + 0.001 * kl + 1.0 * reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            tqdm.write(f"step {step}: recon {recon.item():.3f} kl {kl.item():.2f} reg {reg.item():.3f}")
    model.eval()
    # Calibration: decode the posterior means of held-out measures with one dim swept, average the attribute.
    held = torch.from_numpy(synthetic_measures(256, vocab, np.random.default_rng(1)))
    grid = np.linspace(-4, 4, 17)
    specs = []
    with torch.inference_mode():
        mu, _ = model.encode(held)
        for d, name in enumerate(PAPER_ATTRIBUTES):
            means = []
            for g in grid:
                zz = mu.clone()
                zz[:, d] = float(g)
                out, _ = model.decode_free(zz)
                means.append(float(compute_attributes(out.numpy(), [name])[name].mean()))
            cal = np.maximum.accumulate(np.array(means))  # monotone, as latent_for needs
            cal = cal + np.arange(len(cal)) * 1e-6  # strictly increasing for np.interp's inverse
            lo, hi = float(np.percentile(raw[name], 1)), float(np.percentile(raw[name], 99))
            specs.append(AttributeSpec(name, d, lo, hi if hi > lo else lo + 1e-3, tuple(grid), tuple(cal)))
            tqdm.write(f"{name}: calibration {np.round(cal, 3).tolist()} range {lo:.3f}..{hi:.3f}")
    ckpt = Checkpoint(
        "inference", cfg, specs, vocab, model.state_dict(),
        provenance={"preset": "quick-synthetic-benchmark", "steps": args.steps, "train_sec": time.time() - t0},
    )  # fmt: skip
    print(save_checkpoint(ckpt, args.out))


if __name__ == "__main__":
    main()
