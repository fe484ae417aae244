"""Musical attributes of token measures, the attribute registry, and the per-model AttributeSpec.

Raw values of the paper's four attributes follow the formulas of Pati & Lerch 2020 exactly
(shared/reference/arvae-paper-and-code.md, section 4), including the /26 of pitch range and contour, so that our
metrics compare with the paper's. Two more give a performer dials that the paper's do not: `register` (mean onset
pitch, in MIDI numbers) and `syncopation` (notes held across a stronger metrical position, per onset), which, unlike
rhythmic complexity, does not rise with the number of onsets alone. An onset is a pitch token (id >=
FIRST_PITCH_TOKEN); HOLD and REST are not onsets. All functions are vectorised over a batch of measures.

Adding an attribute is one function of a (B, ticks) token array and its grid (core/meters.py) returning (B,)
floats, plus one `ATTRIBUTES` entry with its raw range. The normalised 0..1 value a performer turns on a dial is
derived from a raw range: the registry's (what the formula can produce) or a model's (what its training data spans,
stored in its AttributeSpec).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD
from arvae_live.errors import UnknownAttributeError

# The paper divides pitch range and contour by 26 semitones (although its corpus spans 29); kept for comparability.
PITCH_NORM = 26.0
# Largest pitch span the default vocabulary (55..84) can hold, in semitones.
_LOWEST, _HIGHEST = 55, 84
_MAX_SPAN = _HIGHEST - _LOWEST
# The simple grid's rhythmic-complexity weights, per tick (paper section 4); each grid holds its own (core/meters.py).
RC_WEIGHTS = SIMPLE.rc_weights


@cache
def _syncopation_tables(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Per tick of the grid: the next tick of a higher metrical level within the measure (grid.ticks when there is
    none: the next measure's downbeat, which a per-measure attribute cannot see), and the levels gained there.

    A note that starts on a tick and is still held at the next tick of a higher level is syncopated
    (Longuet-Higgins & Lee 1984), by the difference of the two levels.
    """
    level, n = grid.levels, grid.ticks
    nxt = np.array([next((u for u in range(t + 1, n) if level[u] > level[t]), n) for t in range(n)])
    gain = np.array([level[u] - level[t] if u < n else 0 for t, u in enumerate(nxt)], dtype=np.float64)
    return nxt, gain


def _onsets(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    tokens = np.asarray(tokens)
    assert tokens.ndim == 2 and tokens.shape[1] == grid.ticks, (
        f"expected (B, {grid.ticks}) tokens for the {grid.name} grid, got {tokens.shape}"
    )
    return tokens >= FIRST_PITCH_TOKEN


def rhythmic_complexity(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Metrically weighted onset count / sum of the grid's weights, in 0..1 (simple grid: weights sum to 27.79;
    Bach soprano: mean 0.053, max 0.172)."""
    return _onsets(tokens, grid).astype(np.float64) @ grid.rc_weights / grid.rc_weights.sum()


def note_density(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Number of onsets / ticks per measure (24 or 18), in 0..1 (Bach soprano: mean 0.141, max 0.333)."""
    return _onsets(tokens, grid).sum(axis=1) / grid.ticks


def pitch_range(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """(highest - lowest onset pitch) / 26 semitones; 0 with fewer than 2 onsets. 0..29/26 for pitches 55..84."""
    tokens = np.asarray(tokens)
    onset = _onsets(tokens, grid)
    hi = np.where(onset, tokens, np.iinfo(np.int64).min).max(axis=1)
    lo = np.where(onset, tokens, np.iinfo(np.int64).max).min(axis=1)
    return np.where(onset.sum(axis=1) >= 2, (hi - lo) / PITCH_NORM, 0.0)


def contour(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Sum of successive onset-pitch intervals (= last - first onset pitch) / 26; 0 with fewer than 2 onsets.

    Signed: positive for a rising measure. -29/26..29/26 for pitches 55..84.
    """
    tokens = np.asarray(tokens)
    onset = _onsets(tokens, grid)
    rows = np.arange(tokens.shape[0])
    first = onset.argmax(axis=1)
    last = grid.ticks - 1 - onset[:, ::-1].argmax(axis=1)
    delta = tokens[rows, last].astype(np.int64) - tokens[rows, first]
    return np.where(onset.sum(axis=1) >= 2, delta / PITCH_NORM, 0.0)


def register(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Mean onset pitch, in MIDI note numbers (55..84 on the default vocabulary); 69.5, the middle, with no onset.

    Assumes the default vocabulary (pitch token FIRST_PITCH_TOKEN is MIDI 55), as every attribute's raw range does.
    """
    tokens = np.asarray(tokens)
    onset = _onsets(tokens, grid)
    n = onset.sum(axis=1)
    pitch_sum = np.where(onset, tokens - FIRST_PITCH_TOKEN + _LOWEST, 0).sum(axis=1)
    return np.where(n > 0, pitch_sum / np.maximum(n, 1), (_LOWEST + _HIGHEST) / 2)


def syncopation(tokens: np.ndarray, grid: Grid = SIMPLE) -> np.ndarray:
    """Syncopation per onset: the metrical levels gained by notes held across a stronger position, / onsets; 0..3.

    A note starting on tick t that is still held (only HOLD tokens follow) at the next tick of a higher metrical
    level u scores level(u) - level(t): an eighth off-beat held over beat 2 scores 1, a note on beat 2 held over beat
    3 scores 1, a 16th before beat 3 held over it scores 3. Dividing by the onset count keeps the value from rising
    with density alone: straight 16ths score 0. 0 with no onset. The levels are the grid's (core/meters.py): in the
    compound grid the 8ths of a dotted beat are the off-beats.
    """
    tokens = np.asarray(tokens)
    onset = _onsets(tokens, grid)
    next_stronger, sync_gain = _syncopation_tables(grid)
    n_ticks = grid.ticks
    # non_hold[:, k] = number of non-HOLD tokens among ticks 0..k-1, so ticks t+1..u are all HOLD exactly when
    # non_hold[:, u + 1] - non_hold[:, t + 1] == 0.
    non_hold = np.concatenate(
        [np.zeros((tokens.shape[0], 1), dtype=np.int64), np.cumsum(tokens != HOLD, axis=1)], axis=1
    )
    u = np.minimum(next_stronger, n_ticks - 1)
    held = (non_hold[:, u + 1] - non_hold[:, np.arange(n_ticks) + 1]) == 0
    score = (onset & held).astype(np.float64) @ sync_gain
    n = onset.sum(axis=1)
    return np.where(n > 0, score / np.maximum(n, 1), 0.0)


@dataclass(frozen=True)
class AttributeDef:
    """A registry entry: how to compute an attribute and the raw range its formula can produce."""

    name: str  # snake_case, identical in code, checkpoints, OSC addresses and the Max patch
    fn: Callable[..., np.ndarray]  # ((B, grid.ticks) int tokens, grid) -> (B,) float64 raw values
    raw_low: float  # smallest raw value the formula can give on the default vocabulary
    raw_high: float  # largest raw value
    description: str
    # Smallest change of the raw value a measure of the grid can make (one onset, one semitone); half of it is the
    # miss within which the engine counts a target as met (arvae_live/steering.py). None for a continuous attribute.
    quantum_of: Callable[[Grid], float] | None = None

    def quantum(self, grid: Grid = SIMPLE) -> float:
        """The smallest raw change on the grid; 0 for a continuous attribute."""
        return 0.0 if self.quantum_of is None else float(self.quantum_of(grid))


ATTRIBUTES: dict[str, AttributeDef] = {
    a.name: a
    for a in (
        AttributeDef(
            "rhythmic_complexity",
            rhythmic_complexity,
            0.0,
            1.0,
            "metrically weighted onsets (syncopation)",
            quantum_of=lambda g: g.rc_weights.min() / g.rc_weights.sum(),
        ),
        AttributeDef(
            "pitch_range",
            pitch_range,
            0.0,
            _MAX_SPAN / PITCH_NORM,
            "highest minus lowest pitch, /26",
            quantum_of=lambda g: 1 / PITCH_NORM,
        ),
        AttributeDef("note_density", note_density, 0.0, 1.0, "onsets per tick", quantum_of=lambda g: 1 / g.ticks),
        AttributeDef(
            "contour",
            contour,
            -_MAX_SPAN / PITCH_NORM,
            _MAX_SPAN / PITCH_NORM,
            "last minus first pitch, /26",
            quantum_of=lambda g: 1 / PITCH_NORM,
        ),
        AttributeDef("register", register, float(_LOWEST), float(_HIGHEST), "mean onset pitch, MIDI note number"),
        AttributeDef("syncopation", syncopation, 0.0, 3.0, "metrical levels held across, per onset"),
    )
}
# The paper's order and latent dims: rhythmic complexity -> z0, pitch range -> z1, note density -> z2, contour -> z3.
PAPER_ATTRIBUTES = ("rhythmic_complexity", "pitch_range", "note_density", "contour")


def get_attribute(name: str) -> AttributeDef:
    """The registry entry for name; UnknownAttributeError listing the known names otherwise."""
    try:
        return ATTRIBUTES[name]
    except KeyError:
        raise UnknownAttributeError(f"unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}") from None


def compute_attributes(
    tokens: np.ndarray, names: tuple[str, ...] | list[str] = PAPER_ATTRIBUTES, grid: Grid = SIMPLE
) -> dict[str, np.ndarray]:
    """Raw values of the named attributes for a batch of measures.

    Args:
        tokens: int array (B, grid.ticks).
        names: attribute names from ATTRIBUTES.
        grid: the grid the measures are on (its metrical weights and levels, its tick count).

    Returns:
        {name: float64 array (B,)} in the order of names.
    """
    return {name: get_attribute(name).fn(tokens, grid) for name in names}


@dataclass(frozen=True)
class AttributeSpec:
    """How one model holds one attribute; stored in the checkpoint.

    Attributes:
        name: registry name.
        latent_dim: index of the regularised latent dimension, 0..latent_dim-1, or None when the model does not
            regularise this attribute (a beta-VAE baseline) and it cannot be steered.
        low, high: the raw range that normalised 0..1 maps onto: the model's own (e.g. what its training data
            spans), not necessarily the formula's.
        calibration_z, calibration_raw: a monotone table from the latent value on latent_dim to the raw attribute
            value of the decoded measure (mean over held-out measures), used as the first guess when steering.
            Empty when unknown.
    """

    name: str
    latent_dim: int | None
    low: float
    high: float
    calibration_z: tuple[float, ...] = field(default=())
    calibration_raw: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        get_attribute(self.name)
        assert self.high > self.low, f"attribute {self.name}: high {self.high} must exceed low {self.low}"
        assert len(self.calibration_z) == len(self.calibration_raw), f"attribute {self.name}: calibration lengths"

    def normalise(self, raw: np.ndarray | float) -> np.ndarray:
        """Raw value(s) -> 0..1 over low..high, clipped."""
        return np.clip((np.asarray(raw, dtype=np.float64) - self.low) / (self.high - self.low), 0.0, 1.0)

    def denormalise(self, value: np.ndarray | float) -> np.ndarray:
        """Normalised 0..1 value(s) -> raw value(s) over low..high."""
        return self.low + np.asarray(value, dtype=np.float64) * (self.high - self.low)

    def latent_for(self, raw: np.ndarray | float) -> np.ndarray:
        """First guess at the latent value on latent_dim that decodes to raw, from the calibration table.

        Linear interpolation of the inverse table; values beyond the table clamp to its ends. Requires a
        calibration with increasing calibration_raw (training makes it monotone).
        """
        assert self.calibration_z, f"attribute {self.name} has no calibration"
        return np.interp(np.asarray(raw, dtype=np.float64), self.calibration_raw, self.calibration_z)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "low": float(self.low),
            "high": float(self.high),
            "calibration_z": [float(v) for v in self.calibration_z],
            "calibration_raw": [float(v) for v in self.calibration_raw],
        }

    @classmethod
    def from_dict(cls, d: dict) -> AttributeSpec:
        return cls(
            name=str(d["name"]),
            latent_dim=None if d["latent_dim"] is None else int(d["latent_dim"]),
            low=float(d["low"]),
            high=float(d["high"]),
            calibration_z=tuple(float(v) for v in d.get("calibration_z", ())),
            calibration_raw=tuple(float(v) for v in d.get("calibration_raw", ())),
        )
