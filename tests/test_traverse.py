"""`arvae-live traverse`: one MIDI file per step and a PNG, with the achieved curve measured on the written files."""

from __future__ import annotations

import json

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


def _long_song(path, n_bars: int = 65):
    """n_bars of 4/4: a rising and falling scale in 8th notes, C4..C6."""
    mid = mido.MidiFile(type=0, ticks_per_beat=120)
    track = mido.MidiTrack()
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81, 83, 84]
    walk = scale + scale[-2:0:-1]
    for k in range(8 * n_bars):
        pitch = walk[k % len(walk)]
        track += [mido.Message("note_on", note=pitch, velocity=64), mido.Message("note_off", note=pitch, time=60)]
    mid.tracks.append(track)
    mid.save(path)
    return path


def test_traverse_of_a_long_piece_is_a_bounded_readable_png_and_json(tmp_path, tiny_ckpt):
    song = _long_song(tmp_path / "long.mid")
    out = tmp_path / "trav"
    result = CliRunner().invoke(main, ["traverse", str(song), "--attr", "contour", "--steps", "4", "-o", str(out),
                                       "--model", str(tiny_ckpt), "--device", "cpu", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["bars"] == [1, 65] and [s["asked"] for s in doc["steps"]] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert all(len(s["achieved"]) == 65 for s in doc["steps"]) and len(doc["before"]) == 65
    assert doc["scale"]["unit"] == "semitones" and doc["melody"]["why"] == "the only part"
    image = pytest.importorskip("matplotlib.image").imread(out / "long.contour.png")
    height, width = image.shape[:2]
    assert width <= 2000 and height <= 2400  # was 6772 x 700 for 65 bars
    assert height > 500 and width > 800


def test_traverse_pitch_axis_has_note_names(tmp_path):
    from arvae_live.core.representation import Vocabulary
    from arvae_live.traversal import Traversal, note_name, plot_traversal

    assert [note_name(p) for p in (60, 61, 69, 84)] == ["C4", "C#4", "A4", "C6"]
    tokens = np.zeros((2, 24), dtype=np.int64)
    tokens[:, 0] = [2 + 60 - 55, 2 + 72 - 55]
    tr = Traversal("contour", np.array([0.0, 1.0]), np.stack([tokens, tokens]), np.zeros((2, 2)), np.zeros(2), 1.0,
                   tokens)  # fmt: skip
    path = plot_traversal(tr, Vocabulary(), tmp_path / "t.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bars_past_the_end_say_they_clamp(song, tiny_ckpt, tmp_path):
    args = ["--steps", "2", "--bars", "2:12", "-o", str(tmp_path / "t"), "--model", str(tiny_ckpt), "--device", "cpu"]
    result = CliRunner().invoke(main, ["traverse", str(song), "--attr", "pitch_range", *args])
    assert result.exit_code == 0, result.output
    assert "note: --bars 2:12: the melody has bars 1..3; using 2:3" in result.output
    assert "bars 2-3" in result.output


def test_every_file_command_help_has_an_example():
    for command in ("attributes", "regenerate", "traverse"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.output
        assert f"  arvae-live {command} " in result.output
