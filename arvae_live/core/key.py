"""The key of a melody and the pitch classes of its scale (Krumhansl-Kessler key finding).

A key is estimated from the pitch-class histogram of a clip's notes, weighted by duration, correlated with the
Krumhansl-Kessler major and minor key profiles rotated to each of the 12 roots (Krumhansl 1990, as in music21's
`analyze('key')`); the best of the 24 correlations wins. A key's scale is its diatonic collection: the major scale,
or for a minor key the natural minor (the same collection as its relative major).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arvae_live.core.representation import FIRST_PITCH_TOKEN, Vocabulary

# Krumhansl & Kessler (1982) probe-tone ratings, index 0 = the tonic.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)


def _standardised_profiles() -> np.ndarray:
    """(24, 12): the major then the minor profile rotated to roots 0..11, each centred and of unit norm."""
    rows = np.array([np.roll(p, root) for p in (KK_MAJOR, KK_MINOR) for root in range(12)])
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


_PROFILES = _standardised_profiles()
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class 0..11 (0 = C), mode "major" or "minor", and how well the melody fits it.

    Attributes:
        root: tonic pitch class, 0..11.
        mode: "major" or "minor".
        correlation: Pearson correlation of the melody's duration-weighted pitch-class histogram with the key's
            profile, -1..1 (0 for a melody with no notes).
    """

    root: int
    mode: str
    correlation: float = 0.0

    @property
    def pitch_classes(self) -> frozenset[int]:
        """The 7 pitch classes of the key's diatonic scale."""
        steps = MAJOR_STEPS if self.mode == "major" else NATURAL_MINOR_STEPS
        return frozenset((self.root + s) % 12 for s in steps)

    @property
    def name(self) -> str:
        """E.g. "G major", "F# minor"."""
        return f"{PITCH_CLASS_NAMES[self.root]} {self.mode}"


def pitch_class_histogram(pitches: np.ndarray, durations: np.ndarray | None = None) -> np.ndarray:
    """Duration-weighted pitch-class histogram.

    Args:
        pitches: MIDI note numbers, int array (N,).
        durations: note lengths in beats, float array (N,); None weighs every note 1.

    Returns:
        float64 array (12,), index = pitch class.
    """
    pitches = np.asarray(pitches, dtype=np.int64)
    weights = np.ones(len(pitches)) if durations is None else np.asarray(durations, dtype=np.float64)
    return np.bincount(pitches % 12, weights=weights, minlength=12).astype(np.float64)


def estimate_key(pitches: np.ndarray, durations: np.ndarray | None = None) -> Key:
    """The Krumhansl-Kessler key of a melody.

    Args:
        pitches: MIDI note numbers (N,). durations: their lengths in beats (N,), or None for equal weights.

    Returns:
        The best-correlated of the 24 major and minor keys; C major with correlation 0 for fewer than 1 note or a
        histogram with no variation (every pitch class equally present).
    """
    hist = pitch_class_histogram(pitches, durations)
    if hist.sum() <= 0 or np.ptp(hist) == 0:
        return Key(0, "major", 0.0)
    h = (hist - hist.mean()) / np.linalg.norm(hist - hist.mean())
    r = _PROFILES @ h  # Pearson r with each of the 24 keys at once (this runs on every request)
    best = int(np.argmax(r))  # the first of equal maxima: major before minor, C upward
    return Key(best % 12, "major" if best < 12 else "minor", float(r[best]))


def in_scale(pitches: np.ndarray, pitch_classes: frozenset[int] | set[int]) -> np.ndarray:
    """Bool array (N,): whether each MIDI pitch's class is one of pitch_classes."""
    return np.isin(np.asarray(pitches, dtype=np.int64) % 12, sorted(pitch_classes))


def allowed_tokens(pitch_classes: frozenset[int] | set[int], vocab: Vocabulary) -> np.ndarray:
    """bool (vocab.size,): HOLD, REST and every pitch token whose pitch class is in pitch_classes.

    Args:
        pitch_classes: 0..11.
        vocab: a `Vocabulary` (pitch token FIRST_PITCH_TOKEN + k is MIDI vocab.pitch_low + k).
    """
    ids = np.arange(vocab.size)
    midi = ids - FIRST_PITCH_TOKEN + vocab.pitch_low
    return (ids < FIRST_PITCH_TOKEN) | np.isin(midi % 12, sorted(pitch_classes))


def melody_scale(pitches: np.ndarray, durations: np.ndarray | None = None) -> tuple[Key | None, frozenset[int]]:
    """The key of a melody and the pitch classes regenerated notes keep to: the key's diatonic scale plus the
    melody's own pitch classes (its chromatic notes stay possible). (None, empty) for a melody without notes."""
    pitches = np.asarray(pitches, dtype=np.int64)
    if not len(pitches):
        return None, frozenset()
    key = estimate_key(pitches, durations)
    return key, key.pitch_classes | frozenset(int(p) for p in pitches % 12)
