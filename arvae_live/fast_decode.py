"""A free-running MeasureVAE decoder written for inference: the same tokens as `MeasureVAE.decode_free`, faster.

At the batch sizes of live use (an 8-bar clip, a few candidates per measure) the eager decoder's time is per-step
overhead, not arithmetic: 24 tick steps, each running `nn.GRU` with its argument checks, a `torch.cat`, an embedding
lookup and a projection. Here the tick GRU's first layer input projection is split in two and precomputed, because
its input is `[embedding(previous token), beat conditioning]`:

- the embedding half becomes a (V, 3H) table, so one row gather replaces embedding + matmul;
- the conditioning half is constant over the 6 ticks of a beat, so it is computed once per beat.

What is left per tick is two hidden-state matmuls per layer, the gate arithmetic and the output projection, all on
preallocated buffers. The result is checked against `decode_free` token for token in tests/test_engine.py; the two
differ only by float rounding order, which can flip an argmax only on an exact near-tie.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from arvae_live.core.meters import TICKS_PER_BEAT
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import HOLD


class FastDecoder:
    """Free-running decode of a MeasureVAE (argmax or sampling) from precomputed weight tables.

    The decoder holds references to (and transposed copies of) the model's weights, taken at construction; build a
    new one if the weights change.
    """

    def __init__(self, model: MeasureVAE) -> None:
        c = model.config
        self.model = model
        self.beats = model.beats  # beats per measure of the model's grid (4, or 3 for 3/4)
        self.ticks = model.ticks
        self.hidden_dim = H = c.hidden_dim
        self.n_layers = c.n_layers
        self.vocab_size = c.vocab_size
        self.relu_logits = c.relu_logits
        rnn = model.tick_rnn
        with torch.no_grad():
            w_ih0 = rnn.weight_ih_l0  # (3H, E + H): columns [embedding | conditioning]
            e = c.embed_dim
            # Row t: the layer-0 input-gate contribution of "previous token = t" (bias added with the cond part).
            self.token_gates = (model.dec_embed.weight @ w_ih0[:, :e].T).contiguous()  # (V, 3H)
            self.first_gates = (model.first_input @ w_ih0[:, :e].T).contiguous()  # (3H,)
            self.w_cond_t = w_ih0[:, e:].T.contiguous()  # (H, 3H)
            self.b_ih0 = rnn.bias_ih_l0.detach().clone()
            self.w_hh_t = [getattr(rnn, f"weight_hh_l{k}").T.contiguous() for k in range(c.n_layers)]  # (H, 3H)
            self.b_hh = [getattr(rnn, f"bias_hh_l{k}").detach().clone() for k in range(c.n_layers)]
            self.w_ih_t = [None] + [getattr(rnn, f"weight_ih_l{k}").T.contiguous() for k in range(1, c.n_layers)]
            self.b_ih = [None] + [getattr(rnn, f"bias_ih_l{k}").detach().clone() for k in range(1, c.n_layers)]
            self.w_out_t = model.out_proj.weight.T.contiguous()  # (H, V)
            self.b_out = model.out_proj.bias.detach().clone()
            # The beat GRU reads the same 1-d input at each of its 4 steps: its layer-0 input gates are a constant.
            brnn = model.beat_rnn
            self.beat_gates0 = (model.beat_input @ brnn.weight_ih_l0.T + brnn.bias_ih_l0).detach().clone()  # (3H,)
            self.beat_w_hh_t = [getattr(brnn, f"weight_hh_l{k}").T.contiguous() for k in range(c.n_layers)]
            self.beat_b_hh = [getattr(brnn, f"bias_hh_l{k}").detach().clone() for k in range(c.n_layers)]
            self.beat_w_ih_t = [None] + [getattr(brnn, f"weight_ih_l{k}").T.contiguous() for k in range(1, c.n_layers)]
            self.beat_b_ih = [None] + [getattr(brnn, f"bias_ih_l{k}").detach().clone() for k in range(1, c.n_layers)]
        del H

    def _beats(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """As `MeasureVAE._beats` (eager nn.GRU took 0.7 ms of an 8-measure decode for its 4 steps): per-beat
        initial tick states (L, B*4, H) and conditioning (B*4, H), row b*4 + i for beat i of measure b."""
        m = self.model
        B, L, H = z.shape[0], self.n_layers, self.hidden_dim
        h = m.z_to_beat_h(z).view(B, L, H)
        hs = [h[:, k] for k in range(L)]
        gi0 = self.beat_gates0.expand(B, 3 * H)
        outs = []
        for _ in range(self.beats):
            outs.append(self._stack_step(gi0, hs, self.beat_w_hh_t, self.beat_b_hh, self.beat_w_ih_t, self.beat_b_ih))
        beats = torch.stack(outs, dim=1).reshape(B * self.beats, H)
        h0 = m.beat_to_tick_h(beats).view(-1, L, H).transpose(0, 1).contiguous()
        return h0, m.beat_to_cond(beats)

    @staticmethod
    def _gru_step(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One GRU cell update from precomputed input gates gi and hidden gates gh, each (B, 3H) in r, z, n order.

        Written with as few tensor ops as possible (one sigmoid for r and z, addcmul, lerp): at live batch sizes
        each op's dispatch costs about as much as its arithmetic.
        """
        H = h.shape[1]
        rz = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H])
        n = torch.tanh(torch.addcmul(gi[:, 2 * H :], rz[:, :H], gh[:, 2 * H :]))
        return torch.lerp(n, h, rz[:, H:])  # (1 - z) * n + z * h

    def _stack_step(
        self,
        gi0: torch.Tensor,
        hs: list[torch.Tensor],
        w_hh_t: list[torch.Tensor],
        b_hh: list[torch.Tensor],
        w_ih_t: list[torch.Tensor | None],
        b_ih: list[torch.Tensor | None],
    ) -> torch.Tensor:
        """One step of a stacked GRU (the beat or the tick GRU, by the weights passed) whose layer-0 input gates gi0
        (B, 3H) are precomputed. Updates the per-layer states hs in place; returns the top layer's output (B, H)."""
        x = self._gru_step(gi0, torch.addmm(b_hh[0], hs[0], w_hh_t[0]), hs[0])
        hs[0] = x
        for k in range(1, len(hs)):
            gi = torch.addmm(b_ih[k], x, w_ih_t[k])
            x = self._gru_step(gi, torch.addmm(b_hh[k], hs[k], w_hh_t[k]), hs[k])
            hs[k] = x
        return x

    def _tick_step(self, gi0: torch.Tensor, hs: list[torch.Tensor], bias: torch.Tensor | None) -> torch.Tensor:
        """One tick of the tick GRU and the output projection: logits (B, V), ReLU'd when the model does so (kept
        for argmax too: all-negative logits become all-zero, and argmax then picks 0), then plus bias (0 for an
        allowed token, -inf for a masked one) when given."""
        x = self._stack_step(gi0, hs, self.w_hh_t, self.b_hh, self.w_ih_t, self.b_ih)
        logits = torch.addmm(self.b_out, x, self.w_out_t)
        logits = F.relu(logits) if self.relu_logits else logits
        return logits if bias is None else logits + bias

    def _run_beats(
        self, h0: torch.Tensor, beat_gates: torch.Tensor, prev_gates: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """Argmax-decode the 6 ticks of independent beats, one row per beat.

        Args:
            h0: (L, R, H) the beats' initial tick-GRU states.
            beat_gates: (R, 3H) layer-0 input gates of their conditioning (bias included).
            prev_gates: (R, 3H) layer-0 input gates of the token fed in at each beat's first tick.
            bias: (V,) additive logit mask (see decode), or None.

        Returns:
            int64 tokens (R, 6).
        """
        hs = [h0[k] for k in range(self.n_layers)]
        out = torch.empty(h0.shape[1], TICKS_PER_BEAT, dtype=torch.long, device=h0.device)
        for j in range(TICKS_PER_BEAT):
            tok = self._tick_step(prev_gates + beat_gates, hs, bias).argmax(dim=-1)
            out[:, j] = tok
            prev_gates = self.token_gates[tok]
        return out

    def decode(
        self,
        z: torch.Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        allowed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode latents free-running, as `MeasureVAE.decode_free`.

        Argmax decoding runs the 4 beats of a measure side by side (6 sequential steps instead of 24, on 4x the
        rows): the tick state restarts every beat, so the only thing a beat takes from the one before is the last
        token, fed back at its first tick. Each beat first assumes that token is HOLD (what most beats end on);
        the beats whose predecessor ended otherwise are decoded again with the true token, until none is left
        (at most 3 more passes, usually one small one). The result is exactly the sequential decode's.
        Sampling (temperature > 0) decodes sequentially, so a seed draws the same random numbers as decode_free.

        Args:
            z: float (B, latent_dim), on the model's device.
            temperature: 0 for argmax; > 0 samples from softmax(logits / temperature).
            generator: random source when sampling (on z's device).
            allowed: bool (V,) or (B, V) per row: the tokens the decoder may emit (the others' logits are -inf, for
                argmax and sampling alike: a key's scale); None allows all. HOLD and REST should stay allowed.

        Returns:
            int64 tokens (B, 24), ids 0..V-1.
        """
        bias = None if allowed is None else torch.zeros(allowed.shape, device=z.device).masked_fill(~allowed, -math.inf)
        if temperature > 0:
            return self._decode_sequential(z, temperature, generator, bias)
        B, H = z.shape[0], self.hidden_dim
        h0, cond = self._beats(z)  # (L, B*4, H), (B*4, H); row b*4 + i is beat i of measure b
        beat_gates = torch.addmm(self.b_ih0, cond, self.w_cond_t)  # (B*4, 3H)
        assumed = torch.full((B, self.beats), HOLD, dtype=torch.long, device=z.device)
        prev = self.token_gates[assumed].view(B * self.beats, 3 * H)
        prev.view(B, self.beats, 3 * H)[:, 0] = self.first_gates  # beat 0 starts from the learned input
        per_row = bias is not None and bias.dim() == 2
        beat_bias = bias.repeat_interleave(self.beats, dim=0) if per_row else bias  # row b*4 + i
        toks = self._run_beats(h0, beat_gates, prev, beat_bias).view(B, self.beats, TICKS_PER_BEAT)
        for _ in range(self.beats - 1):
            actual = toks[:, :-1, -1]  # (B, 3): the last token of beats 0..2
            b, i = (actual != assumed[:, 1:]).nonzero(as_tuple=True)
            if b.numel() == 0:
                break
            fed = actual[b, i]
            rows = b * self.beats + i + 1
            redo_bias = beat_bias[rows] if per_row else beat_bias
            toks[b, i + 1] = self._run_beats(h0[:, rows], beat_gates[rows], self.token_gates[fed], redo_bias)
            assumed[b, i + 1] = fed
        return toks.view(B, self.ticks)

    def _decode_sequential(
        self, z: torch.Tensor, temperature: float, generator: torch.Generator | None, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """The 24 ticks one after another (any temperature); see decode."""
        B = z.shape[0]
        L, H = self.n_layers, self.hidden_dim
        h0, cond = self._beats(z)  # (L, B*4, H), (B*4, H); row b*4 + i is beat i of measure b
        h0 = h0.view(L, B, self.beats, H)
        cond_gates = torch.addmm(self.b_ih0, cond, self.w_cond_t).view(B, self.beats, 3 * H)
        tokens = torch.empty(B, self.ticks, dtype=torch.long, device=z.device)
        prev_gates = self.first_gates.expand(B, 3 * H)
        for i in range(self.beats):
            hs = [h0[k, :, i] for k in range(L)]  # the tick state restarts every beat
            beat_gates = cond_gates[:, i]
            for j in range(TICKS_PER_BEAT):
                logits = self._tick_step(prev_gates + beat_gates, hs, bias)  # (B, V)
                if temperature > 0:
                    probs = F.softmax(logits.float() / temperature, dim=-1)
                    tok = torch.multinomial(probs, 1, generator=generator)[:, 0]
                else:
                    tok = logits.argmax(dim=-1)
                tokens[:, i * TICKS_PER_BEAT + j] = tok
                prev_gates = self.token_gates[tok]  # the fed-back token runs on across beats
        return tokens
