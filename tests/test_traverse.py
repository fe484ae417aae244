"""`arvae-live traverse`: one MIDI file per step and a PNG, with the achieved curve measured on the written files."""

from __future__ import annotations

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from arvae_live.cli import main
from arvae_live.core.checkpoint import load_checkpoint
from arvae_live.core.representation import notes_to_tokens
from arvae_live.midi_files import read_midi


@pytest.fixture
def song(tmp_path):
    """3 bars of 4/4: quarter notes C4 D4 E4 F4 | G4 A4 B4 C5 | C5 whole note."""
    mid = mido.MidiFile(type=0, ticks_per_beat=120)
    track = mido.MidiTrack([mido.MetaMessage("time_signature"), mido.Message("program_change", program=11)])
    for pitch, dur in [(60, 120), (62, 120), (64, 120), (65, 120), (67, 120), (69, 120), (71, 120), (72, 120),
                       (72, 480)]:  # fmt: skip
        track += [mido.Message("note_on", note=pitch, velocity=64), mido.Message("note_off", note=pitch, time=dur)]
    mid.tracks.append(track)
    path = tmp_path / "song.mid"
    mid.save(path)
    return path


def test_traverse_writes_steps_and_png(song, tiny_ckpt, tmp_path):
    out = tmp_path / "trav"
    result = CliRunner().invoke(
        main,
        [
            "traverse",
            str(song),
            "--attr",
            "pitch_range",
            "--steps",
            "3",
            "--bars",
            "2:2",
            "-o",
            str(out),
            "--model",
            str(tiny_ckpt),
            "--device",
            "cpu",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "song.pitch_range.png", "song.pitch_range.s1.mid", "song.pitch_range.s2.mid", "song.pitch_range.s3.mid"
    ]  # fmt: skip
    image = pytest.importorskip("matplotlib.image").imread(out / "song.pitch_range.png")
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600

    ckpt = load_checkpoint(tiny_ckpt)
    spec = ckpt.attribute("pitch_range")
    src = read_midi(song)
    src_tokens = notes_to_tokens(src.notes, src.n_measures, ckpt.vocabulary)[0]
    rows = [line.split() for line in result.output.splitlines()[3:]]
    assert [float(r[1]) for r in rows] == [0.0, 0.5, 1.0]
    for k, row in enumerate(rows, start=1):
        clip = read_midi(out / f"song.pitch_range.s{k}.mid")
        tokens = notes_to_tokens(clip.notes, clip.n_measures, ckpt.vocabulary)[0]
        np.testing.assert_array_equal(tokens[0], src_tokens[0])  # bar 1 is outside the selection
        # The printed "achieved" is bar 2's pitch range in the written file, measured here from its notes.
        onset_pitches = [n.pitch for n in clip.notes if 4 <= n.start_beats < 8]
        raw = (max(onset_pitches) - min(onset_pitches)) / 26 if len(onset_pitches) >= 2 else 0.0
        assert float(row[2]) == pytest.approx(float(spec.normalise(raw)), abs=1e-3)
        assert mido.MidiFile(out / f"song.pitch_range.s{k}.mid").tracks[0][1].program == 11


def test_traverse_unknown_attribute_is_one_line(song, tiny_ckpt, tmp_path):
    result = CliRunner().invoke(
        main, ["traverse", str(song), "--attr", "loudness", "-o", str(tmp_path / "t"), "--model", str(tiny_ckpt)]
    )
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "no attribute 'loudness'" in lines[0]
    assert not (tmp_path / "t").exists()
