"""The whole MeasureVAE in one file: ModelConfig and the model (Pati & Lerch 2020, after InpaintNet's MeasureVAE).

Encoder: token embedding -> 2-layer bidirectional GRU -> the final hidden states of every layer and direction,
concatenated -> two MLP heads for mu and logvar of a diagonal Gaussian posterior.

Decoder, hierarchical: z -> initial state of a *beat* GRU run for 4 steps on a learned constant input; each beat
output sets the initial state (and a conditioning vector) of a *tick* GRU that emits the 6 tokens of that beat,
fed its own previous token (or, when teacher forcing, the ground-truth previous token). The tick GRU state restarts
every beat; the fed-back token runs on across beats.

Differences from the reference, on purpose: the posterior head gives log-variance rather than log-sigma (same
family, the usual parameterisation); the model is seeded by whoever builds it (the reference built it before
seeding). Kept for fidelity and switchable: the ReLU on the output logits (`relu_logits`).

Every objective in training/ (AR-VAE, GLSR-VAE, CSVAE, beta-VAE) trains this same class, so the daemon serves any
of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from arvae_live.core.meters import GRIDS, TICKS_PER_BEAT, Grid
from arvae_live.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """What fixes the tensor shapes and the forward behaviour of a MeasureVAE. Paper sizes are the defaults."""

    vocab_size: int = 32  # V, from the Vocabulary (HOLD, REST, 30 pitches for 55..84)
    embed_dim: int = 10  # token embedding size; encoder and decoder each have their own table
    hidden_dim: int = 128  # hidden size of the encoder GRU, beat GRU and tick GRU
    n_layers: int = 2  # stacked layers in each GRU
    latent_dim: int = 32  # size of z
    dropout: float = 0.5  # between stacked GRU layers, active only in training
    relu_logits: bool = True  # the reference applies ReLU to the output logits before softmax (a quirk)
    # The measure grid (core/meters.py): "simple" (4/4, 4 beats), "triple" (3/4, 3 beats) or "compound" (12/8 and
    # 6/8, 4 dotted beats). Fixes the number of beat steps, so the measure length: 6 ticks per beat.
    grid: str = "simple"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embed_dim", "hidden_dim", "n_layers", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")
        if self.vocab_size < 3:
            raise ConfigError(f"model.vocab_size must be >= 3 (hold, rest, a pitch), got {self.vocab_size}")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ConfigError(f"model.dropout must be in range [0, 1), got {self.dropout!r}")
        if not isinstance(self.relu_logits, bool):
            raise ConfigError(f"model.relu_logits must be true or false, got {self.relu_logits!r}")
        if self.grid not in GRIDS:
            raise ConfigError(f"model.grid must be one of {', '.join(GRIDS)}, got {self.grid!r}")

    @property
    def measure_grid(self) -> Grid:
        """The Grid named by `grid`."""
        return GRIDS[self.grid]

    def to_dict(self) -> dict:
        return asdict(self)


class MeasureVAE(nn.Module):
    """Hierarchical GRU VAE over one measure of token ids 0..V-1: grid.beats beats of 6 ticks, T = grid.ticks (24 for
    4/4, 18 for 3/4) in the shapes below."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = c = config
        self.grid = c.measure_grid
        self.beats = self.grid.beats
        self.ticks = self.grid.ticks
        rnn_dropout = c.dropout if c.n_layers > 1 else 0.0
        # encoder
        self.enc_embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.enc_rnn = nn.GRU(
            c.embed_dim, c.hidden_dim, c.n_layers, batch_first=True, bidirectional=True, dropout=rnn_dropout
        )
        enc_out = 2 * c.n_layers * c.hidden_dim
        self.mu_head = nn.Sequential(
            nn.Linear(enc_out, 2 * c.hidden_dim), nn.SELU(), nn.Linear(2 * c.hidden_dim, c.latent_dim)
        )
        self.logvar_head = nn.Sequential(
            nn.Linear(enc_out, 2 * c.hidden_dim), nn.SELU(), nn.Linear(2 * c.hidden_dim, c.latent_dim)
        )
        # decoder, beat level
        self.z_to_beat_h = nn.Sequential(nn.Linear(c.latent_dim, c.n_layers * c.hidden_dim), nn.SELU())
        self.beat_input = nn.Parameter(torch.zeros(1))  # the constant input the beat GRU reads at each of 4 steps
        self.beat_rnn = nn.GRU(1, c.hidden_dim, c.n_layers, batch_first=True, dropout=rnn_dropout)
        # decoder, tick level
        self.beat_to_tick_h = nn.Sequential(nn.Linear(c.hidden_dim, c.n_layers * c.hidden_dim), nn.SELU())
        self.beat_to_cond = nn.Sequential(nn.Linear(c.hidden_dim, c.hidden_dim), nn.SELU())
        self.dec_embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.first_input = nn.Parameter(torch.zeros(c.embed_dim))  # stands for "the token before tick 0"
        self.tick_rnn = nn.GRU(
            c.embed_dim + c.hidden_dim, c.hidden_dim, c.n_layers, batch_first=True, dropout=rnn_dropout
        )
        self.out_proj = nn.Linear(c.hidden_dim, c.vocab_size)
        for name, p in self.named_parameters():
            if "weight" in name:  # as the reference: Xavier-normal on every weight, PyTorch defaults on biases
                nn.init.xavier_normal_(p)

    # ---- encoder ------------------------------------------------------------------------------------------------

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters of a batch of measures.

        Args:
            tokens: int64 (B, T), ids 0..V-1.

        Returns:
            (mu, logvar), each float (B, latent_dim).
        """
        B = tokens.shape[0]
        _, h = self.enc_rnn(self.enc_embed(tokens))  # h: (2*n_layers, B, H)
        h = h.transpose(0, 1).reshape(B, -1)  # (B, 2*n_layers*H)
        return self.mu_head(h), self.logvar_head(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps, differentiable in mu and logvar."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    # ---- decoder ------------------------------------------------------------------------------------------------

    def _beats(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-beat initial tick-GRU states and conditioning vectors.

        Returns:
            h0: (n_layers, B*4, H), beat-major within each measure (row b*4 + i is beat i of measure b);
            cond: (B*4, H).
        """
        c = self.config
        B = z.shape[0]
        h = self.z_to_beat_h(z).view(B, c.n_layers, c.hidden_dim).transpose(0, 1).contiguous()  # (L, B, H)
        beat_in = self.beat_input.expand(B, self.beats, 1)
        beats, _ = self.beat_rnn(beat_in, h)  # (B, 4, H)
        beats = beats.reshape(B * self.beats, c.hidden_dim)
        h0 = self.beat_to_tick_h(beats).view(-1, c.n_layers, c.hidden_dim).transpose(0, 1).contiguous()
        return h0, self.beat_to_cond(beats)

    def _logits(self, out: torch.Tensor) -> torch.Tensor:
        logits = self.out_proj(out)
        return F.relu(logits) if self.config.relu_logits else logits

    def decode_teacher_forced(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits when every tick is fed the ground-truth previous token (training).

        All 4 beats of all measures run as one GRU call over 6 steps, since the tick state restarts every beat and
        the inputs are known in advance.

        Args:
            z: (B, latent_dim).
            tokens: int64 (B, T), the target measure.

        Returns:
            logits (B, T, V).
        """
        c = self.config
        B = z.shape[0]
        h0, cond = self._beats(z)
        prev = self.dec_embed(tokens[:, :-1])  # (B, T-1, E): the input of tick t is token t-1
        prev = torch.cat([self.first_input.expand(B, 1, c.embed_dim), prev], dim=1)  # (B, T, E)
        prev = prev.view(B * self.beats, TICKS_PER_BEAT, c.embed_dim)
        cond = cond.unsqueeze(1).expand(-1, TICKS_PER_BEAT, -1)  # (B*4, 6, H)
        out, _ = self.tick_rnn(torch.cat([prev, cond], dim=-1), h0)  # (B*4, 6, H)
        return self._logits(out).view(B, self.ticks, c.vocab_size)

    def decode_free(
        self,
        z: torch.Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        allowed: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode free-running: each tick is fed the token chosen at the previous tick.

        Args:
            z: (B, latent_dim).
            temperature: 0 for argmax (deterministic); > 0 samples from softmax(logits / temperature).
            generator: the random source when sampling, for reproducible variations.
            allowed: bool (V,), or (B, V) per row: tokens that may be chosen (the others never are, argmax or
                sampling); None: all. The returned logits are the model's, unmasked.

        Returns:
            (tokens int64 (B, T), logits (B, T, V)).
        """
        c = self.config
        B = z.shape[0]
        h0, cond = self._beats(z)
        h0 = h0.view(c.n_layers, B, self.beats, c.hidden_dim)
        cond = cond.view(B, self.beats, 1, c.hidden_dim)
        inp = self.first_input.expand(B, 1, c.embed_dim)
        tokens = torch.empty(B, self.ticks, dtype=torch.long, device=z.device)
        logits = torch.empty(B, self.ticks, c.vocab_size, device=z.device, dtype=z.dtype)
        for i in range(self.beats):
            h = h0[:, :, i].contiguous()
            for j in range(TICKS_PER_BEAT):
                t = i * TICKS_PER_BEAT + j
                out, h = self.tick_rnn(torch.cat([inp, cond[:, i]], dim=-1), h)  # (B, 1, H)
                step = self._logits(out[:, 0])  # (B, V)
                logits[:, t] = step
                if allowed is not None:
                    step = step.masked_fill(~allowed, float("-inf"))
                if temperature > 0:
                    probs = F.softmax(step.float() / temperature, dim=-1)
                    tok = torch.multinomial(probs, 1, generator=generator)[:, 0]
                else:
                    tok = step.argmax(dim=-1)
                tokens[:, t] = tok
                inp = self.dec_embed(tok).unsqueeze(1)  # (B, 1, E)
        return tokens, logits

    def forward(
        self, tokens: torch.Tensor, teacher_forcing: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, sample z, decode (training and evaluation).

        Args:
            tokens: int64 (B, T).
            teacher_forcing: feed ground-truth previous tokens (True) or the decoder's own argmax (False).

        Returns:
            (logits (B, T, V), mu (B, Z), logvar (B, Z), z (B, Z)).
        """
        mu, logvar = self.encode(tokens)
        z = self.reparameterize(mu, logvar)
        if teacher_forcing:
            logits = self.decode_teacher_forced(z, tokens)
        else:
            _, logits = self.decode_free(z)
        return logits, mu, logvar, z
