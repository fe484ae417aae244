"""LiveModel: regenerate token measures with attribute targets, closed loop. No sockets, no ports, no files written.

The engine API other modules code against (briefs/engine-api.md):

    lm = LiveModel.from_checkpoint(path, device="cpu")
    res = lm.regenerate(tokens (M, 24), {"note_density": 0.8}, variations=1, temperature=0.0, seed=0)
    res.tokens (V, M, 24); res.asked {name: (M,)}; res.achieved {name: (V, M)}; res.engine_ms

How a regeneration works, all batched over the clip's measures and the variations:

1. Encode the input measures once (posterior mean mu; variations v >= 1 add seeded posterior noise).
2. Open loop (the paper): put each targeted attribute's regularised latent dim at the calibrated value for its
   target (`AttributeSpec.latent_for`), decode.
3. Closed loop (not in the paper): the attributes of a decoded measure can be computed, so measure them, and for the
   measures where an attribute misses its target move that attribute's dim by a secant step (slope from the last two
   tries, or from the calibration table at first), a few step sizes per round decoded as one batch; keep per measure
   the candidate with the best score. Attributes not targeted aim at the input measure's own value, so they are
   held in place rather than left to drift.

The score of a candidate measure (lower is better) is the weighted sum over the model's steerable attributes of how
far the achieved value misses the asked one beyond a tolerance of half the attribute's smallest step (attributes are
counts of onsets or semitones, so most targets fall between two achievable values) -- weight 1 for a targeted
attribute, UNTARGETED_WEIGHT for one held at the input's value -- plus a small term for every token that
differs from the input measure, so that among candidates that meet the targets the one closest to the input wins.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arvae_live.core.attributes import RC_WEIGHTS, AttributeSpec, compute_attributes
from arvae_live.core.checkpoint import load_checkpoint
from arvae_live.core.device import resolve_device
from arvae_live.core.model import MeasureVAE
from arvae_live.core.predictor import AttributePredictor
from arvae_live.core.representation import TICKS_PER_MEASURE, Note, Vocabulary
from arvae_live.errors import RepresentationError, UnknownAttributeError
from arvae_live.fast_decode import FastDecoder

log = logging.getLogger(__name__)

# Smallest change of each registry attribute's raw value (one onset, one semitone); half of it, normalised, is the
# tolerance within which a target counts as met. An attribute not listed gets the minimum tolerance.
RAW_STEP = {
    "note_density": 1 / TICKS_PER_MEASURE,
    "rhythmic_complexity": float(RC_WEIGHTS.min() / RC_WEIGHTS.sum()),
    "pitch_range": 1 / 26,
    "contour": 1 / 26,
}
MIN_TOLERANCE = 0.005  # normalised
# Weight of token disagreement with the input (fraction of the 24 ticks, 0..1) in the score: small against a missed
# target (normalised units), so closeness only decides among candidates that meet the targets about equally.
KEEP_WEIGHT = 0.02
# Weight of an attribute that was not targeted (held at the input's value) against a targeted one in the score: the
# performer asked for the targets, so a candidate may let the others drift a little to meet them.
UNTARGETED_WEIGHT = 0.25
# Step sizes tried per round, as multiples of the secant step: short, exact, long (attributes move in jumps, so the
# exact step often lands on the same value and a longer one is needed).
STEP_FACTORS = (0.5, 1.0, 2.0)
MAX_ROUNDS = 3  # refinement rounds after the open-loop guess
# Offsets along a regularised dim tried for rows that still miss after the secant rounds (plateaus).
SWEEP_OFFSETS = (-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0)
MAX_STEP_Z = 3.0  # largest move of a latent dim in one secant step
# Gauss-Newton steps on the attribute predictor: for the first guess, and per refinement round (which starts close).
PREDICTOR_ITERS = 4
PREDICTOR_ROUND_ITERS = 2
ENCODE_CACHE_SIZE = 64  # clips whose encoding is kept (a dial sweep re-sends the same clip with new targets)


@dataclass
class Regeneration:
    """The result of LiveModel.regenerate or LiveModel.sample.

    Attributes:
        tokens: int64 (V, M, 24), V variations of the M measures.
        asked: {attribute: float (M,)} the normalised 0..1 value aimed at per measure, for every attribute of the
            model (attributes not targeted: the input measure's own value; not present when sampling).
        achieved: {attribute: float (V, M)} the normalised 0..1 value measured on each output measure.
        engine_ms: wall time of the call in milliseconds.
        n_decoded: number of measures decoded in all (open-loop guesses plus closed-loop candidates).
        rounds: closed-loop refinement rounds run (0 for open loop).
    """

    tokens: np.ndarray
    asked: dict[str, np.ndarray]
    achieved: dict[str, np.ndarray]
    engine_ms: float
    n_decoded: int = 0
    rounds: int = 0
    latents: np.ndarray | None = field(default=None, repr=False)  # (V, M, Z) latents of the kept candidates


class LiveModel:
    """A checkpoint loaded for inference: encode, steer, decode, measure. Not thread-safe; one caller at a time."""

    def __init__(
        self,
        model: MeasureVAE,
        attributes: Sequence[AttributeSpec],
        vocab: Vocabulary,
        model_id: str = "model",
        device: str | torch.device = "cpu",
        predictor: AttributePredictor | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.model_id = model_id
        self.vocab = vocab
        self.attributes = list(attributes)
        self.attribute_names = [a.name for a in self.attributes]
        self._specs = {a.name: a for a in self.attributes}
        self.latent_dim = model.config.latent_dim
        self._decoder = FastDecoder(self.model)
        # The closed loop's first guess comes from the attribute predictor when the checkpoint has one, else from
        # the calibration tables (core/predictor.py says why).
        self._predictor = None if predictor is None else predictor.eval().to(self.device)
        self._cost = DecodeCost()  # calibrated in warm_up
        self._encode_cache: OrderedDict[bytes, tuple[torch.Tensor, torch.Tensor, np.ndarray]] = OrderedDict()
        self._tolerance = np.array(
            [max(MIN_TOLERANCE, 0.5 * RAW_STEP.get(a.name, 0.0) / (a.high - a.low)) for a in self.attributes]
        )

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> LiveModel:
        """Load an inference (or training) checkpoint, in eval mode, and run one warm-up regeneration.

        Args:
            path: checkpoint file.
            device: 'cpu', 'cuda', 'cuda:N' or 'auto'.

        Raises:
            CheckpointError: unreadable, foreign or malformed file (the message names it).
        """
        path = Path(path)
        ckpt = load_checkpoint(path)
        lm = cls(
            ckpt.build_model(), ckpt.attributes, ckpt.vocabulary, path.stem, resolve_device(device),
            ckpt.build_predictor(),
        )  # fmt: skip
        lm.warm_up()
        return lm

    def warm_up(self) -> None:
        """Run one small regeneration so the first real request does not pay for lazy initialisation, then time
        decoding at live batch sizes (4 to 32 measures, twice each, about 30 ms on a CPU) for the budget."""
        rest = np.zeros((1, TICKS_PER_MEASURE), dtype=np.int64)
        rest[0, 0] = 1
        self.regenerate(rest, {})
        self._encode_cache.clear()
        z = torch.randn(32, self.latent_dim, generator=torch.Generator().manual_seed(0)).numpy().astype(np.float64)
        samples = []
        with torch.inference_mode():
            for n in (4, 8, 16, 32, 4, 8, 16, 32):
                t = time.perf_counter()
                self._measure_matrix(self._decode(z[:n], 0.0, None))
                samples.append((n, (time.perf_counter() - t) * 1e3))
        self._cost.calibrate(samples)

    # ---- measuring ----------------------------------------------------------------------------------------------

    def spec(self, name: str) -> AttributeSpec:
        """The model's AttributeSpec for name; UnknownAttributeError listing the model's attributes otherwise."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownAttributeError(
                f"model {self.model_id} has no attribute {name!r}; it has: {', '.join(self.attribute_names)}"
            ) from None

    def measure_attributes(self, tokens: np.ndarray) -> dict[str, np.ndarray]:
        """Normalised 0..1 value of every model attribute for each measure.

        Args:
            tokens: int (M, 24) token ids.

        Returns:
            {name: float64 (M,)} over each attribute's model range (clipped).
        """
        tokens = self._check_tokens(tokens)
        raw = compute_attributes(tokens, self.attribute_names)
        return {a.name: a.normalise(raw[a.name]) for a in self.attributes}

    def _measure_matrix(self, tokens: np.ndarray) -> np.ndarray:
        """(B, A) normalised attributes of (B, 24) tokens, columns in self.attributes order."""
        raw = compute_attributes(tokens, self.attribute_names)
        return np.stack([a.normalise(raw[a.name]) for a in self.attributes], axis=1)

    def _check_tokens(self, tokens: np.ndarray) -> np.ndarray:
        arr = np.asarray(tokens)
        if arr.ndim != 2 or arr.shape[1] != TICKS_PER_MEASURE or arr.shape[0] < 1:
            raise RepresentationError(f"tokens must have shape (M >= 1, {TICKS_PER_MEASURE}), got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise RepresentationError(f"tokens must be integers, got {arr.dtype}")
        if arr.min() < 0 or arr.max() >= self.vocab.size:
            raise RepresentationError(f"token ids must be in range 0..{self.vocab.size - 1}")
        return arr.astype(np.int64, copy=False)

    def _parse_targets(self, targets: Mapping[str, float | np.ndarray], n_measures: int) -> dict[str, np.ndarray]:
        """{name: (M,) float64 normalised targets}, checked: known, steerable, finite, within 0..1."""
        out = {}
        for name, value in targets.items():
            spec = self.spec(name)
            if spec.latent_dim is None:
                raise UnknownAttributeError(
                    f"model {self.model_id} does not regularise {name!r}, so it cannot be steered"
                )
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim == 0:
                arr = np.full(n_measures, float(arr))
            if arr.shape != (n_measures,):
                raise RepresentationError(
                    f"target for {name} must be one number or one per measure ({n_measures}), got shape {arr.shape}"
                )
            if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
                raise RepresentationError(f"target for {name} must be in range 0..1, got {arr.min()}..{arr.max()}")
            out[name] = arr
        return out

    # ---- latent moves -------------------------------------------------------------------------------------------

    def _latent_for(self, spec: AttributeSpec, value: np.ndarray) -> np.ndarray:
        """Calibrated first guess of the latent value for normalised value(s); a linear -3..3 map if uncalibrated."""
        if spec.calibration_z:
            return spec.latent_for(spec.denormalise(value))
        return (np.asarray(value, dtype=np.float64) - 0.5) * 6.0

    def _calibration_slope(self, spec: AttributeSpec, z: np.ndarray) -> np.ndarray:
        """d(normalised attribute)/dz of the calibration table at z (finite differences), floored to stay positive."""
        if spec.calibration_z and len(spec.calibration_z) >= 2:
            cz = np.asarray(spec.calibration_z)
            cn = spec.normalise(np.asarray(spec.calibration_raw))
            seg = np.clip(np.searchsorted(cz, z) - 1, 0, len(cz) - 2)
            slope = (cn[seg + 1] - cn[seg]) / np.maximum(cz[seg + 1] - cz[seg], 1e-9)
        else:
            slope = np.full(np.shape(z), 1 / 6.0)
        return np.maximum(slope, 0.02)

    # ---- the work -----------------------------------------------------------------------------------------------

    def _encode(self, tokens: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(mu, logvar, normalised attributes (M, A)) of a clip's measures, cached per clip: a dial sweep re-sends
        the same clip with new targets, and the encoder (about 4 ms for 8 bars on our CPU) and the attributes
        would otherwise be recomputed for each request."""
        key = tokens.tobytes()
        hit = self._encode_cache.get(key)
        if hit is not None:
            self._encode_cache.move_to_end(key)
            return hit
        mu, logvar = self.model.encode(torch.from_numpy(tokens).to(self.device))
        entry = (mu, logvar, self._measure_matrix(tokens))
        self._encode_cache[key] = entry
        if len(self._encode_cache) > ENCODE_CACHE_SIZE:
            self._encode_cache.popitem(last=False)
        return entry

    def _decode(self, z: np.ndarray, temperature: float, generator: torch.Generator | None) -> np.ndarray:
        zt = torch.from_numpy(z.astype(np.float32)).to(self.device)
        return self._decoder.decode(zt, temperature, generator).cpu().numpy()

    def _decode_measure(
        self, z: np.ndarray, temperature: float, generator: torch.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decode z (B, Z) and measure the result: tokens (B, 24), normalised attributes (B, A). The time taken
        feeds the budget's cost model."""
        t = time.perf_counter()
        tok = self._decode(z, temperature, generator)
        att = self._measure_matrix(tok)
        self._cost.observe(z.shape[0], (time.perf_counter() - t) * 1e3)
        return tok, att

    def regenerate(
        self,
        tokens: np.ndarray,
        targets: Mapping[str, float | np.ndarray],
        variations: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        closed_loop: bool = True,
        max_rounds: int = MAX_ROUNDS,
        budget_ms: float | None = None,
    ) -> Regeneration:
        """Regenerate a clip's measures with attribute targets.

        Args:
            tokens: int64 (M, 24), the clip's measures (from notes_to_tokens).
            targets: {attribute: normalised 0..1, one float or (M,) per measure}; attributes not named keep the
                input measure's value.
            variations: V >= 1; variation 0 starts from the posterior mean, the others from seeded posterior samples.
            temperature: 0 for argmax decoding; > 0 samples tokens (seeded).
            seed: random seed for variations and sampling; the same call with the same seed gives the same tokens.
            closed_loop: refine by measuring decoded candidates (True) or trust the calibrated latent move (False).
            max_rounds: closed-loop refinement rounds at most.
            budget_ms: no refinement round starts when it would likely end after this much time since the call
                began (estimated from the time per decoded measure so far); None: no limit. The open-loop guess is
                always decoded, so this bounds the latency of the closed loop without ever failing.

        Returns:
            Regeneration with tokens (V, M, 24), asked {name: (M,)}, achieved {name: (V, M)}.

        Raises:
            UnknownAttributeError: a target names an attribute the model does not have or cannot steer.
            RepresentationError: bad tokens, or a target outside 0..1 (both are ValueErrors).
        """
        t0 = time.perf_counter()
        tokens = self._check_tokens(tokens)
        M = tokens.shape[0]
        V = _check_count("variations", variations)
        _check_temperature(temperature)
        parsed = self._parse_targets(targets, M)
        with torch.inference_mode():
            mu, logvar, input_attrs = self._encode(tokens)  # input_attrs: (M, A), read-only
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
            z0 = mu.cpu().numpy().astype(np.float64)
            if V > 1:
                noise = torch.randn(V - 1, M, self.latent_dim, generator=gen).numpy()
                sigma = torch.exp(0.5 * logvar).cpu().numpy()
                z = np.concatenate([z0[None], z0[None] + noise * sigma[None]]).reshape(V * M, -1)
            else:
                z = z0.copy()
            asked = np.array(input_attrs)
            for k, a in enumerate(self.attributes):
                if a.name in parsed:
                    asked[:, k] = parsed[a.name]
            res = self._steer(
                z, np.tile(asked, (V, 1)), set(parsed), np.tile(tokens, (V, 1)), temperature, seed,
                closed_loop, max_rounds, t0, budget_ms,
            )  # fmt: skip
        out_tokens, achieved, latents, n_decoded, rounds = res
        return Regeneration(
            tokens=out_tokens.reshape(V, M, TICKS_PER_MEASURE),
            asked={a.name: asked[:, k].copy() for k, a in enumerate(self.attributes)},
            achieved={a.name: achieved[:, k].reshape(V, M) for k, a in enumerate(self.attributes)},
            engine_ms=(time.perf_counter() - t0) * 1e3,
            n_decoded=n_decoded,
            rounds=rounds,
            latents=latents.reshape(V, M, -1),
        )

    def sample(
        self,
        n_measures: int,
        targets: Mapping[str, float | np.ndarray],
        variations: int = 1,
        temperature: float = 1.0,
        seed: int = 0,
        closed_loop: bool = True,
        max_rounds: int = MAX_ROUNDS,
        budget_ms: float | None = None,
    ) -> Regeneration:
        """New measures from the prior, with the targeted attributes steered (closed loop on those only).

        Args:
            n_measures: M >= 1 measures per variation.
            targets: {attribute: normalised 0..1, one float or (M,)}; attributes not named are free.
            variations: V >= 1.
            temperature: 0 for argmax decoding, > 0 samples tokens.
            seed: random seed for the latents and the token sampling.

        Returns:
            Regeneration; asked holds the targeted attributes only.
        """
        t0 = time.perf_counter()
        M = _check_count("n_measures", n_measures)
        V = _check_count("variations", variations)
        _check_temperature(temperature)
        parsed = self._parse_targets(targets, M)
        with torch.inference_mode():
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
            z = torch.randn(V * M, self.latent_dim, generator=gen).numpy().astype(np.float64)
            asked = np.full((M, len(self.attributes)), np.nan)  # NaN: not targeted, not scored
            for k, a in enumerate(self.attributes):
                if a.name in parsed:
                    asked[:, k] = parsed[a.name]
            out_tokens, achieved, latents, n_decoded, rounds = self._steer(
                z, np.tile(asked, (V, 1)), set(parsed), None, temperature, seed, closed_loop, max_rounds, t0, budget_ms
            )
        return Regeneration(
            tokens=out_tokens.reshape(V, M, TICKS_PER_MEASURE),
            asked={a.name: asked[:, k].copy() for k, a in enumerate(self.attributes) if a.name in parsed},
            achieved={a.name: achieved[:, k].reshape(V, M) for k, a in enumerate(self.attributes)},
            engine_ms=(time.perf_counter() - t0) * 1e3,
            n_decoded=n_decoded,
            rounds=rounds,
            latents=latents.reshape(V, M, -1),
        )

    def interpolate(self, tokens_a: np.ndarray, tokens_b: np.ndarray, steps: int) -> Regeneration:
        """Decode `steps` points on the straight line between the encodings of two clips (endpoints included).

        Args:
            tokens_a, tokens_b: int64 (M, 24) each; the longer is cut to the shorter's M.
            steps: number of points >= 1 (one point: the midpoint).

        Returns:
            Regeneration with tokens (steps, M, 24); asked is empty (nothing is targeted).
        """
        t0 = time.perf_counter()
        a, b = self._check_tokens(tokens_a), self._check_tokens(tokens_b)
        M = min(a.shape[0], b.shape[0])
        S = _check_count("steps", steps)
        with torch.inference_mode():
            za = self._encode(a[:M])[0].cpu().numpy().astype(np.float64)
            zb = self._encode(b[:M])[0].cpu().numpy().astype(np.float64)
            w = np.array([0.5]) if S == 1 else np.linspace(0.0, 1.0, S)
            z = (za[None] * (1 - w[:, None, None]) + zb[None] * w[:, None, None]).reshape(S * M, -1)
            out = self._decode(z, 0.0, None)
        achieved = self._measure_matrix(out)
        return Regeneration(
            tokens=out.reshape(S, M, TICKS_PER_MEASURE),
            asked={},
            achieved={a.name: achieved[:, k].reshape(S, M) for k, a in enumerate(self.attributes)},
            engine_ms=(time.perf_counter() - t0) * 1e3,
            n_decoded=S * M,
            latents=z.reshape(S, M, -1),
        )

    def _score(
        self, achieved: np.ndarray, asked: np.ndarray, cand: np.ndarray, ref: np.ndarray | None, weight: np.ndarray
    ) -> np.ndarray:
        """Per-row score (lower is better): weighted misses beyond tolerance, plus KEEP_WEIGHT x token disagreement.

        weight: (A,) 1 for targeted attributes, UNTARGETED_WEIGHT for those held at the input's value.
        """
        miss = np.nan_to_num(np.maximum(np.abs(achieved - asked) - self._tolerance, 0.0), nan=0.0) @ weight
        if ref is not None:
            miss = miss + KEEP_WEIGHT * (cand != ref).mean(axis=1)
        return miss

    def _steer(
        self,
        z: np.ndarray,
        asked: np.ndarray,
        targeted: set[str],
        ref: np.ndarray | None,
        temperature: float,
        seed: int,
        closed_loop: bool,
        max_rounds: int,
        t0: float,
        budget_ms: float | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """Open-loop guess, then closed-loop secant refinement, all rows (variations x measures) at once.

        Args:
            z: float64 (B, Z) starting latents (modified in place).
            asked: (B, A) normalised targets; NaN where an attribute is not scored.
            targeted: names whose dim is set from the calibration first (others keep z's value).
            ref: (B, 24) input tokens to stay close to, or None.

        Returns:
            (tokens (B, 24), achieved (B, A), latents (B, Z), measures decoded, rounds run).
        """
        gen = torch.Generator(device=self.device).manual_seed(int(seed) + 1) if temperature > 0 else None
        steer = [(k, a) for k, a in enumerate(self.attributes) if a.latent_dim is not None]
        weight = np.array([1.0 if a.name in targeted else UNTARGETED_WEIGHT for a in self.attributes])
        z_in = z.copy()
        for k, a in steer:  # the paper's open-loop move, from the calibration table
            if a.name in targeted:
                z[:, a.latent_dim] = self._latent_for(a, asked[:, k])
        B = z.shape[0]
        if closed_loop and steer and targeted and self._predictor is not None:
            # Two first guesses per row, decoded in one batch: the predictor's solve and the calibrated move. The
            # better one per row is kept, so the closed loop is never worse than the paper's move. When the budget
            # has no room for both (several variations of a long clip), the predictor's alone.
            z_pred = self._predicted_move(z_in, asked, weight, [a.latent_dim for _, a in steer])
            z = np.concatenate([z_pred, z]) if _fits(2 * B, t0, budget_ms, self._cost) else z_pred
        tok, att = self._decode_measure(z, temperature, gen)
        guesses = z.shape[0] // B  # 1 or 2 candidates per row, guess-major
        ref_all = None if ref is None else np.tile(ref, (guesses, 1))
        score = self._score(att, np.tile(asked, (guesses, 1)), tok, ref_all, weight)
        pick = np.arange(B) + B * score.reshape(guesses, B).argmin(axis=0)
        best_z, best_tok, best_att, best_score = z[pick], tok[pick], att[pick], score[pick]
        n_decoded, rounds = z.shape[0], 0
        if not closed_loop or not steer:
            return best_tok, best_att, best_z, n_decoded, rounds
        cols = [k for k, _ in steer]
        dims = [a.latent_dim for _, a in steer]
        tol = self._tolerance[cols]
        stall = np.zeros(z.shape[0], dtype=np.int64)  # rounds in a row without improvement, per row
        prev_x = prev_y = None  # the previous (latent, attribute) point per row and steered attribute, for secants
        for _ in range(max_rounds):
            err = asked[:, cols] - best_att[:, cols]  # (B, S)
            missing = np.abs(np.nan_to_num(err)) > tol  # (B, S)
            rows = np.flatnonzero(missing.any(axis=1))
            if rows.size == 0:
                break
            # Three step sizes per row when the time budget allows, else the exact secant step alone.
            factors = next(
                (f for f in (STEP_FACTORS, (1.0,)) if _fits(rows.size * len(f), t0, budget_ms, self._cost)), None
            )
            if factors is None:
                break
            rounds += 1
            x = best_z[np.ix_(rows, dims)]  # (R, S)
            y = best_att[np.ix_(rows, cols)]
            if self._predictor is not None:
                # The predictor's own miss at the current best point, achieved - predicted, is taken as its bias
                # nearby: solve for the targets shifted by it, all steered dims together.
                moved = self._predicted_move(
                    best_z[rows], asked[rows], weight, dims, best_att[rows], iters=PREDICTOR_ROUND_ITERS
                )
                step = moved[:, dims] - x
            else:
                slope = np.stack([self._calibration_slope(a, x[:, s]) for s, (_, a) in enumerate(steer)], axis=1)
                if prev_x is not None:
                    dx, dy = x - prev_x[rows], y - prev_y[rows]
                    secant = np.divide(dy, dx, out=np.zeros_like(dy), where=np.abs(dx) > 1e-6)
                    # A secant is trusted only when it points the way the calibration does and is not flat
                    # (attributes move in jumps, so two tries on the same plateau say nothing about the slope).
                    ok = (secant > 0.02) & (np.abs(dy) > 0)
                    slope = np.where(ok, secant, slope)
                step = np.nan_to_num(err[rows]) / slope * missing[rows]
            # A row stuck on a plateau doubles its step each round it does not improve.
            step = np.clip(step * (2.0 ** stall[rows])[:, None], -MAX_STEP_Z, MAX_STEP_Z)
            K = len(factors)
            cand_z = np.repeat(best_z[rows], K, axis=0)  # (R*K, Z), candidates of a row are adjacent
            for s, d in enumerate(dims):
                cand_z[:, d] = (x[:, s][:, None] + step[:, s][:, None] * np.array(factors)).reshape(-1)
            cand_tok, cand_att = self._decode_measure(cand_z, temperature, gen)
            n_decoded += cand_z.shape[0]
            cand_ref = None if ref is None else np.repeat(ref[rows], K, axis=0)
            cand_score = self._score(cand_att, np.repeat(asked[rows], K, axis=0), cand_tok, cand_ref, weight)
            cand_score = cand_score.reshape(-1, K)
            pick = cand_score.argmin(axis=1)
            chosen = np.arange(rows.size) * K + pick
            if prev_x is None:
                prev_x, prev_y = np.zeros((z.shape[0], len(dims))), np.zeros((z.shape[0], len(cols)))
            better = cand_score[np.arange(rows.size), pick] < best_score[rows]
            # Secant memory: a row that improved remembers its old best point; a row that did not remembers the
            # exact-step candidate, so the next round learns the slope from it instead of repeating the same step.
            exact = np.arange(rows.size) * K + factors.index(1.0)
            prev_x[rows] = np.where(better[:, None], x, cand_z[np.ix_(exact, dims)])
            prev_y[rows] = np.where(better[:, None], y, cand_att[np.ix_(exact, cols)])
            stall[rows] = np.where(better, 0, stall[rows] + 1)
            upd = rows[better]
            best_z[upd] = cand_z[chosen[better]]
            best_tok[upd] = cand_tok[chosen[better]]
            best_att[upd] = cand_att[chosen[better]]
            best_score[upd] = cand_score[np.arange(rows.size), pick][better]
        n_decoded += self._sweep(best_z, best_tok, best_att, best_score, asked, ref, weight, steer, temperature, gen,
                                 t0, budget_ms)  # fmt: skip
        return best_tok, best_att, best_z, n_decoded, rounds

    def _predicted_move(
        self,
        z: np.ndarray,
        asked: np.ndarray,
        weight: np.ndarray,
        dims: list[int],
        achieved: np.ndarray | None = None,
        iters: int = PREDICTOR_ITERS,
    ) -> np.ndarray:
        """z (B, Z) with the dims moved so that the attribute predictor expects the asked values (B, A).

        Attributes not scored (NaN) get weight 0. With `achieved` (the measured attributes of decode(z)), the
        targets are first shifted by the predictor's miss at z (achieved - predicted), so a row corrects from
        where it really is.
        """
        pred = self._predictor
        w = np.where(np.isnan(asked), 0.0, weight[None, :])
        zt = torch.from_numpy(z.astype(np.float32)).to(self.device)
        at = torch.from_numpy(np.nan_to_num(asked).astype(np.float32)).to(self.device)
        if achieved is not None:
            at = at - (torch.from_numpy(achieved.astype(np.float32)).to(self.device) - pred(zt))
        wt = torch.from_numpy(w.astype(np.float32)).to(self.device)
        return pred.solve(zt, dims, at, wt, iters=iters).cpu().numpy().astype(np.float64)

    def _sweep(self, best_z, best_tok, best_att, best_score, asked, ref, weight, steer, temperature, gen, t0,
               budget_ms) -> int:  # fmt: skip
        """Last resort for rows still missing a target: try fixed offsets both ways along each missing dim.

        Secant steps stall where the attribute sits on a plateau of the latent dim (a count that does not change
        over a stretch of z); a fixed grid of offsets steps over it. Updates the best arrays in place.

        Returns:
            The number of measures decoded.
        """
        cols = [k for k, _ in steer]
        err = np.abs(np.nan_to_num(asked[:, cols] - best_att[:, cols]))
        missing = err > self._tolerance[cols]
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size == 0:
            return 0
        pairs = [(r, a.latent_dim) for r in rows for s, (_, a) in enumerate(steer) if missing[r, s]]  # (row, dim)
        # The whole grid when the time budget allows, else one step each way.
        grid = next((g for g in (SWEEP_OFFSETS, (-1.0, 1.0)) if _fits(len(pairs) * len(g), t0, budget_ms,
                                                                      self._cost)), None)  # fmt: skip
        if grid is None:
            return 0
        offsets = np.array(grid)
        n = len(pairs) * offsets.size
        pr = np.array([r for r, _ in pairs])
        pd = np.array([d for _, d in pairs])
        cand_z = np.repeat(best_z[pr], offsets.size, axis=0)
        cand_z[np.arange(n), np.repeat(pd, offsets.size)] += np.tile(offsets, len(pairs))
        cand_tok, cand_att = self._decode_measure(cand_z, temperature, gen)
        row_of = np.repeat(pr, offsets.size)
        cand_ref = None if ref is None else ref[row_of]
        cand_score = self._score(cand_att, asked[row_of], cand_tok, cand_ref, weight)
        for r in rows:  # few rows: keep the best candidate of each if it beats the current best
            idx = np.flatnonzero(row_of == r)
            j = idx[cand_score[idx].argmin()]
            if cand_score[j] < best_score[r]:
                best_z[r], best_tok[r], best_att[r], best_score[r] = cand_z[j], cand_tok[j], cand_att[j], cand_score[j]
        return n


class DecodeCost:
    """A running model of what decoding and measuring n candidate measures costs: scale * (fixed_ms + per_row_ms * n).

    fixed_ms and per_row_ms are measured once at warm-up (`calibrate`); scale follows the observed/predicted ratio
    of every decode since (an exponential moving average), so the estimate tracks a machine that gets busier or
    quieter. Before, each request estimated from its own first decode alone, and one late wake-up of that decode
    made every later round look too costly: at the default 8 ms budget the rounds run per bar swung between about
    1 and 3 from one run of the benchmark to the next.
    """

    def __init__(self, fixed_ms: float = 1.0, per_row_ms: float = 0.15) -> None:
        self.fixed_ms, self.per_row_ms, self.scale = fixed_ms, per_row_ms, 1.0

    def calibrate(self, samples: Sequence[tuple[int, float]]) -> None:
        """Fit fixed and per-row cost to (rows, ms) samples at two or more batch sizes (least squares)."""
        rows = np.array([r for r, _ in samples], dtype=np.float64)
        ms = np.array([m for _, m in samples], dtype=np.float64)
        per_row, fixed = np.polyfit(rows, ms, 1)
        self.per_row_ms, self.fixed_ms, self.scale = max(float(per_row), 1e-3), max(float(fixed), 0.0), 1.0

    def predict(self, n_rows: int) -> float:
        return self.scale * (self.fixed_ms + self.per_row_ms * n_rows)

    def observe(self, n_rows: int, ms: float) -> None:
        ratio = ms / (self.fixed_ms + self.per_row_ms * n_rows)
        self.scale = 0.8 * self.scale + 0.2 * min(max(ratio, 0.5), 4.0)


# Time a refinement round spends outside decoding (the predictor's solve, the scoring), in ms.
ROUND_MARGIN_MS = 0.3


def _fits(n_rows: int, t0: float, budget_ms: float | None, cost: DecodeCost) -> bool:
    """Whether decoding and measuring n_rows more measures should end within budget_ms of t0 (always, with no
    budget)."""
    if budget_ms is None:
        return True
    elapsed_ms = (time.perf_counter() - t0) * 1e3
    return elapsed_ms + ROUND_MARGIN_MS + cost.predict(n_rows) <= budget_ms


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise RepresentationError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_temperature(temperature: float) -> None:
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and 0.0 <= temperature <= 10.0):
        raise RepresentationError(f"temperature must be in range 0..10, got {temperature!r}")


def nearest_velocities(starts: np.ndarray, source: Sequence[Note], default: int = 100) -> np.ndarray:
    """The velocity of the input note whose onset is nearest to each time (the earlier one on a tie).

    Args:
        starts: float (N,) onsets in beats.
        source: input notes; when empty every velocity is `default`.
        default: velocity 1..127 used without input notes.

    Returns:
        int64 (N,) velocities.
    """
    starts = np.asarray(starts, dtype=np.float64)
    if not source:
        return np.full(starts.shape, default, dtype=np.int64)
    # One searchsorted over all onsets: among input notes with equal onsets (stable order) the one met first from
    # the note's side is taken, as a note-by-note binary search does (tests/test_fast_paths.py).
    src_starts = np.fromiter((s.start_beats for s in source), dtype=np.float64, count=len(source))
    src_vels = np.fromiter((s.velocity for s in source), dtype=np.int64, count=len(source))
    order = np.argsort(src_starts, kind="stable")
    src_starts, src_vels = src_starts[order], src_vels[order]
    i = np.searchsorted(src_starts, starts)
    last = len(src_starts)
    before = src_starts[np.maximum(i - 1, 0)]
    after = src_starts[np.minimum(i, last - 1)]
    i -= (i == last) | ((i > 0) & (starts - before <= after - starts))
    return src_vels[i]


def carry_velocities(notes: Sequence[Note], source: Sequence[Note], default: int = 100) -> list[Note]:
    """Give each output note the velocity of the input note whose onset is nearest (earlier one on a tie).

    Args:
        notes: output notes (times in beats).
        source: input notes; when empty every note gets `default`.
        default: velocity 1..127 used without input notes.

    Returns:
        New notes, same pitches and times, velocities carried over.
    """
    notes = list(notes)
    if not source:
        return [Note(n.pitch, n.start_beats, n.dur_beats, default) for n in notes]
    starts = np.fromiter((n.start_beats for n in notes), dtype=np.float64, count=len(notes))
    vels = nearest_velocities(starts, source, default).tolist()
    return [Note(n.pitch, n.start_beats, n.dur_beats, v) for n, v in zip(notes, vels, strict=True)]
