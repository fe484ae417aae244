"""Per-measure attribute tables of a MIDI clip, shared by `arvae-live attributes` and the regeneration report.

One meaning of "normalised" everywhere: 0..1 over a model's own AttributeSpec range (what its dials span), the scale
`--set`, `--shift`, the daemon's dials and the report use. `arvae-live attributes` without --model uses the default
model's ranges (general-arvae when bundled); only when no model is installed does it fall back to the registry's ranges
(what the formula can produce), and it says so. Beside every normalised value the tools show musical units: onsets
per bar (note density), semitones (pitch range, contour), metrically weighted onsets per bar (rhythmic complexity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from arvae_live.core.attributes import ATTRIBUTES, PITCH_NORM, AttributeSpec, compute_attributes
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import Adjustment, Vocabulary
from arvae_live.midi_files import MidiClip, clip_tokens


def units(grid: Grid = SIMPLE) -> dict[str, tuple[str, float]]:
    """attribute -> (unit, units per raw value) on a grid: raw values are the paper's formulas, e.g. note density =
    onsets / ticks per measure (24 on the simple and compound grids, 18 on the triple), so a unit "per bar" is per
    measure of the grid (a 3/4 bar; a 12/8 bar or two 6/8 bars)."""
    return {
        "note_density": ("onsets per bar", float(grid.ticks)),
        "pitch_range": ("semitones", PITCH_NORM),
        "contour": ("semitones", PITCH_NORM),
        "rhythmic_complexity": ("weighted onsets per bar", float(grid.rc_weights.sum())),
        "register": ("MIDI note (mean onset pitch)", 1.0),
        "syncopation": ("metrical levels held across, per onset", 1.0),
    }


UNITS: dict[str, tuple[str, float]] = units(SIMPLE)  # the simple (4/4) grid's, under the old name


def model_scale(model: str | None, grid: Grid | None = None) -> tuple[Vocabulary, list[AttributeSpec], str]:
    """The vocabulary and attribute ranges that "normalised" means for a command: the model's, the default model's
    (of the grid, when given) when model is None, or the registry's when no model is installed at all (or none of
    the grid).

    Args:
        model: a model id or checkpoint path (--model), or None.
        grid: the grid of the clip the scale is for: the default model is that grid's, and a --model of another
            grid is refused; None: the simple default, and any --model.

    Returns:
        (vocab, specs, over): over names the scale for people, e.g. "model general-arvae".

    Raises:
        CheckpointError: the named model does not exist or is not a valid checkpoint (not a regular file included),
            or it does not serve the grid.
    """
    from arvae_live.core.checkpoint import read_header
    from arvae_live.errors import CheckpointError
    from arvae_live.model_store import available_models, checkpoint_grid, default_model_path, resolve_model
    from arvae_live.paths import check_regular

    try:
        path = resolve_model(model) if model is not None or grid is None else default_model_path(grid)
    except CheckpointError:
        if model is not None:
            raise
        what = (
            "no model installed" if grid is None or not available_models() else f"no {grid.name}-grid model installed"
        )
        return Vocabulary(), registry_specs(), f"the attribute registry ({what})"
    check_regular(path, CheckpointError, "checkpoint")
    served = checkpoint_grid(path)
    if grid is not None and served is not grid:
        raise CheckpointError(
            f"model {path.stem} reads {served.meters_text}, not the {grid.name} grid's {', '.join(grid.meters)}; "
            "leave out --model to use the default model of the file's meter"
        )
    header = read_header(path)
    specs = [AttributeSpec.from_dict(a) for a in header["attributes"]]
    return Vocabulary.from_dict(header["vocabulary"], served), specs, f"model {path.stem}"


def registry_specs() -> list[AttributeSpec]:
    """One AttributeSpec per registry attribute over the formula's raw range (no latent dimension)."""
    return [AttributeSpec(a.name, None, a.raw_low, a.raw_high) for a in ATTRIBUTES.values()]


def _triples(specs: Iterable[AttributeSpec | dict]) -> list[tuple[str, float, float]]:
    return [(s["name"], s["low"], s["high"]) if isinstance(s, dict) else (s.name, s.low, s.high) for s in specs]


def attribute_scales(specs: Iterable[AttributeSpec | dict], grid: Grid = SIMPLE) -> dict[str, dict[str, Any]]:
    """What normalised 0..1 means for each attribute: {name: {low, high (raw), unit, unit_low, unit_high}}.

    Args:
        specs: AttributeSpecs, or their dicts as in a checkpoint header.
        grid: the model's grid (the units per bar depend on its ticks and weights).
    """
    out = {}
    table = units(grid)
    for name, low, high in _triples(specs):
        unit, per_raw = table.get(name, ("raw", 1.0))
        out[name] = {"low": low, "high": high, "unit": unit, "unit_low": low * per_raw, "unit_high": high * per_raw}
    return out


def raw_to_units(name: str, raw: float | np.ndarray, grid: Grid = SIMPLE) -> float | np.ndarray:
    """A raw attribute value (the paper's formula) in the attribute's musical unit on the grid (units(grid)), e.g.
    note density 0.25 -> 6 onsets per 4/4 bar."""
    return np.asarray(raw) * units(grid).get(name, ("raw", 1.0))[1]


def musical_value(scale: dict[str, Any], normalised: float | np.ndarray) -> float | np.ndarray:
    """A normalised 0..1 value in the scale's musical unit (see attribute_scales)."""
    return scale["unit_low"] + np.asarray(normalised) * (scale["unit_high"] - scale["unit_low"])


def scale_text(specs: Iterable[AttributeSpec | dict], grid: Grid = SIMPLE) -> str:
    """One line per attribute: "note_density: 0..1 = 0..8 onsets per bar"."""
    return "\n".join(
        f"{name}: 0..1 = {s['unit_low']:.3g}..{s['unit_high']:.3g} {s['unit']}"
        for name, s in attribute_scales(specs, grid).items()
    )


@dataclass(frozen=True)
class MeasureTable:
    """The attributes of every measure of a clip.

    Attributes:
        tokens: int64 (M, clip.grid.ticks), the clip's measures.
        raw: {attribute: float64 (M,)} raw values (the paper's formulas).
        normalised: {attribute: float64 (M,)} in 0..1 over the spec's range, clipped.
        adjustments: changes made to put the notes on the grid (become warnings).
    """

    tokens: np.ndarray
    raw: dict[str, np.ndarray]
    normalised: dict[str, np.ndarray]
    adjustments: list[Adjustment]


def measure_table(clip: MidiClip, vocab: Vocabulary, specs: list[AttributeSpec]) -> MeasureTable:
    """Put a clip's melody on the grid and compute each spec's attribute per measure.

    Args:
        clip: the clip read from a MIDI file.
        vocab: the vocabulary (pitch range) of the model, or the default.
        specs: the attributes and the raw ranges to normalise over.

    Returns:
        The table; M = clip.n_measures.
    """
    tokens, adjustments = clip_tokens(clip, vocab)
    raw = compute_attributes(tokens, [s.name for s in specs], clip.grid)
    normalised = {s.name: s.normalise(raw[s.name]) for s in specs}
    return MeasureTable(tokens, raw, normalised, adjustments)


def warning_dicts(adjustments: list[Adjustment], first_bar: int = 1) -> list[dict]:
    """Adjustments as plain data for reports: kind, bar (the score's number: measure + first_bar), count, message.

    Args:
        adjustments: from notes_to_tokens, whose messages count bars from 1 over the clip's measures.
        first_bar: the score's number of measure 0 (0 when the clip starts with a pickup bar).
    """
    out = []
    for a in adjustments:
        message = a.message
        if first_bar != 1:  # "bar 3: ..." counts measures from 1; say the score's bar number instead
            message = message.replace(f"bar {a.measure + 1}:", f"bar {a.measure + first_bar}:", 1)
        out.append({"kind": a.kind, "bar": a.measure + first_bar, "count": a.count, "message": message})
    return out


def describe_clip(clip: MidiClip) -> str:
    """One line naming the melody part, its length, pickup, tempo and meter, for people."""
    if clip.tempos:
        bpm = f"{clip.tempos[0][1]:g} bpm" + (f" ({len(clip.tempos)} tempo changes)" if len(clip.tempos) > 1 else "")
    else:
        bpm = "120 bpm (no tempo event)"
    meters = sorted({f"{n}/{d}" for _, n, d in clip.time_signatures}) or ["4/4"]
    whole = next(m for m, n in clip.grid.meters.items() if n == 1)  # the meter of one measure: 4/4, 3/4, 12/8
    bars = f"{clip.n_measures} bar(s) of {whole}"
    if clip.grid.meters.get(clip.meter, 1) == 2:
        bars = f"{clip.n_measures} measure(s) of two {clip.meter} bars"
    if clip.pickup_beats:
        bars += f" (bar 0 is a {clip.pickup_beats:g}-beat pickup)"
    return (
        f"{clip.path}: melody = {clip.describe_part()}, {len(clip.notes)} notes, {bars}, "
        f"meter {', '.join(meters)}, {bpm}"
    )
