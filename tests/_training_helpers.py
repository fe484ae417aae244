"""Shared by the training tests: tiny-size overrides for any preset, and music21 parts written by hand."""

from __future__ import annotations

# Tiny sizes and synthetic data for any preset: a run of 2 steps takes well under a second.
TINY = [
    "dataset=synthetic",
    "model.embed_dim=4",
    "model.hidden_dim=16",
    "model.latent_dim=8",
    "synthetic_n_train=32",
    "synthetic_n_val=8",
    "batch_size=8",
    "log_interval=1",
]


def music21_part(meter: str, bars: list[list]):
    """A music21 part from bars of (name or None for a rest, quarter lengths, tie type or None) triples."""
    from music21 import meter as m21meter
    from music21 import note, stream, tie

    part = stream.Part()
    for i, bar in enumerate(bars):
        m = stream.Measure(number=i)
        if i == 0:
            m.append(m21meter.TimeSignature(meter))
        for name, ql, tie_type in bar:
            n = note.Rest(quarterLength=ql) if name is None else note.Note(name, quarterLength=ql)
            if tie_type:
                n.tie = tie.Tie(tie_type)
            m.append(n)
        part.append(m)
    return part
