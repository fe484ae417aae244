"""Per-measure attribute tables of a MIDI clip, shared by `arvae-live attributes` and the regeneration report.

One meaning of "normalised" everywhere: 0..1 over a model's own AttributeSpec range (what its dials span), the scale
`--set`, `--shift`, the daemon's dials and the report use. `arvae-live attributes` without --model uses the default
model's ranges (bach-arvae when bundled); only when no model is installed does it fall back to the registry's ranges
(what the formula can produce), and it says so. Beside every normalised value the tools show musical units: onsets
per bar (note density), semitones (pitch range, contour), metrically weighted onsets per bar (rhythmic complexity).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from arvae_live.core.attributes import ATTRIBUTES, PITCH_NORM, RC_WEIGHTS, AttributeSpec, compute_attributes
from arvae_live.core.representation import TICKS_PER_MEASURE, Adjustment, Vocabulary
from arvae_live.midi_files import MidiClip, clip_tokens

# attribute -> (unit, units per raw value): raw values are the paper's formulas, e.g. note density = onsets / 24.
UNITS: dict[str, tuple[str, float]] = {
    "note_density": ("onsets per bar", float(TICKS_PER_MEASURE)),
    "pitch_range": ("semitones", PITCH_NORM),
    "contour": ("semitones", PITCH_NORM),
    "rhythmic_complexity": ("weighted onsets per bar", float(RC_WEIGHTS.sum())),
    "register": ("MIDI note (mean onset pitch)", 1.0),
    "syncopation": ("metrical levels held across, per onset", 1.0),
}


def model_scale(model: str | None) -> tuple[Vocabulary, list[AttributeSpec], str]:
    """The vocabulary and attribute ranges that "normalised" means for a command: the model's, the default model's
    when model is None, or the registry's when no model is installed at all.

    Args:
        model: a model id or checkpoint path (--model), or None.

    Returns:
        (vocab, specs, over): over names the scale for people, e.g. "model bach-arvae".

    Raises:
        CheckpointError: the named model does not exist or is not a valid checkpoint (not a regular file included).
    """
    from arvae_live.core.checkpoint import read_header
    from arvae_live.errors import CheckpointError
    from arvae_live.model_store import resolve_model
    from arvae_live.paths import check_regular

    try:
        path = resolve_model(model)
    except CheckpointError:
        if model is not None:
            raise
        return Vocabulary(), registry_specs(), "the attribute registry (no model installed)"
    header = read_header(check_regular(path, CheckpointError, "checkpoint"))
    specs = [AttributeSpec.from_dict(a) for a in header["attributes"]]
    return Vocabulary.from_dict(header["vocabulary"]), specs, f"model {path.stem}"


def registry_specs() -> list[AttributeSpec]:
    """One AttributeSpec per registry attribute over the formula's raw range (no latent dimension)."""
    return [AttributeSpec(a.name, None, a.raw_low, a.raw_high) for a in ATTRIBUTES.values()]


def _triples(specs: Iterable[AttributeSpec | dict]) -> list[tuple[str, float, float]]:
    return [(s["name"], s["low"], s["high"]) if isinstance(s, dict) else (s.name, s.low, s.high) for s in specs]


def attribute_scales(specs: Iterable[AttributeSpec | dict]) -> dict[str, dict[str, Any]]:
    """What normalised 0..1 means for each attribute: {name: {low, high (raw), unit, unit_low, unit_high}}.

    Args:
        specs: AttributeSpecs, or their dicts as in a checkpoint header.
    """
    out = {}
    for name, low, high in _triples(specs):
        unit, per_raw = UNITS.get(name, ("raw", 1.0))
        out[name] = {"low": low, "high": high, "unit": unit, "unit_low": low * per_raw, "unit_high": high * per_raw}
    return out


def raw_to_units(name: str, raw: float | np.ndarray) -> float | np.ndarray:
    """A raw attribute value (the paper's formula) in the attribute's musical unit (UNITS), e.g. 0.25 -> 6 onsets."""
    return np.asarray(raw) * UNITS.get(name, ("raw", 1.0))[1]


def musical_value(scale: dict[str, Any], normalised: float | np.ndarray) -> float | np.ndarray:
    """A normalised 0..1 value in the scale's musical unit (see attribute_scales)."""
    return scale["unit_low"] + np.asarray(normalised) * (scale["unit_high"] - scale["unit_low"])


def scale_text(specs: Iterable[AttributeSpec | dict]) -> str:
    """One line per attribute: "note_density: 0..1 = 0..8 onsets per bar"."""
    return "\n".join(
        f"{name}: 0..1 = {s['unit_low']:.3g}..{s['unit_high']:.3g} {s['unit']}"
        for name, s in attribute_scales(specs).items()
    )


@dataclass(frozen=True)
class MeasureTable:
    """The attributes of every measure of a clip.

    Attributes:
        tokens: int64 (M, 24), the clip's measures.
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
    raw = compute_attributes(tokens, [s.name for s in specs])
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
    bars = f"{clip.n_measures} bar(s) of 4/4"
    if clip.pickup_beats:
        bars += f" (bar 0 is a {clip.pickup_beats:g}-beat pickup)"
    return (
        f"{clip.path}: melody = {clip.describe_part()}, {len(clip.notes)} notes, {bars}, "
        f"meter {', '.join(meters)}, {bpm}"
    )
