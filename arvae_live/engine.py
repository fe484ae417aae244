"""LiveModel: a checkpoint loaded for inference; regenerate, sample and interpolate token measures. No I/O.

    lm = LiveModel.from_checkpoint(path, device="cpu")
    res = lm.regenerate(tokens (M, 24), {"note_density": 0.8}, variations=1, temperature=0.0, seed=0)
    res.tokens (V, M, 24); res.asked {name: (M,)}; res.achieved {name: (V, M)}; res.engine_ms

`regenerate` works on all the clip's measures and all variations in one batch (docs/daemon.md, "The engine"):

1. Encode the measures once (posterior mean; variations after the first add seeded posterior noise), with the
   checkpoint's distilled encoder when it has one (core/distilled_encoder.py), else the model's GRU encoder. The
   encoding and the input's attributes of the last ENCODE_CACHE_MEASURES measures are cached, since a dial sweep
   re-sends the same clip with new targets and an edited clip keeps most of its bars.
2. Steer, all rows (variations x measures) at once, with the model's `ClosedLoop` (arvae_live/steering.py). The
   open loop (the paper, `closed_loop=False`) sets each targeted attribute's regularised latent dim to the
   calibrated value for its target and decodes. The closed loop adds a first guess solved on the checkpoint's
   attribute predictor, then measures the decoded measures, refines the rows that miss a target and sweeps along
   the dims that still miss, keeping per row the candidate with the best score, within the time budget
   (`budget_ms`).

Attributes not targeted aim at the input measure's own value, so they are held rather than left to drift. `sample`
steers measures drawn from the prior (only the targeted attributes are scored); `interpolate` decodes points on the
line between two clips' encodings. Decoding is `FastDecoder`'s (arvae_live/fast_decode.py).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arvae_live.core.attributes import AttributeSpec
from arvae_live.core.checkpoint import load_checkpoint
from arvae_live.core.device import resolve_device
from arvae_live.core.distilled_encoder import DistilledEncoder
from arvae_live.core.key import allowed_tokens, melody_scale
from arvae_live.core.model import MeasureVAE
from arvae_live.core.predictor import AttributePredictor
from arvae_live.core.representation import Vocabulary, tokens_to_note_arrays
from arvae_live.errors import ConfigError, RepresentationError, UnknownAttributeError
from arvae_live.fast_decode import FastDecoder
from arvae_live.steering import (
    Budget,
    Candidates,
    ClosedLoop,
    Request,
    first_last_onsets,
    join_bars,
    measure,
)

# regenerate's scale: "auto" (the input's key), "off" or None (chromatic), or pitch classes 0..11.
ScaleArg = str | Sequence[int] | frozenset[int] | None


@dataclass(frozen=True)
class Clips:
    """Several clips end to end in one regenerate call (batch regeneration of several files): the measures of each
    and each one's scale (a ScaleArg), in order."""

    lengths: tuple[int, ...]
    scales: tuple[ScaleArg, ...]

    def check(self, n_measures: int) -> None:
        """RepresentationError unless the lengths are positive, add up to n_measures and have one scale each."""
        if not self.lengths or min(self.lengths) < 1 or sum(self.lengths) != n_measures:
            raise RepresentationError(f"clips must be positive lengths adding up to {n_measures}, got {self.lengths}")
        if len(self.scales) != len(self.lengths):
            raise RepresentationError(f"clips: {len(self.lengths)} clips and {len(self.scales)} scales")


ENCODERS = ("auto", "full")  # LiveModel.from_checkpoint's choices (serve --encoder)
# Measures whose encoding is kept: a dial sweep re-sends the same clip, an edit keeps most of its bars.
ENCODE_CACHE_MEASURES = 4096


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
        key: the key whose scale limited the output's pitches ("G major", "custom"), or None (any pitch, or
            several clips: see keys).
    """

    tokens: np.ndarray
    asked: dict[str, np.ndarray]
    achieved: dict[str, np.ndarray]
    engine_ms: float
    n_decoded: int = 0
    rounds: int = 0
    latents: np.ndarray | None = field(default=None, repr=False)  # (V, M, Z) latents of the kept candidates
    key: str | None = None
    keys: list[str | None] = field(default_factory=list)  # one per clip (regenerate's clips)


class LiveModel:
    """A checkpoint loaded for inference: encode, steer, decode, measure. Not thread-safe; one caller at a time.

    `steering` is the model's ClosedLoop (arvae_live/steering.py): its parts can be called alone, on this model's
    decoder, attributes and predictor.
    """

    def __init__(
        self,
        model: MeasureVAE,
        attributes: Sequence[AttributeSpec],
        vocab: Vocabulary,
        model_id: str = "model",
        device: str | torch.device = "cpu",
        predictor: AttributePredictor | None = None,
        distilled_encoder: DistilledEncoder | None = None,
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
        self.grid = model.grid  # the measure grid: which meters this model serves (core/meters.py)
        self.ticks = model.ticks  # tokens per measure, 24 (4/4, 12/8) or 18 (3/4)
        self._decoder = FastDecoder(self.model)
        # New measures are encoded by the checkpoint's distilled encoder when it has one (core/distilled_encoder.py
        # says why, and how close it comes), else by the model's GRU encoder.
        self.distilled_encoder = None if distilled_encoder is None else distilled_encoder.eval().to(self.device)
        self._encoder = self.model.encode if self.distilled_encoder is None else self.distilled_encoder
        # measure tokens (bytes) -> (mu (Z,), logvar (Z,), normalised attributes (A,)), least recently used first
        self._encode_cache: OrderedDict[bytes, tuple[torch.Tensor, torch.Tensor, np.ndarray]] = OrderedDict()
        # The closed loop's first guess comes from the attribute predictor when the checkpoint has one, else from
        # the calibration tables (core/predictor.py says why). Its decode-cost model is calibrated in warm_up.
        self.steering = ClosedLoop(
            self.attributes,
            self._decode,
            self.device,
            None if predictor is None else predictor.eval().to(self.device),
            self.grid,
        )

    @property
    def encoder_name(self) -> str:
        """Which encoder new measures go through, for reports: "distilled" or "GRU"."""
        return "GRU" if self.distilled_encoder is None else "distilled"

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", encoder: str = "auto") -> LiveModel:
        """Load an inference (or training) checkpoint, in eval mode, and run one warm-up regeneration.

        Args:
            path: checkpoint file.
            device: 'cpu', 'cuda', 'cuda:N' or 'auto'.
            encoder: "auto": the checkpoint's distilled encoder for new measures when it has one, else the model's
                GRU encoder; "full": always the GRU encoder (exact, slower for a new clip). ENCODERS lists them.

        Raises:
            CheckpointError: unreadable, foreign or malformed file (the message names it).
        """
        path = Path(path)
        ckpt = load_checkpoint(path)
        device = resolve_device(device)
        if encoder not in ENCODERS:
            raise ConfigError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
        distilled = ckpt.build_distilled_encoder() if encoder == "auto" else None
        lm = cls(
            ckpt.build_model(), ckpt.attributes, ckpt.vocabulary, path.stem, device, ckpt.build_predictor(), distilled
        )
        lm.warm_up()
        return lm

    def warm_up(self) -> None:
        """Run one small regeneration so the first real request does not pay for lazy initialisation, then time
        decoding at live batch sizes (4 to 32 measures, twice each, about 30 ms on a CPU) for the budget."""
        rest = np.zeros((1, self.ticks), dtype=np.int64)
        rest[0, 0] = 1
        self.regenerate(rest, {})
        self._encode_cache.clear()
        z = torch.randn(32, self.latent_dim, generator=torch.Generator().manual_seed(0)).numpy().astype(np.float64)
        samples = []
        with torch.inference_mode():
            for n in (4, 8, 16, 32, 4, 8, 16, 32):
                t = time.perf_counter()
                measure(self.attributes, self._decode(z[:n], 0.0, None), self.grid)
                samples.append((n, (time.perf_counter() - t) * 1e3))
        self.steering.cost.calibrate(samples)

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
        values = measure(self.attributes, self._check_tokens(tokens), self.grid)
        return {a.name: values[:, k].copy() for k, a in enumerate(self.attributes)}

    def _check_tokens(self, tokens: np.ndarray) -> np.ndarray:
        arr = np.asarray(tokens)
        if arr.ndim != 2 or arr.shape[1] != self.ticks or arr.shape[0] < 1:
            raise RepresentationError(f"tokens must have shape (M >= 1, {self.ticks}), got {arr.shape}")
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

    # ---- the work -----------------------------------------------------------------------------------------------

    def _encode(self, tokens: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(mu (M, Z), logvar (M, Z), normalised attributes (M, A)) of a clip's measures, cached per measure.

        A dial sweep re-sends the same clip with new targets, a performer's edit changes a bar or two of it, and a
        loop repeats its bars: only measures not in the cache (the last ENCODE_CACHE_MEASURES seen) are encoded,
        each distinct one once. The encoder is most of a new clip's cost (a bidirectional GRU over every tick: 4 to
        10 ms for 8 bars on our CPUs, depending on the machine), so this is what an edited clip saves.
        """
        cache = self._encode_cache
        keys = [row.tobytes() for row in tokens]
        missing = [k for k in dict.fromkeys(keys) if k not in cache]  # distinct, in order
        if missing:
            rows = np.stack([np.frombuffer(k, dtype=tokens.dtype) for k in missing]).astype(np.int64)
            mu, logvar = self._encoder(torch.from_numpy(rows).to(self.device))
            attrs = measure(self.attributes, rows, self.grid)
            for i, k in enumerate(missing):
                cache[k] = (mu[i], logvar[i], attrs[i])
        entries = [cache[k] for k in keys]  # before trimming: a batch call may hold more measures than the cache
        for k in keys:
            cache.move_to_end(k)
        while len(cache) > ENCODE_CACHE_MEASURES:
            cache.popitem(last=False)
        return (
            torch.stack([e[0] for e in entries]),
            torch.stack([e[1] for e in entries]),
            np.stack([e[2] for e in entries]),
        )

    def _decode(
        self, z: np.ndarray, temperature: float, generator: torch.Generator | None, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        zt = torch.from_numpy(z.astype(np.float32)).to(self.device)
        mask = None if allowed is None else torch.from_numpy(allowed).to(self.device)
        return self._decoder.decode(zt, temperature, generator, mask).cpu().numpy()

    def scale_for(self, tokens: np.ndarray, scale: ScaleArg) -> tuple[np.ndarray | None, str | None]:
        """The tokens decoding may emit for a clip, and the key's name (see regenerate's `scale`).

        Returns:
            (bool (V,) allowed tokens or None for all, a name such as "G major" or "custom" or None).
        """
        if scale is None or scale == "off":
            return None, None
        pitches, _, durations = tokens_to_note_arrays(tokens, self.vocab)
        own = {int(p) % 12 for p in pitches}  # the input's own chromatic notes stay possible
        if isinstance(scale, str):
            if scale != "auto":
                raise RepresentationError(f"scale must be 'auto', 'off' or a set of pitch classes 0..11, got {scale!r}")
            key, classes = melody_scale(pitches, durations)
            return (None, None) if key is None else (allowed_tokens(classes, self.vocab), key.name)
        classes = {int(c) for c in scale}
        if not classes or any(not 0 <= c <= 11 for c in classes):
            raise RepresentationError(f"scale pitch classes must be 0..11 (0 = C), at least one; got {sorted(classes)}")
        return allowed_tokens(classes | own, self.vocab), "custom"

    def regenerate(
        self,
        tokens: np.ndarray,
        targets: Mapping[str, float | np.ndarray],
        variations: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        closed_loop: bool = True,
        budget_ms: float | None = None,
        scale: ScaleArg | Clips = "auto",
        since: float | None = None,
    ) -> Regeneration:
        """Regenerate a clip's measures with attribute targets.

        Args:
            tokens: int64 (M, 24), the clip's measures (from notes_to_tokens).
            targets: {attribute: normalised 0..1, one float or (M,) per measure}; attributes not named keep the
                input measure's value.
            variations: V >= 1; variation 0 starts from the posterior mean, the others from seeded posterior samples.
            temperature: 0 for argmax decoding; > 0 samples tokens (seeded).
            seed: random seed for variations and sampling; the same call with the same seed gives the same tokens.
            closed_loop: refine by measuring decoded candidates (True; at most `steering.max_rounds` rounds) or trust
                the calibrated latent move (False).
            budget_ms: no refinement round or sweep starts when it would likely end after this much time since the
                call began (estimated by the decode-cost model, steering.DecodeCost); None: no limit. The first
                guess is always decoded, so this bounds the latency of the closed loop without ever failing.
            scale: which pitches the output may use, besides the input's own: "auto" (the default) the diatonic
                scale of the input's Krumhansl-Kessler key (core/key.py); a collection of pitch classes 0..11 (a
                scale the client knows, e.g. Live's); None or "off": any pitch. `Clips` when tokens are several
                clips end to end (batch regeneration of several files in one call): each has its own scale, and no
                bar line is joined across two clips.
            since: time.perf_counter() when the request arrived (the daemon's datagram): budget_ms counts from then,
                so queueing, uploading and encoding a clip not seen before come out of the budget instead of adding
                to it. None: from this call.

        Variation 0 at temperature 0 keeps every bar whose targets equal its own values as it is; the other bars keep
        as many of their notes as the targets allow (steering.py, `splice`).

        Returns:
            Regeneration with tokens (V, M, 24), asked {name: (M,)}, achieved {name: (V, M)}, and key (keys: one
            per clip).

        Raises:
            UnknownAttributeError: a target names an attribute the model does not have or cannot steer.
            RepresentationError: bad tokens, a target outside 0..1 or bad clips (all ValueErrors).
        """
        t0 = time.perf_counter() if since is None else since
        tokens = self._check_tokens(tokens)
        M = tokens.shape[0]
        V = _check_count("variations", variations)
        _check_temperature(temperature)
        parsed = self._parse_targets(targets, M)
        clips = scale if isinstance(scale, Clips) else Clips((M,), (scale,))
        clips.check(M)
        allowed, keys, before, after = self._clip_context(tokens, clips)
        with torch.inference_mode():
            mu, logvar, input_attrs = self._encode(tokens)  # input_attrs: (M, A)
            z = self._start_latents(mu, logvar, V, seed)
            asked = np.array(input_attrs)
            for k, a in enumerate(self.attributes):
                if a.name in parsed:
                    asked[:, k] = parsed[a.name]
            req = self._request(
                np.tile(asked, (V, 1)), parsed, np.tile(tokens, (V, 1)), temperature, seed, t0, budget_ms
            )
            req.before, req.after = np.tile(before, V), np.tile(after, V)
            req.allowed = allowed if allowed is None or allowed.ndim == 1 else np.tile(allowed, (V, 1))
            if temperature == 0:  # variation 0 may come back as the input where nothing was asked of a bar
                req.input_rows = np.arange(V * M) < M
            best, rounds = self.steering.steer(z, req, closed_loop)
            join_bars(best, req, clips.lengths, self.vocab.size, self.attributes, self.grid)
        result = self._result(
            best, rounds, req, (V, M), {a.name: asked[:, k].copy() for k, a in enumerate(self.attributes)}
        )
        result.keys = keys
        result.key = keys[0] if len(keys) == 1 else None
        return result

    def _start_latents(self, mu: torch.Tensor, logvar: torch.Tensor, variations: int, seed: int) -> np.ndarray:
        """(V*M, Z) starting latents, variation-major: the posterior mean, then seeded posterior samples."""
        z0 = mu.cpu().numpy().astype(np.float64)
        if variations == 1:
            return z0.copy()
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        noise = torch.randn(variations - 1, *z0.shape, generator=gen).numpy()
        sigma = torch.exp(0.5 * logvar).cpu().numpy()
        return np.concatenate([z0[None], z0[None] + noise * sigma[None]]).reshape(variations * z0.shape[0], -1)

    def _clip_context(
        self, tokens: np.ndarray, clips: Clips
    ) -> tuple[np.ndarray | None, list[str | None], np.ndarray, np.ndarray]:
        """Per clip of tokens: the allowed tokens (V,) for one clip or (M, V) for several (None: all), each clip's
        key name, and each measure's neighbouring notes (before, after), float (M,) each, NaN at the clip's edges."""
        segments = clips.lengths
        masks, keys, befores, afters = [], [], [], []
        for start, n, clip_scale in zip(np.cumsum([0, *segments[:-1]]), segments, clips.scales):
            clip = tokens[start : start + n]
            mask, key = self.scale_for(clip, clip_scale)
            masks.append(mask)
            keys.append(key)
            b, a = neighbour_notes(clip)
            befores.append(b)
            afters.append(a)
        if len(segments) == 1 or all(m is None for m in masks):
            allowed = masks[0]
        else:
            every = np.ones(self.vocab.size, dtype=bool)
            allowed = np.concatenate([np.tile(every if m is None else m, (n, 1)) for m, n in zip(masks, segments)])
        return allowed, keys, np.concatenate(befores), np.concatenate(afters)

    def sample(
        self,
        n_measures: int,
        targets: Mapping[str, float | np.ndarray],
        variations: int = 1,
        temperature: float = 1.0,
        seed: int = 0,
        closed_loop: bool = True,
        budget_ms: float | None = None,
        scale: Sequence[int] | None = None,
        since: float | None = None,
    ) -> Regeneration:
        """New measures from the prior, with the targeted attributes steered (closed loop on those only).

        Args:
            n_measures: M >= 1 measures per variation.
            targets: {attribute: normalised 0..1, one float or (M,)}; attributes not named are free.
            variations: V >= 1.
            temperature: 0 for argmax decoding, > 0 samples tokens.
            seed: random seed for the latents and the token sampling.
            closed_loop, budget_ms, since: as for regenerate.
            scale: pitch classes 0..11 the new notes keep to (there is no input to take a key from), or None: any.

        Returns:
            Regeneration; asked holds the targeted attributes only.
        """
        t0 = time.perf_counter() if since is None else since
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
            req = self._request(np.tile(asked, (V, 1)), parsed, None, temperature, seed, t0, budget_ms)
            no_notes = np.zeros((0, self.ticks), dtype=np.int64)  # sampling has no input to add pitches
            req.allowed = None if scale is None else self.scale_for(no_notes, scale)[0]
            best, rounds = self.steering.steer(z, req, closed_loop)
        asked_out = {a.name: asked[:, k].copy() for k, a in enumerate(self.attributes) if a.name in parsed}
        return self._result(best, rounds, req, (V, M), asked_out)

    def _request(
        self,
        asked: np.ndarray,
        parsed: Mapping[str, np.ndarray],
        ref: np.ndarray | None,
        temperature: float,
        seed: int,
        t0: float,
        budget_ms: float | None,
    ) -> Request:
        """The steering request for (V*M, A) targets: token sampling seeded with seed + 1 (seed itself draws the
        latents), the call's budget counted from t0."""
        gen = torch.Generator(device=self.device).manual_seed(int(seed) + 1) if temperature > 0 else None
        budget = Budget(self.steering.cost, budget_ms, t0)
        return Request(asked, frozenset(parsed), ref, temperature, gen, budget)

    def _result(
        self, best: Candidates, rounds: int, req: Request, shape: tuple[int, int], asked: dict[str, np.ndarray]
    ) -> Regeneration:
        """The Regeneration of steered candidates, rows variation-major, shape (V, M)."""
        achieved = {a.name: best.attributes[:, k].reshape(shape) for k, a in enumerate(self.attributes)}
        return Regeneration(
            tokens=best.tokens.reshape(*shape, self.ticks),
            asked=asked,
            achieved=achieved,
            engine_ms=(time.perf_counter() - req.budget.t0) * 1e3,
            n_decoded=req.budget.decoded,
            rounds=rounds,
            latents=best.z.reshape(*shape, -1),
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
        achieved = measure(self.attributes, out, self.grid)
        return Regeneration(
            tokens=out.reshape(S, M, self.ticks),
            asked={},
            achieved={a.name: achieved[:, k].reshape(S, M) for k, a in enumerate(self.attributes)},
            engine_ms=(time.perf_counter() - t0) * 1e3,
            n_decoded=S * M,
            latents=z.reshape(S, M, -1),
        )


def neighbour_notes(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each measure of a clip (M, 24): the token id of the last note before it and of the first note after it,
    float (M,) each, NaN where there is none (for the bar-line leap term of the score)."""
    first, last = first_last_onsets(tokens)
    M = tokens.shape[0]
    before, after = np.full(M, np.nan), np.full(M, np.nan)
    for m in range(1, M):
        before[m] = last[m - 1] if not np.isnan(last[m - 1]) else before[m - 1]
    for m in range(M - 2, -1, -1):
        after[m] = first[m + 1] if not np.isnan(first[m + 1]) else after[m + 1]
    return before, after


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise RepresentationError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_temperature(temperature: float) -> None:
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and 0.0 <= temperature <= 10.0):
        raise RepresentationError(f"temperature must be in range 0..10, got {temperature!r}")
