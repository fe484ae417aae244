"""DistilledEncoder: a small feed-forward net that gives a MeasureVAE's posterior (mu, logvar) in a fraction of the
time of its GRU encoder, for clips the live engine has not seen before.

Why it exists: a new clip must be encoded before anything is decoded, and the encoder is a two-layer bidirectional GRU
over every tick: 48 sequential steps of small matrix products, 4 to 10 ms for an 8-bar clip on our CPUs, as much as
the whole closed loop's budget. A measure is only `ticks` tokens, so a net that reads all of them at once can learn
the encoder's map: here the first layer is a table of one (hidden,) row per (tick, token) pair (one-hot input times a
weight matrix, written as a gather and a sum), then two SiLU layers. An 8-bar clip costs three small matrix products.

It is fitted after export (`arvae-train distill`, training/encoder_distill.py) to the GRU encoder's outputs on the
training split, and checked on held-out measures: how far its mu is from the encoder's, and how many decoded
tokens change when decoding from it instead (both stored with it in the checkpoint). The engine uses it when the
checkpoint has one (arvae_live/engine.py; `serve --encoder full` turns it off). It is optional: a checkpoint without
one encodes with the GRU, as before.

Shapes: tokens int64 (B, ticks), ids 0..vocab_size-1; outputs float (B, latent_dim) each, in latent units (the
prior is N(0, 1)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from arvae_live.errors import CheckpointError


@dataclass(frozen=True)
class DistilledEncoderConfig:
    """Shapes of a DistilledEncoder; ticks and vocab_size are the model's (its grid and vocabulary)."""

    ticks: int
    vocab_size: int
    latent_dim: int
    hidden_dim: int = 768

    def __post_init__(self) -> None:
        if min(self.ticks, self.vocab_size, self.latent_dim, self.hidden_dim) < 1:
            raise CheckpointError(f"bad distilled encoder config {self}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DistilledEncoderConfig:
        return cls(**{k: int(d[k]) for k in ("ticks", "vocab_size", "latent_dim", "hidden_dim")})


class DistilledEncoder(nn.Module):
    """tokens (B, ticks) -> (mu, logvar), each (B, latent_dim). Table-sum, SiLU, Linear, SiLU, Linear."""

    def __init__(self, config: DistilledEncoderConfig) -> None:
        super().__init__()
        self.config = c = config
        # Row t * vocab_size + v: what "token v at tick t" adds to the first hidden layer (a one-hot input layer).
        self.table = nn.Embedding(c.ticks * c.vocab_size, c.hidden_dim)
        nn.init.normal_(self.table.weight, std=c.ticks**-0.5)  # the sum over ticks starts at unit scale
        self.bias = nn.Parameter(torch.zeros(c.hidden_dim))
        self.hidden = nn.Linear(c.hidden_dim, c.hidden_dim)
        self.out = nn.Linear(c.hidden_dim, 2 * c.latent_dim)
        self.register_buffer("offsets", torch.arange(c.ticks) * c.vocab_size, persistent=False)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = nn.functional.silu(self.table(tokens + self.offsets).sum(dim=1) + self.bias)
        mu, logvar = self.out(nn.functional.silu(self.hidden(h))).chunk(2, dim=1)
        return mu, logvar
