"""Key finding, checked by hand and against music21's own Krumhansl-Kessler analysis (an independent oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from arvae_live.core.key import Key, estimate_key, in_scale


def test_scales_by_hand():
    assert Key(0, "major").pitch_classes == {0, 2, 4, 5, 7, 9, 11}
    assert Key(9, "minor").pitch_classes == Key(0, "major").pitch_classes  # A minor shares C major's collection
    assert Key(7, "major").pitch_classes == {7, 9, 11, 0, 2, 4, 6} and Key(7, "major").name == "G major"
    np.testing.assert_array_equal(in_scale([60, 61, 66, 67], Key(7, "major").pitch_classes), [True, False, True, True])


def test_a_scale_and_a_tonic_triad_give_their_key():
    assert estimate_key(np.array([60, 62, 64, 65, 67, 69, 71, 72, 64, 67, 60])).name == "C major"
    # D minor: tonic and dominant held long, B flat and C sharp present
    pitches = np.array([62, 64, 65, 67, 69, 70, 73, 74, 69, 65, 62])
    durations = np.array([2, 1, 2, 1, 2, 1, 0.5, 2, 1, 1, 2])
    assert estimate_key(pitches, durations).name == "D minor"
    assert estimate_key(np.array([], dtype=int)).correlation == 0.0


@pytest.mark.parametrize("work", ["bach/bwv66.6", "bach/bwv269", "bach/bwv347"])
def test_agrees_with_music21_on_chorale_sopranos(work):
    music21 = pytest.importorskip("music21")
    from music21 import analysis

    soprano = music21.corpus.parse(work).parts[0].stripTies().flatten().notes
    pitches = np.array([n.pitch.midi for n in soprano])
    durations = np.array([float(n.quarterLength) for n in soprano])
    theirs = analysis.discrete.KrumhanslKessler().getSolution(music21.stream.Stream(list(soprano)))
    ours = estimate_key(pitches, durations)
    assert (ours.root, ours.mode) == (theirs.tonic.pitchClass, theirs.mode)
