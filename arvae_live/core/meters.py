"""Measure grids and the meters each one serves: one table for the representation, the attributes, the model, the
MIDI file reader (arvae_live/midi_files.py) and the corpus builder (training/corpora.py, training/data.py).

A *grid* is the layout of one model measure: `beats` beats of 6 ticks each. Every grid has 6 ticks per beat, so the
model's tick GRU is the same for all of them and only the number of beats changes; what differs is where the ticks
fall in time:

    simple    4 quarter-note beats, 24 ticks. A beat's ticks at 0, 1/4, 1/3, 1/2, 2/3, 3/4 of the beat: 16th notes
              and 8th-note triplets are exact (the paper's grid). Serves 4/4 and 2/2 (a bar per measure) and 2/4
              (two bars per measure).
    triple    3 quarter-note beats, 18 ticks, the same per-beat ticks as simple: 16ths and 8th-note triplets exact.
              Serves 3/4.
    compound  4 dotted-quarter beats, 24 ticks, a beat's ticks at 0, 1/6, ..., 5/6 of the beat (every 16th note):
              8ths and 16ths exact; duplets and 32nds snap. Serves 12/8 (a bar per measure) and 6/8 (two bars per
              measure, as 2/4 pairs into 4/4).

Any other meter (3/8, 9/8, 5/4, ...) is refused by every reader, so a model never sees a bar it was not trained on.
A model records its grid (ModelConfig.grid; checkpoints without one are simple).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

TICKS_PER_BEAT = 6  # every grid; the model's tick GRU runs 6 steps per beat


@dataclass(frozen=True)
class Grid:
    """The layout of one model measure.

    Attributes:
        name: "simple" | "triple" | "compound", as stored in checkpoints.
        beats: beats per measure, 3 or 4.
        beat_quarters: length of one beat in quarter notes (1.0, or 1.5 for a dotted quarter).
        tick_offsets: position of each of a beat's 6 ticks, as a fraction of the beat, increasing from 0.
        meters: "num/den" -> bars of that meter per measure.
        beat_levels: metrical level of each beat's first tick (higher = stronger; the downbeat is highest).
        tick_levels: metrical level of each tick inside a beat, index 0 unused (the beat's own level applies).
        beat_weights, tick_weights: rhythmic-complexity weight of each beat's first tick and of each tick inside a
            beat (index 0 unused); strong positions weigh little (paper section 4, Toussaint-style).
    """

    name: str
    beats: int
    beat_quarters: float
    tick_offsets: tuple[float, ...]
    meters: dict[str, int] = field(hash=False, compare=False)
    beat_levels: tuple[int, ...]
    tick_levels: tuple[int, ...]
    beat_weights: tuple[float, ...]
    tick_weights: tuple[float, ...]

    @property
    def ticks(self) -> int:
        """Ticks per measure: 24 (simple, compound) or 18 (triple)."""
        return self.beats * TICKS_PER_BEAT

    @property
    def measure_quarters(self) -> float:
        """Length of one measure in quarter notes: 4, 3 or 6."""
        return self.beats * self.beat_quarters

    @property
    def meters_text(self) -> str:
        """e.g. "4/4, 2/2 (one bar per measure) and 2/4 (two bars per measure)"."""
        one = [m for m, n in self.meters.items() if n == 1]
        two = [m for m, n in self.meters.items() if n == 2]
        text = f"{', '.join(one)} (one bar per measure)"
        return text + (f" and {', '.join(two)} (two bars per measure)" if two else "")

    @cached_property
    def rc_weights(self) -> np.ndarray:
        """(ticks,) float64 rhythmic-complexity weight per tick."""
        per_beat = [[bw, *self.tick_weights[1:]] for bw in self.beat_weights]
        return np.array(per_beat, dtype=np.float64).ravel()

    @cached_property
    def levels(self) -> np.ndarray:
        """(ticks,) int metrical level per tick (the syncopation attribute's hierarchy)."""
        return np.array([[bl, *self.tick_levels[1:]] for bl in self.beat_levels], dtype=np.int64).ravel()

    @cached_property
    def snap_points(self) -> np.ndarray:
        """(7,) a beat's tick offsets plus the next downbeat (1.0), in beats: what a time snaps to, so that a time
        just before a beat rounds up into it."""
        return np.array([*self.tick_offsets, 1.0])

    @cached_property
    def tick_quarters(self) -> np.ndarray:
        """(ticks,) float64 onset of each tick from the measure start, in quarter notes."""
        offsets = np.asarray(self.tick_offsets, dtype=np.float64)
        return ((np.arange(self.beats)[:, None] + offsets[None, :]) * self.beat_quarters).ravel()


# Per beat of the simple and triple grids: [beat, 16th, triplet, 8th off-beat, triplet, 16th].
_QUARTER_TICKS = (0.0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4)
_QUARTER_TICK_LEVELS = (0, 0, 0, 1, 0, 0)
_QUARTER_TICK_WEIGHTS = (0.0, 1.0, 2.0, 0.5, 2.0, 1.0)
# Per dotted-quarter beat of the compound grid: [beat, 16th, 8th, 16th, 8th, 16th].
_DOTTED_TICKS = tuple(i / 6 for i in range(6))
_DOTTED_TICK_LEVELS = (0, 0, 1, 0, 1, 0)
_DOTTED_TICK_WEIGHTS = (0.0, 1.0, 0.5, 1.0, 0.5, 1.0)

SIMPLE = Grid(
    name="simple",
    beats=4,
    beat_quarters=1.0,
    tick_offsets=_QUARTER_TICKS,
    meters={"4/4": 1, "2/2": 1, "2/4": 2},
    # Levels: downbeat 4, half bar 3, beats 2 and 4: 2 (Longuet-Higgins & Lee); weights: the paper's.
    beat_levels=(4, 2, 3, 2),
    tick_levels=_QUARTER_TICK_LEVELS,
    beat_weights=(0.20, 0.67, 0.25, 0.67),
    tick_weights=_QUARTER_TICK_WEIGHTS,
)
TRIPLE = Grid(
    name="triple",
    beats=3,
    beat_quarters=1.0,
    tick_offsets=_QUARTER_TICKS,
    meters={"3/4": 1},
    # One strong beat and two weak ones: the weak beats weigh as 4/4's beats 2 and 4.
    beat_levels=(3, 2, 2),
    tick_levels=_QUARTER_TICK_LEVELS,
    beat_weights=(0.20, 0.67, 0.67),
    tick_weights=_QUARTER_TICK_WEIGHTS,
)
COMPOUND = Grid(
    name="compound",
    beats=4,
    beat_quarters=1.5,
    tick_offsets=_DOTTED_TICKS,
    meters={"12/8": 1, "6/8": 2},
    # The dotted-quarter beats weigh as 4/4's quarter beats (a 6/8 pair's second downbeat as 12/8's half bar);
    # inside a beat the 8ths are the off-beats and the 16ths the weakest positions.
    beat_levels=(4, 2, 3, 2),
    tick_levels=_DOTTED_TICK_LEVELS,
    beat_weights=(0.20, 0.67, 0.25, 0.67),
    tick_weights=_DOTTED_TICK_WEIGHTS,
)
GRIDS: dict[str, Grid] = {g.name: g for g in (SIMPLE, TRIPLE, COMPOUND)}

# The simple grid's tables, under their old names (4/4 callers and the corpus builder's default).
BARS_PER_MEASURE = SIMPLE.meters
SUPPORTED_METERS = tuple(m for g in GRIDS.values() for m in g.meters)
SUPPORTED_TEXT = "; ".join(f"{g.name}: {g.meters_text}" for g in GRIDS.values())


def bar_beats(numerator: int, denominator: int) -> float:
    """The length of one bar of numerator/denominator in quarter notes, e.g. 3/8 -> 1.5."""
    return numerator * 4 / denominator


def meter_numbers(text: str) -> tuple[int, int] | None:
    """(numerator, denominator) of a meter written "num/den" (e.g. "3/4", surrounding spaces allowed); None for
    anything else."""
    num, sep, den = str(text).strip().partition("/")
    return (int(num), int(den)) if sep and num.isdigit() and den.isdigit() else None


def grid_for_meter(numerator: int, denominator: int) -> Grid | None:
    """The grid that serves numerator/denominator, or None when no grid does."""
    meter = f"{numerator}/{denominator}"
    return next((g for g in GRIDS.values() if meter in g.meters), None)


def is_supported(numerator: int, denominator: int) -> bool:
    """True for a meter some grid serves."""
    return grid_for_meter(numerator, denominator) is not None


def get_grid(name: str) -> Grid:
    """The grid called name; ValueError naming the known grids otherwise."""
    try:
        return GRIDS[name]
    except KeyError:
        raise ValueError(f"unknown grid {name!r}; known: {', '.join(GRIDS)}") from None


for _g in GRIDS.values():
    assert len(_g.tick_offsets) == len(_g.tick_levels) == len(_g.tick_weights) == TICKS_PER_BEAT, _g.name
    assert len(_g.beat_levels) == len(_g.beat_weights) == _g.beats, _g.name
    for _m, _n in _g.meters.items():
        assert abs(bar_beats(*map(int, _m.split("/"))) * _n - _g.measure_quarters) < 1e-9, (_g.name, _m)
