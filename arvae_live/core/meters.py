"""The meters arvae-live reads: one table for the MIDI file reader (arvae_live/midi_files.py) and the corpus
builder (training/corpora.py, training/data.py).

A measure of the model is 4 quarter notes (core.representation.BEATS_PER_MEASURE, 24 ticks). 4/4 and 2/2 bars fill
one measure each; 2/4 bars are paired, two to a measure. Any other meter is refused by both sides, so the model
never sees a bar it was not trained on.
"""

from __future__ import annotations

from arvae_live.core.representation import BEATS_PER_MEASURE

# "num/den" -> bars of that meter per 24-tick measure.
BARS_PER_MEASURE = {"4/4": 1, "2/2": 1, "2/4": 2}
SUPPORTED_METERS = tuple(BARS_PER_MEASURE)  # ("4/4", "2/2", "2/4")
SUPPORTED_TEXT = "4/4, 2/2 (one bar per measure) and 2/4 (two bars per measure)"


def bar_beats(numerator: int, denominator: int) -> float:
    """The length of one bar of numerator/denominator in quarter notes, e.g. 3/8 -> 1.5."""
    return numerator * 4 / denominator


def is_supported(numerator: int, denominator: int) -> bool:
    """True for the meters in BARS_PER_MEASURE."""
    return f"{numerator}/{denominator}" in BARS_PER_MEASURE


assert all(bar_beats(*map(int, m.split("/"))) * n == BEATS_PER_MEASURE for m, n in BARS_PER_MEASURE.items())
