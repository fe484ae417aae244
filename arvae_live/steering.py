"""The closed loop: find, per measure, a latent z whose decoded measure meets the attribute targets.

All rows (variations x measures) are steered at once. A row's candidate is a latent z, the tokens it decodes to, their
measured attributes and a score (lower is better); `Candidates` holds one per row. `ClosedLoop.steer` runs the parts
in order, each of which is public and usable alone:

1. `first_guess`: the paper's move (each targeted attribute's regularised dim set to the calibrated value for its
   target, `calibrated_latent`) and, in the closed loop with an attribute predictor, the predictor's solve from the
   unmoved z; both decoded in one batch, the better kept per row.
2. `refine`: up to max_rounds rounds for the rows that still miss a target by more than its tolerance: move the dims
   (a predictor re-solve with the targets shifted by its measured miss, or a secant step per attribute without one),
   decode 0.5x, 1x and 2x the move in one batch, keep a candidate that beats the row's best.
3. `sweep`: fixed offsets along each dim that still misses, to step over plateaus where a count does not change.
4. `splice`: per row, every mix of the input's beats and the best candidate's beats is measured (no decoding), and
   the one that meets the targets while changing the fewest notes is kept: what was not asked to change, stays.

With an input (regenerate), the input itself is a candidate for the rows of variation 0 at temperature 0: a bar whose
targets equal its own values comes back unchanged, and is not decoded at all. Decoding can be limited to a set of
tokens (`Request.allowed`: a key's scale plus the input's own pitches), so every candidate, and thus every output,
stays in key.

`score` is the weighted miss beyond tolerance, plus a small term for the notes that differ from the input (pitched
onsets, not holds) and one for a leap over an octave at a bar line that the input did not have. Every decode
goes through `ClosedLoop.decode_measure`, which times it for the call's `Budget`: no step starts that the
`DecodeCost` model expects to end after the budget. docs/daemon.md ("The engine") describes the loop and its numbers.

Values are attributes normalised to 0..1 over each AttributeSpec's range; z is in latent units (the prior is N(0, 1)).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from arvae_live.core.attributes import AttributeSpec, compute_attributes, get_attribute
from arvae_live.core.meters import SIMPLE, TICKS_PER_BEAT, Grid
from arvae_live.core.predictor import AttributePredictor
from arvae_live.core.representation import FIRST_PITCH_TOKEN

MIN_TOLERANCE = 0.005  # normalised; for attributes whose quantum is 0 (continuous) or tiny against their range
# Weight of the notes changed against the input (0..1, see note_change) in the score: small against a missed target
# (normalised units), so closeness only decides among candidates that meet the targets about equally.
KEEP_WEIGHT = 0.02
# Weight of a new leap over an octave at either bar line of a measure (against the input's neighbouring notes): a bar
# must join the bars around it; about a tenth of a dial's range.
LEAP_WEIGHT = 0.1
LEAP_SEMITONES = 12
# Weight of an attribute that was not targeted (held at the input's value) against a targeted one in the score: the
# performer asked for the targets, so a candidate may let the others drift a little to meet them.
UNTARGETED_WEIGHT = 0.25
# Step sizes tried per round, as multiples of the move: short, exact, long (attributes move in jumps, so the exact
# step often lands on the same value and a longer one is needed).
STEP_FACTORS = (0.5, 1.0, 2.0)
MAX_ROUNDS = 3  # refinement rounds after the first guess
# Offsets along a regularised dim tried for rows that still miss after the rounds (plateaus).
SWEEP_OFFSETS = (-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0)
MAX_STEP_Z = 3.0  # largest move of a latent dim in one round
# Gauss-Newton steps on the attribute predictor: for the first guess, and per refinement round (which starts close).
PREDICTOR_ITERS = 4
PREDICTOR_ROUND_ITERS = 2
# Time a refinement round spends outside decoding (the predictor's solve, the scoring), in ms.
ROUND_MARGIN_MS = 0.3

# z (B, Z), temperature, gen, allowed tokens (V,) or None -> tokens (B, 24)
Decode = Callable[[np.ndarray, float, torch.Generator | None, np.ndarray | None], np.ndarray]


# ---- measuring and scoring ------------------------------------------------------------------------------------------


def measure(attributes: Sequence[AttributeSpec], tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """(B, A) normalised 0..1 attributes of (B, grid.ticks) tokens, columns in the order of attributes."""
    raw = compute_attributes(tokens, [a.name for a in attributes], grid)
    return np.stack([a.normalise(raw[a.name]) for a in attributes], axis=1)


def tolerances(attributes: Sequence[AttributeSpec], grid: Grid = SIMPLE) -> np.ndarray:
    """(A,) the normalised miss within which a target counts as met: half the attribute's quantum (one onset, one
    semitone) over the model's range, at least MIN_TOLERANCE. Attributes are counts, so most targets fall between
    two values a measure can have."""
    return np.array(
        [max(MIN_TOLERANCE, 0.5 * get_attribute(a.name).quantum(grid) / (a.high - a.low)) for a in attributes]
    )


def note_change(tokens: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(B,) the share of notes that differ between tokens and ref (B, 24), 0..1: onsets (pitch on a tick) in one but
    not the other, over the onsets of both. Holds and rests do not count: a performer hears notes. 0 when neither
    has an onset."""
    on_t, on_r = tokens >= FIRST_PITCH_TOKEN, ref >= FIRST_PITCH_TOKEN
    same = (on_t & on_r & (tokens == ref)).sum(axis=1)
    total = on_t.sum(axis=1) + on_r.sum(axis=1)
    return np.where(total > 0, (total - 2 * same) / np.maximum(total, 1), 0.0)


def first_last_onsets(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B,) float token ids of the first and last onset of each of tokens (B, 24); NaN where a row has none."""
    on = tokens >= FIRST_PITCH_TOKEN
    has = on.any(axis=1)
    rows = np.arange(tokens.shape[0])
    first = tokens[rows, on.argmax(axis=1)].astype(np.float64)
    last = tokens[rows, tokens.shape[1] - 1 - on[:, ::-1].argmax(axis=1)].astype(np.float64)
    return np.where(has, first, np.nan), np.where(has, last, np.nan)


def new_leaps(tokens: np.ndarray, ref: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(B,) how many of a measure's two bar lines get a leap over LEAP_SEMITONES that the input did not have there.

    Args:
        tokens, ref: (B, 24) candidates and the input measures.
        before: (B,) token id of the last note before each measure, after: of the first note after it (NaN: none).
    """
    first, last = first_last_onsets(tokens)
    ref_first, ref_last = first_last_onsets(ref)
    with np.errstate(invalid="ignore"):
        leap_in = (np.abs(first - before) > LEAP_SEMITONES) & ~(np.abs(ref_first - before) > LEAP_SEMITONES)
        leap_out = (np.abs(after - last) > LEAP_SEMITONES) & ~(np.abs(after - ref_last) > LEAP_SEMITONES)
    return leap_in.astype(np.float64) + leap_out


def score(
    achieved: np.ndarray,
    asked: np.ndarray,
    tolerance: np.ndarray,
    weight: np.ndarray,
    tokens: np.ndarray | None = None,
    ref: np.ndarray | None = None,
) -> np.ndarray:
    """Per-row score, lower is better: sum over attributes of weight x (miss beyond tolerance), plus KEEP_WEIGHT x
    the share of notes changed against ref (`note_change`).

    Args:
        achieved, asked: (B, A) normalised attributes; NaN in asked where an attribute is not scored.
        tolerance: (A,) from `tolerances`.
        weight: (A,) 1 for targeted attributes, UNTARGETED_WEIGHT for those held at the input's value.
        tokens, ref: (B, 24) the candidates' tokens and the input's, or None to leave closeness out.
    """
    miss = np.nan_to_num(np.maximum(np.abs(achieved - asked) - tolerance, 0.0), nan=0.0) @ weight
    if ref is not None:
        miss = miss + KEEP_WEIGHT * note_change(tokens, ref)
    return miss


def target_weights(attributes: Sequence[AttributeSpec], targeted: set[str] | frozenset[str]) -> np.ndarray:
    """(A,) score weights: 1 for a targeted attribute, UNTARGETED_WEIGHT for the others."""
    return np.array([1.0 if a.name in targeted else UNTARGETED_WEIGHT for a in attributes])


# ---- calibration-table moves ----------------------------------------------------------------------------------------


def calibrated_latent(spec: AttributeSpec, value: np.ndarray) -> np.ndarray:
    """The paper's move: the latent value on spec's dim for normalised value(s), from the calibration table; a linear
    -3..3 map when the spec has no calibration."""
    if spec.calibration_z:
        return spec.latent_for(spec.denormalise(value))
    return (np.asarray(value, dtype=np.float64) - 0.5) * 6.0


def calibration_slope(spec: AttributeSpec, z: np.ndarray) -> np.ndarray:
    """d(normalised attribute)/dz of the calibration table at z (finite differences), floored at 0.02 to stay
    positive; 1/6 (the linear map) without a calibration."""
    if spec.calibration_z and len(spec.calibration_z) >= 2:
        cz = np.asarray(spec.calibration_z)
        cn = spec.normalise(np.asarray(spec.calibration_raw))
        seg = np.clip(np.searchsorted(cz, z) - 1, 0, len(cz) - 2)
        slope = (cn[seg + 1] - cn[seg]) / np.maximum(cz[seg + 1] - cz[seg], 1e-9)
    else:
        slope = np.full(np.shape(z), 1 / 6.0)
    return np.maximum(slope, 0.02)


# ---- the time budget ------------------------------------------------------------------------------------------------


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
        """Expected ms to decode and measure n_rows measures."""
        return self.scale * (self.fixed_ms + self.per_row_ms * n_rows)

    def observe(self, n_rows: int, ms: float) -> None:
        """Take in one decode's measured time (each ratio clipped to 0.5..4, so one outlier moves scale little)."""
        ratio = ms / (self.fixed_ms + self.per_row_ms * n_rows)
        self.scale = 0.8 * self.scale + 0.2 * min(max(ratio, 0.5), 4.0)


@dataclass
class Budget:
    """One call's time allowance and the decode work spent on it.

    Attributes:
        cost: the model's running decode-cost model (shared by its calls; `spend` updates it).
        limit_ms: no decode starts that should end later than this after t0; None: no limit.
        t0: time.perf_counter() at the start of the call.
        decoded: measures decoded so far in the call.
    """

    cost: DecodeCost
    limit_ms: float | None
    t0: float
    decoded: int = 0

    def fits(self, n_rows: int) -> bool:
        """Whether decoding and measuring n_rows more measures should end within the limit (always without one)."""
        if self.limit_ms is None:
            return True
        elapsed_ms = (time.perf_counter() - self.t0) * 1e3
        return elapsed_ms + ROUND_MARGIN_MS + self.cost.predict(n_rows) <= self.limit_ms

    def spend(self, n_rows: int, ms: float) -> None:
        """Record a decode of n_rows measures that took ms."""
        self.decoded += n_rows
        self.cost.observe(n_rows, ms)


# ---- one call's aim and its candidates ------------------------------------------------------------------------------


@dataclass
class Request:
    """What one steering call aims at, over B rows (variations x measures).

    Attributes:
        asked: float (B, A) normalised targets; NaN where an attribute is not scored.
        targeted: names of the attributes the performer set (their dims get the paper's move first).
        ref: int (B, 24) the input tokens to stay close to, or None (sampling from the prior).
        temperature: 0 for argmax decoding, > 0 samples with generator.
        generator: the random source when sampling, else None.
        budget: the call's time allowance.
        allowed: bool (V,) the tokens decoding may emit (a key's scale plus the input's own pitches), or (B, V) one
            set per row (several clips in one call), or None: all.
        input_rows: bool (B,) rows for which the input itself (ref) is a candidate (variation 0 at temperature 0),
            or None: none.
        before, after: float (B,) token id of the input's last note before each row's measure and first note after
            it (NaN where none), for the bar-line leap term; None: no such term.
    """

    asked: np.ndarray
    targeted: frozenset[str]
    ref: np.ndarray | None
    temperature: float
    generator: torch.Generator | None
    budget: Budget
    allowed: np.ndarray | None = None
    input_rows: np.ndarray | None = None
    before: np.ndarray | None = None
    after: np.ndarray | None = None


@dataclass
class Candidates:
    """One candidate per row: latent z float64 (B, Z), tokens int64 (B, 24), attributes float (B, A) and score (B,)."""

    z: np.ndarray
    tokens: np.ndarray
    attributes: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return self.z.shape[0]

    def take(self, index: np.ndarray) -> Candidates:
        """The candidates at index (integer array), copied."""
        return Candidates(self.z[index], self.tokens[index], self.attributes[index], self.score[index])

    def keep_better(self, rows: np.ndarray, other: Candidates) -> np.ndarray:
        """Replace the candidates of rows (distinct) by other's, row for row, where other scores strictly lower.

        Returns:
            bool (len(rows),), True where the row was replaced.
        """
        better = other.score < self.score[rows]
        upd = rows[better]
        self.z[upd] = other.z[better]
        self.tokens[upd] = other.tokens[better]
        self.attributes[upd] = other.attributes[better]
        self.score[upd] = other.score[better]
        return better


@dataclass
class _Secant:
    """Per-row memory of the refinement rounds: the previous (latent, attribute) point of each steered attribute, for
    secant slopes, and the rounds in a row without improvement."""

    x: np.ndarray  # (B, S) latent values on the steered dims
    y: np.ndarray  # (B, S) their attributes
    stall: np.ndarray  # (B,) int
    known: bool = False  # False until a round has run: no previous point yet


# ---- the loop -------------------------------------------------------------------------------------------------------


class ClosedLoop:
    """The closed loop of one model: its attributes, tolerances, optional predictor, decoder and decode-cost model.

    Args:
        attributes: the model's AttributeSpecs, in the column order of every (B, A) array here.
        decode: z float64 (B, Z), temperature, generator -> int64 tokens (B, 24).
        device: where the predictor runs.
        predictor: the checkpoint's attribute predictor, or None (the calibration tables alone).
        grid: the model's measure grid (core/meters.py): the attributes are measured on it.
    """

    def __init__(
        self,
        attributes: Sequence[AttributeSpec],
        decode: Decode,
        device: torch.device,
        predictor: AttributePredictor | None = None,
        grid: Grid = SIMPLE,
    ) -> None:
        self.attributes = list(attributes)
        self.grid = grid
        self.tolerance = tolerances(self.attributes, grid)
        self.predictor = predictor
        self.device = device
        self.cost = DecodeCost()  # calibrated by the model's warm-up
        self.max_rounds = MAX_ROUNDS  # refinement rounds per call at most (a knob for experiments and tests)
        self._decode = decode
        # The steered attributes (those with a regularised dim): their columns and dims.
        self._steer = [(k, a) for k, a in enumerate(self.attributes) if a.latent_dim is not None]
        self._cols = [k for k, _ in self._steer]
        self._dims = [a.latent_dim for _, a in self._steer]

    def steer(
        self, z: np.ndarray, req: Request, closed_loop: bool = True, max_rounds: int | None = None
    ) -> tuple[Candidates, int]:
        """First guess, then (closed loop) refinement rounds and the sweep.

        Args:
            z: float64 (B, Z) starting latents (not modified).
            closed_loop: False for the paper's open loop (the calibrated move alone).

        Returns:
            (Candidates, refinement rounds run).
        """
        best = self.first_guess(z, req, closed_loop)
        if not closed_loop or not self._steer:
            return best, 0
        rounds = self.refine(best, req, self.max_rounds if max_rounds is None else max_rounds)
        self.sweep(best, req)
        self.splice(best, req)
        return best, rounds

    def decode_measure(
        self, z: np.ndarray, req: Request, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decode z (B, Z), candidates for req's rows (all rows in order when None), and measure the result: tokens
        (B, 24), attributes (B, A); the time taken is spent from req's budget."""
        t = time.perf_counter()
        allowed = req.allowed
        if allowed is not None and allowed.ndim == 2:  # a scale per row (several clips in one call)
            allowed = allowed if rows is None else allowed[rows]
        tokens = self._decode(z, req.temperature, req.generator, allowed)
        att = measure(self.attributes, tokens, self.grid)
        req.budget.spend(z.shape[0], (time.perf_counter() - t) * 1e3)
        return tokens, att

    def score(self, att: np.ndarray, tokens: np.ndarray, req: Request, rows: np.ndarray | None = None) -> np.ndarray:
        """`score` of candidates (attributes att, tokens) for req's rows (all of them when None)."""
        asked = req.asked if rows is None else req.asked[rows]
        ref = req.ref if req.ref is None or rows is None else req.ref[rows]
        out = score(att, asked, self.tolerance, target_weights(self.attributes, req.targeted), tokens, ref)
        if ref is not None and req.before is not None:
            before = req.before if rows is None else req.before[rows]
            after = req.after if rows is None else req.after[rows]
            out = out + LEAP_WEIGHT * new_leaps(tokens, ref, before, after)
        return out

    def missing(self, best: Candidates, req: Request) -> np.ndarray:
        """bool (B, S), S steered attributes (those with a regularised dim): where one misses its target by more than
        its tolerance."""
        err = np.nan_to_num(req.asked[:, self._cols] - best.attributes[:, self._cols])
        return np.abs(err) > self.tolerance[self._cols]

    def first_guess(self, z: np.ndarray, req: Request, closed_loop: bool = True) -> Candidates:
        """The paper's calibrated move and, in the closed loop with a predictor and targets, the predictor's solve
        (alone when the budget has no room for both); decoded in one batch, the better kept per row (the solve on a
        tie), so the closed loop starts no worse than the paper's move. The input is a candidate too for
        req.input_rows (it wins ties), and the rows where it already meets every target are not decoded."""
        kept = self.input_candidates(z, req)
        if kept is None:
            return self._decoded_guess(z, req, closed_loop)
        todo = np.flatnonzero(kept.score > 0)
        if todo.size:
            guess = self._decoded_guess(z[todo], _rows_of(req, todo), closed_loop)
            kept.keep_better(todo, guess)
        return kept

    def input_candidates(self, z: np.ndarray, req: Request) -> Candidates | None:
        """The input measures as candidates (z unmoved) for the rows of req.input_rows where the input already meets
        every targeted attribute (nothing was asked of that bar), infinitely bad elsewhere; None when no row takes
        the input.

        Only there: where a dial moved, the input (which misses it) must not win over a candidate that meets it
        because the held attributes drift, as coupled attributes do (note density and rhythmic complexity)."""
        if req.ref is None or req.input_rows is None or not req.input_rows.any():
            return None
        att = measure(self.attributes, req.ref, self.grid)
        targeted = np.array([a.name in req.targeted for a in self.attributes])
        miss = np.nan_to_num(np.abs(att - req.asked) - self.tolerance, nan=0.0)[:, targeted]
        meets = (miss <= 0).all(axis=1)
        scores = np.where(req.input_rows & meets, self.score(att, req.ref, req), np.inf)
        return Candidates(z.copy(), req.ref.copy(), att, scores)

    def _decoded_guess(self, z: np.ndarray, req: Request, closed_loop: bool) -> Candidates:
        B = z.shape[0]
        moved = z.copy()
        for k, a in self._steer:
            if a.name in req.targeted:
                moved[:, a.latent_dim] = calibrated_latent(a, req.asked[:, k])
        if closed_loop and self._steer and req.targeted and self.predictor is not None:
            solved = self.predicted_move(z, req)
            moved = np.concatenate([solved, moved]) if req.budget.fits(2 * B) else solved
        guesses = moved.shape[0] // B  # 1 or 2 candidates per row, guess-major
        rows = np.tile(np.arange(B), guesses)
        tokens, att = self.decode_measure(moved, req, rows)
        scores = self.score(att, tokens, req, rows)
        pick = np.arange(B) + B * scores.reshape(guesses, B).argmin(axis=0)
        return Candidates(moved[pick], tokens[pick], att[pick], scores[pick])

    def predicted_move(
        self, z: np.ndarray, req: Request, rows: np.ndarray | None = None, achieved: np.ndarray | None = None
    ) -> np.ndarray:
        """z (R, Z) with the steered dims moved so that the attribute predictor expects req's asked values (of rows,
        all when None). Attributes not scored (NaN) weigh 0. With `achieved` (the measured attributes of decode(z)),
        the targets are first shifted by the predictor's miss at z (achieved - predicted), so a row corrects from
        where it really is, in PREDICTOR_ROUND_ITERS steps instead of PREDICTOR_ITERS."""
        pred = self.predictor
        asked = req.asked if rows is None else req.asked[rows]
        w = np.where(np.isnan(asked), 0.0, target_weights(self.attributes, req.targeted)[None, :])
        zt = torch.from_numpy(z.astype(np.float32)).to(self.device)
        at = torch.from_numpy(np.nan_to_num(asked).astype(np.float32)).to(self.device)
        if achieved is not None:
            at = at - (torch.from_numpy(achieved.astype(np.float32)).to(self.device) - pred(zt))
        wt = torch.from_numpy(w.astype(np.float32)).to(self.device)
        iters = PREDICTOR_ITERS if achieved is None else PREDICTOR_ROUND_ITERS
        return pred.solve(zt, self._dims, at, wt, iters=iters).cpu().numpy().astype(np.float64)

    def refine(self, best: Candidates, req: Request, max_rounds: int = MAX_ROUNDS) -> int:
        """Up to max_rounds rounds over the rows that miss: move, try STEP_FACTORS of the move in one batch (the 1x
        move alone when the budget has no room for three), keep what improves. Updates best in place.

        Returns:
            The number of rounds run (a round starts only when some row misses and the budget allows).
        """
        S = len(self._steer)
        memory = _Secant(np.zeros((len(best), S)), np.zeros((len(best), S)), np.zeros(len(best), dtype=np.int64))
        rounds = 0
        for _ in range(max_rounds):
            missing = self.missing(best, req)
            rows = np.flatnonzero(missing.any(axis=1))
            if rows.size == 0:
                break
            factors = next((f for f in (STEP_FACTORS, (1.0,)) if req.budget.fits(rows.size * len(f))), None)
            if factors is None:
                break
            rounds += 1
            step = self._move(best, req, rows, missing[rows], memory)
            self._try_steps(best, req, rows, step, factors, memory)
        return rounds

    def _move(
        self, best: Candidates, req: Request, rows: np.ndarray, missing: np.ndarray, memory: _Secant
    ) -> np.ndarray:
        """(R, S) the move of each steered dim for rows: the predictor's re-solve, or a secant step per missing
        attribute; doubled for each round a row has not improved, clipped to MAX_STEP_Z."""
        x = best.z[np.ix_(rows, self._dims)]
        if self.predictor is not None:
            # The predictor's own miss at the current best point, achieved - predicted, is taken as its bias nearby:
            # solve for the targets shifted by it, all steered dims together.
            step = self.predicted_move(best.z[rows], req, rows, best.attributes[rows])[:, self._dims] - x
        else:
            err = req.asked[np.ix_(rows, self._cols)] - best.attributes[np.ix_(rows, self._cols)]
            slope = np.stack([calibration_slope(a, x[:, s]) for s, (_, a) in enumerate(self._steer)], axis=1)
            if memory.known:
                dx = x - memory.x[rows]
                dy = best.attributes[np.ix_(rows, self._cols)] - memory.y[rows]
                secant = np.divide(dy, dx, out=np.zeros_like(dy), where=np.abs(dx) > 1e-6)
                # A secant is trusted only when it points the way the calibration does and is not flat (attributes
                # move in jumps, so two tries on the same plateau say nothing about the slope).
                slope = np.where((secant > 0.02) & (np.abs(dy) > 0), secant, slope)
            step = np.nan_to_num(err) / slope * missing
        # A row stuck on a plateau doubles its step each round it does not improve.
        return np.clip(step * (2.0 ** memory.stall[rows])[:, None], -MAX_STEP_Z, MAX_STEP_Z)

    def _try_steps(
        self,
        best: Candidates,
        req: Request,
        rows: np.ndarray,
        step: np.ndarray,
        factors: tuple[float, ...],
        memory: _Secant,
    ) -> None:
        """Decode factors x step from each row's best z in one batch; keep a row's best candidate if it improves,
        and update the secant memory."""
        K = len(factors)
        x = best.z[np.ix_(rows, self._dims)]
        y = best.attributes[np.ix_(rows, self._cols)]
        cand_z = np.repeat(best.z[rows], K, axis=0)  # (R*K, Z), the candidates of a row adjacent
        for s, d in enumerate(self._dims):
            cand_z[:, d] = (x[:, s][:, None] + step[:, s][:, None] * np.array(factors)).reshape(-1)
        cand_rows = np.repeat(rows, K)
        tokens, att = self.decode_measure(cand_z, req, cand_rows)
        scores = self.score(att, tokens, req, cand_rows)
        chosen = np.arange(rows.size) * K + scores.reshape(-1, K).argmin(axis=1)
        better = best.keep_better(rows, Candidates(cand_z, tokens, att, scores).take(chosen))
        # Secant memory: a row that improved remembers its old best point; a row that did not remembers the
        # exact-step candidate, so the next round learns the slope from it instead of repeating the same step.
        exact = np.arange(rows.size) * K + factors.index(1.0)
        memory.x[rows] = np.where(better[:, None], x, cand_z[np.ix_(exact, self._dims)])
        memory.y[rows] = np.where(better[:, None], y, att[np.ix_(exact, self._cols)])
        memory.stall[rows] = np.where(better, 0, memory.stall[rows] + 1)
        memory.known = True

    def sweep(self, best: Candidates, req: Request) -> int:
        """Last resort for rows still missing a target: try SWEEP_OFFSETS (one step each way when the budget has no
        room for all) along each missing dim, keep a row's best candidate if it improves. Updates best in place.

        Refinement stalls where the attribute sits on a plateau of the latent dim (a count that does not change over
        a stretch of z); a fixed grid of offsets steps over it.

        Returns:
            The number of measures decoded.
        """
        missing = self.missing(best, req)
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size == 0:
            return 0
        pairs = [(r, a.latent_dim) for r in rows for s, (_, a) in enumerate(self._steer) if missing[r, s]]
        grid = next((g for g in (SWEEP_OFFSETS, (-1.0, 1.0)) if req.budget.fits(len(pairs) * len(g))), None)
        if grid is None:
            return 0
        offsets = np.array(grid)
        n = len(pairs) * offsets.size
        pair_rows = np.array([r for r, _ in pairs])
        cand_z = np.repeat(best.z[pair_rows], offsets.size, axis=0)
        cand_z[np.arange(n), np.repeat([d for _, d in pairs], offsets.size)] += np.tile(offsets, len(pairs))
        row_of = np.repeat(pair_rows, offsets.size)
        tokens, att = self.decode_measure(cand_z, req, row_of)
        scores = self.score(att, tokens, req, row_of)
        # Few rows: the best candidate of each, kept if it beats the row's best (the first on a tie).
        chosen = []
        for r in rows:
            idx = np.flatnonzero(row_of == r)
            chosen.append(idx[scores[idx].argmin()])
        best.keep_better(rows, Candidates(cand_z, tokens, att, scores).take(np.array(chosen)))
        return n

    def splice(self, best: Candidates, req: Request) -> None:
        """Per row with an input, try every mix of whole beats from the input and from the best candidate (16
        masks; measuring only, no decoding) and keep the mix that scores best: among mixes that meet the targets,
        the one that changes the fewest notes. Updates best in place (its z stays: latents are not spliced)."""
        if req.ref is None:
            return
        B = len(best)
        beats = self.grid.beats
        masks = (np.arange(2**beats)[:, None] >> np.arange(beats)) & 1  # (16, 4), 1 = ours
        tick_mask = np.repeat(masks, TICKS_PER_BEAT, axis=1).astype(bool)  # (16, 24)
        mixed = np.where(tick_mask[None], best.tokens[:, None], req.ref[:, None]).reshape(-1, best.tokens.shape[1])
        rows = np.repeat(np.arange(B), len(masks))
        att = measure(self.attributes, mixed, self.grid)
        scores = self.score(att, mixed, req, rows).reshape(B, len(masks))
        pick = scores.argmin(axis=1)
        chosen = np.arange(B) * len(masks) + pick
        best.keep_better(
            np.arange(B), Candidates(best.z.copy(), mixed[chosen], att[chosen], scores[np.arange(B), pick])
        )


def join_bars(
    best: Candidates,
    req: Request,
    clips: Sequence[int],
    vocab_size: int,
    attributes: Sequence[AttributeSpec],
    grid: Grid = SIMPLE,
) -> int:
    """Undo new leaps over an octave at the bar lines between consecutive output measures, by moving a measure an
    octave: the one after the bar line towards the note before it, or else the one before towards the note after,
    where that keeps it in range and does not leap at its other bar line instead. An octave changes none of a
    measure's attributes but register (intervals and rhythm stay), so nothing is moved when register is targeted.
    Left to right, per variation; updates best in place.

    Args:
        best: the steered candidates, rows variation-major (V * bars), bars = sum(clips).
        req: the request (its ref, the input measures, says which leaps the input had itself).
        clips: the measures of each clip in a variation's rows, end to end (no bar line is joined across clips).
        vocab_size: tokens in the vocabulary (the highest pitch token is vocab_size - 1).
        attributes: the model's attributes, remeasured (on grid) when a move changed register.

    Returns:
        The number of measures moved.
    """
    if req.ref is None or "register" in req.targeted:
        return 0
    moved = 0
    bars = sum(clips)
    starts = np.cumsum([0, *clips[:-1]])
    for v, start, length in ((v, st, n) for v in range(len(best) // bars) for st, n in zip(starts, clips)):
        rows = np.arange(v * bars + start, v * bars + start + length)
        for m in range(1, length):
            first, last = first_last_onsets(best.tokens[rows[m - 1 : m + 1]])  # bars m-1 and m
            if np.isnan(last[0]) or np.isnan(first[1]) or abs(first[1] - last[0]) <= LEAP_SEMITONES:
                continue
            ref_first, ref_last = first_last_onsets(req.ref[rows[m - 1 : m + 1]])
            if abs(ref_first[1] - ref_last[0]) > LEAP_SEMITONES:  # the input leaps here too
                continue
            up = 12 if first[1] < last[0] else -12  # moves bar m towards bar m-1
            after = rows[m + 1] if m + 1 < length else None
            before = rows[m - 2] if m >= 2 else None
            if _octave(best, rows[m], up, vocab_size, after, False) or _octave(
                best, rows[m - 1], -up, vocab_size, before, True
            ):
                moved += 1
    if moved and any(a.name == "register" for a in attributes):
        best.attributes[:] = measure(attributes, best.tokens, grid)
    return moved


def _octave(best: Candidates, row: int, shift: int, vocab_size: int, neighbour: int | None, before: bool) -> bool:
    """Move best's measure `row` by shift semitones (+-12) when it stays inside the vocabulary and its bar line with
    the neighbouring measure (the one before when `before`, else after; None: none) gets no new leap. True if moved."""
    tokens = best.tokens[row].copy()
    pitched = tokens >= FIRST_PITCH_TOKEN
    tokens[pitched] += shift
    if not pitched.any() or tokens[pitched].min() < FIRST_PITCH_TOKEN or tokens[pitched].max() >= vocab_size:
        return False
    if neighbour is not None:
        n_first, n_last = first_last_onsets(best.tokens[[neighbour]])
        other = n_last[0] if before else n_first[0]
        old_first, old_last = first_last_onsets(best.tokens[[row]])
        new_first, new_last = first_last_onsets(tokens[None])
        edge_old, edge_new = (old_first[0], new_first[0]) if before else (old_last[0], new_last[0])
        if not np.isnan(other) and abs(edge_new - other) > LEAP_SEMITONES >= abs(edge_old - other):
            return False  # it would only move the leap to the other bar line
    best.tokens[row] = tokens
    return True


def _rows_of(req: Request, rows: np.ndarray) -> Request:
    """req restricted to rows (integer array): the same targets, scale and budget for a subset of its rows."""

    def sub(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[rows]

    allowed = req.allowed if req.allowed is None or req.allowed.ndim == 1 else req.allowed[rows]
    return Request(
        req.asked[rows],
        req.targeted,
        sub(req.ref),
        req.temperature,
        req.generator,
        req.budget,
        allowed,
        sub(req.input_rows),
        sub(req.before),
        sub(req.after),
    )
