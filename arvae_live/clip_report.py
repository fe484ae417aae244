"""Per-measure attribute tables of a MIDI clip, shared by `arvae-live attributes` and the regeneration report.

Normalised values map a raw range onto 0..1: the registry's (what the formula can produce) when no model is given,
else the model's own AttributeSpec range (what its dials span), so the numbers match what the model is steered with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arvae_live.core.attributes import ATTRIBUTES, AttributeSpec, compute_attributes
from arvae_live.core.representation import Adjustment, Vocabulary, notes_to_tokens
from arvae_live.midi_files import MidiClip


def registry_specs() -> list[AttributeSpec]:
    """One AttributeSpec per registry attribute over the formula's raw range (no latent dimension)."""
    return [AttributeSpec(a.name, None, a.raw_low, a.raw_high) for a in ATTRIBUTES.values()]


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
    tokens, adjustments = notes_to_tokens(clip.notes, clip.n_measures, vocab)
    raw = compute_attributes(tokens, [s.name for s in specs])
    normalised = {s.name: s.normalise(raw[s.name]) for s in specs}
    return MeasureTable(tokens, raw, normalised, adjustments)


def warning_dicts(adjustments: list[Adjustment]) -> list[dict]:
    """Adjustments as plain data for reports: kind, bar (1-based), count, message."""
    return [{"kind": a.kind, "bar": a.measure + 1, "count": a.count, "message": a.message} for a in adjustments]


def describe_clip(clip: MidiClip) -> str:
    """One line naming the melody part, its length, tempo and meter, for people."""
    bpm = f"{clip.tempos[0][1]:g} bpm" + (f" ({len(clip.tempos)} tempo changes)" if len(clip.tempos) > 1 else "")
    meters = sorted({f"{n}/{d}" for _, n, d in clip.time_signatures}) or ["4/4"]
    return (
        f"{clip.path}: melody = track {clip.track} channel {clip.channel + 1} ({len(clip.notes)} notes), "
        f"{clip.n_measures} bar(s) of 4/4, meter {', '.join(meters)}, {bpm if clip.tempos else '120 bpm'}"
    )
