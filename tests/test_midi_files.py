"""MIDI files: melody choice, notes in beats, meters, bar selection, write-back that touches only the melody.

Files are written by the tests themselves with mido (hand-written messages) or with music21 (a chorale soprano);
expected notes, tokens and attribute values are worked out by hand in the comments.
"""

from __future__ import annotations

import io
import json
import os
import struct

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from arvae_live.cli import main
from arvae_live.core.notes import carried_notes
from arvae_live.core.representation import (
    CHORD_REDUCED,
    REST,
    Note,
    Vocabulary,
    notes_to_tokens,
)
from arvae_live.errors import MidiFileError
from arvae_live.midi_files import (
    MAX_MEASURES,
    clip_tokens,
    midi_bytes,
    parse_bars,
    read_midi,
    splice_notes,
    write_midi,
)

TPB = 480  # ticks per beat of the hand-written files


def _track(*events: tuple[int, mido.Message]) -> mido.MidiTrack:
    """A track from (absolute tick, message) pairs, in the order given."""
    track, last = mido.MidiTrack(), 0
    for now, msg in events:
        track.append(msg.copy(time=now - last))
        last = now
    return track


def _notes(channel: int, *spec: tuple[int, int, int, int]) -> list[tuple[int, mido.Message]]:
    """note_on/note_off pairs from (pitch, on_tick, off_tick, velocity), sorted by time, offs before ons."""
    ev = []
    for pitch, on, off, vel in spec:
        ev.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
        ev.append((off, 0, mido.Message("note_on", channel=channel, note=pitch, velocity=0)))  # running-status style
    return [(t, m) for t, _, m in sorted(ev, key=lambda e: (e[0], e[1]))]


def _conductor(meters=((0, 4, 4),)) -> mido.MidiTrack:
    ev = [(0, mido.MetaMessage("set_tempo", tempo=500000))]
    ev += [(t, mido.MetaMessage("time_signature", numerator=n, denominator=d)) for t, n, d in meters]
    return _track(*ev)


# The melody of the song file, track 2 channel index 1, in ticks (480 per beat):
#   bar 1: C5 quarter, D5 8th, E5 8th, F5 G5 A5 8th-note triplet, rest on beat 4; bar 2: C6 whole note.
MELODY = [(72, 0, 480, 80), (74, 480, 720, 90), (76, 720, 960, 100), (77, 960, 1120, 70), (79, 1120, 1280, 70),
          (81, 1280, 1440, 70), (84, 1920, 3840, 110)]  # fmt: skip
MELODY_NOTES = [Note(72, 0, 1, 80), Note(74, 1, 0.5, 90), Note(76, 1.5, 0.5, 100), Note(77, 2, 1 / 3, 70),
                Note(79, 2 + 1 / 3, 1 / 3, 70), Note(81, 2 + 2 / 3, 1 / 3, 70), Note(84, 4, 4, 110)]  # fmt: skip
# Tokens by hand: token = 2 + pitch - 55, so 72->19, 74->21, 76->23, 77->24, 79->26, 81->28, 84->31.
MELODY_TOKENS = np.zeros((2, 24), dtype=np.int64)
MELODY_TOKENS[0, [0, 6, 9, 12, 14, 16, 18]] = [19, 21, 23, 24, 26, 28, REST]
MELODY_TOKENS[1, 0] = 31


def _song(path, meters=((0, 4, 4),)) -> None:
    """Type 1: conductor; piano chords (12 notes, polyphonic); the melody (7 notes) with a program change and a
    controller; drums on channel 10 (16 notes, monophonic). The rule must pick the melody."""
    piano = []
    for bar, root in enumerate((60, 65, 67, 60)):
        piano += [(root + i, bar * 1920, bar * 1920 + 1920, 60) for i in (0, 4, 7)]
    melody = [
        (0, mido.MetaMessage("track_name", name="Lead")),
        (0, mido.Message("program_change", channel=1, program=73)),
        (0, mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01])),  # GM on: sysex is stored unlike on the wire
        *_notes(1, *MELODY),
    ]
    melody.insert(5, (480, mido.Message("control_change", channel=1, control=1, value=64)))
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks += [
        _conductor(meters),
        _track(*_notes(0, *piano)),
        _track(*sorted(melody, key=lambda e: e[0])),
        _track(*_notes(9, *[(36, i * 240, i * 240 + 120, 100) for i in range(16)])),
    ]
    mid.save(path)


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.mid"
    _song(path)
    return path


def test_melody_rule_skips_chords_and_drums(song):
    clip = read_midi(song)
    assert (clip.track, clip.channel) == (2, 1)
    # A flat array, not a list of tuples: pytest >= 9.2 refuses approx() on nested data.
    np.testing.assert_allclose(
        np.array([(n.pitch, n.start_beats, n.dur_beats, n.velocity) for n in clip.notes], dtype=float),
        np.array([(n.pitch, n.start_beats, n.dur_beats, n.velocity) for n in MELODY_NOTES], dtype=float),
    )
    assert clip.n_measures == 2
    assert clip.tempos == ((0.0, 120.0),)
    assert clip.time_signatures == ((0.0, 4, 4),)
    tokens, adjustments = notes_to_tokens(clip.notes, clip.n_measures, Vocabulary())
    np.testing.assert_array_equal(tokens, MELODY_TOKENS)
    assert adjustments == []


def test_track_option_picks_the_named_track(song):
    clip = read_midi(song, track=1)
    assert (clip.track, clip.channel, len(clip.notes)) == (1, 0, 12)
    _, adjustments = notes_to_tokens(clip.notes, clip.n_measures, Vocabulary())
    assert [(a.kind, a.measure, a.count) for a in adjustments] == [(CHORD_REDUCED, m, 2) for m in range(4)]
    with pytest.raises(MidiFileError, match="track 3 has no pitched notes; tracks with notes: 1, 2"):
        read_midi(song, track=3)  # drums only
    with pytest.raises(MidiFileError, match=r"--track 7 does not exist; the file has tracks 0..3"):
        read_midi(song, track=7)


def test_write_back_round_trip_touches_only_the_melody(song, tmp_path):
    clip = read_midi(song)
    vocab = Vocabulary()
    tokens, _ = notes_to_tokens(clip.notes, clip.n_measures, vocab)
    notes = carried_notes(tokens, vocab, clip.notes)
    out = write_midi(clip, notes, tmp_path / "out" / "song.v1.mid")
    back = read_midi(out)
    np.testing.assert_array_equal(notes_to_tokens(back.notes, back.n_measures, vocab)[0], MELODY_TOKENS)
    assert [n.velocity for n in back.notes] == [80, 90, 100, 70, 70, 70, 110]
    # Other tracks: the same bytes and the same messages.
    src, dst = mido.MidiFile(song), mido.MidiFile(out)
    for t in (0, 1, 3):
        assert dst.tracks[t] == src.tracks[t]
        assert (
            out.read_bytes()[back.track_spans[t][0] : back.track_spans[t][1]]
            == (clip.source[clip.track_spans[t][0] : clip.track_spans[t][1]])
        )

    # Melody track: every non-note event at the same absolute tick and in the same order.
    def non_notes(track):
        now, out = 0, []
        for m in track:
            now += m.time
            if m.type not in ("note_on", "note_off"):
                out.append((now, m.copy(time=0)))
        return out

    assert non_notes(dst.tracks[2]) == non_notes(src.tracks[2])
    # The program change and the controller still come before the notes they were set for.
    kinds = [m.type for m in dst.tracks[2]]
    assert kinds.index("program_change") < kinds.index("note_on")
    assert song.read_bytes() == clip.source  # the input is untouched


def test_unchanged_melody_gives_identical_bytes(tmp_path):
    # A file written as music21 writes one (note_off messages with velocity 0, offs before ons) comes back byte for
    # byte when its melody is written back unchanged.
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    ev = []
    for pitch, on, off, vel in MELODY:
        ev += [
            (on, 1, mido.Message("note_on", note=pitch, velocity=vel)),
            (off, 0, mido.Message("note_off", note=pitch, velocity=0)),
        ]
    mid.tracks.append(_track(*[(t, m) for t, _, m in sorted(ev, key=lambda e: (e[0], e[1]))]))
    path = tmp_path / "plain.mid"
    mid.save(path)
    clip = read_midi(path)
    assert midi_bytes(clip, clip.notes) == path.read_bytes()


def test_type0_file_keeps_the_drum_channel(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    drums = [(36, i * 480, i * 480 + 240, 100) for i in range(8)]
    mid.tracks.append(_track(*sorted(_notes(0, *MELODY) + _notes(9, *drums), key=lambda e: e[0])))
    path = tmp_path / "type0.mid"
    mid.save(path)
    clip = read_midi(path)
    assert (clip.track, clip.channel, len(clip.notes)) == (0, 0, 7)
    out = write_midi(clip, [Note(60, 0, 8)], tmp_path / "o.mid")
    track = mido.MidiFile(out).tracks[0]
    drum_ons = [m.note for m in track if m.type == "note_on" and m.channel == 9 and m.velocity > 0]
    melody_ons = [m.note for m in track if m.type == "note_on" and m.channel == 0 and m.velocity > 0]
    assert drum_ons == [36] * 8 and melody_ons == [60]


def test_splice_keeps_notes_outside_the_selected_bars(song):
    clip = read_midi(song)
    bars = parse_bars("2:2", clip.n_measures)
    start, stop = bars.start, bars.stop
    assert (start, stop, bars.clamped) == (1, 2, None)
    new = [Note(60, 4, 2), Note(62, 6, 2)]
    merged = splice_notes(clip.notes, new, start, stop)
    assert merged == [*MELODY_NOTES[:6], *new]
    # A note sounding into the window is cut at its start (beat 4).
    assert splice_notes([Note(60, 3, 2, 77)], [], 1, 2) == [Note(60, 3, 1, 77)]
    assert splice_notes([Note(60, 0, 1), Note(62, 9, 1)], [], 1, 2) == [Note(60, 0, 1), Note(62, 9, 1)]


@pytest.mark.parametrize(
    "spec, expected",
    [(None, (0, 8)), ("", (0, 8)), ("3:6", (2, 6)), ("3:", (2, 8)), (":2", (0, 2)), ("5", (4, 5)), ("7:20", (6, 8))],
)
def test_parse_bars(spec, expected):
    bars = parse_bars(spec, 8)
    assert (bars.start, bars.stop) == expected
    # Bars past the end are cut and the cut is said (7:20 on 8 bars); nothing else is.
    assert (bars.clamped is not None) == (spec == "7:20")


def test_parse_bars_says_when_it_clamps_and_counts_a_pickup_as_bar_0():
    assert parse_bars("8:12", 9).clamped == "--bars 8:12: the melody has bars 1..9; using 8:9"
    # With a pickup, measure 0 is bar 0 and the first full bar is bar 1, as in the score.
    bars = parse_bars("1:2", 9, first_bar=0)
    assert (bars.start, bars.stop, bars.clamped) == (1, 3, None)
    assert (parse_bars("0", 9, first_bar=0).start, parse_bars(None, 9, first_bar=0).stop) == (0, 9)
    with pytest.raises(MidiFileError, match=r"only bars 0..8 \(bar 0 is the pickup\)"):
        parse_bars("9:", 9, first_bar=0)


@pytest.mark.parametrize("spec, msg", [("a:b", "expected A:B"), ("4:2", "1 <= A <= B"), ("0:2", "1 <= A"),
                                       ("9:", r"only bars 1\.\.8")])  # fmt: skip
def test_parse_bars_refuses(spec, msg):
    with pytest.raises(MidiFileError, match=msg):
        parse_bars(spec, 8)


def test_a_restated_meter_off_the_barline_is_harmless(tmp_path):
    # music21 restates 4/4 after a pickup, off our barlines (here at beat 7): the grid does not change.
    path = tmp_path / "pickup.mid"
    _song(path, meters=((0, 4, 4), (7 * TPB, 4, 4)))
    assert read_midi(path).time_signatures == ((0.0, 4, 4), (7.0, 4, 4))


def test_two_four_reads_in_pairs(tmp_path):
    path = tmp_path / "march.mid"
    _song(path, meters=((0, 2, 4),))
    clip = read_midi(path)
    assert clip.n_measures == 2 and clip.time_signatures == ((0.0, 2, 4),)


@pytest.mark.parametrize(
    "meters, msg",
    [
        (((0, 9, 8),), "meter 9/8 at bar 1 is not supported"),
        (((0, 4, 4), (3840, 5, 4)), "meter 5/4 at bar 3 is not supported"),  # 2 bars of 4/4 = 3840 ticks
        # 3/4 and 6/8 are read since #18, on their own grids; a change of grid inside a file is refused.
        (((0, 4, 4), (3840, 6, 8)), r"meter change from 4/4 \(simple grid\) to 6/8 \(compound grid\) at bar 3"),
        # 3 bars of 2/4 (6 beats = 2880 ticks) end mid-way through a 4/4 measure.
        (((0, 2, 4), (2880, 4, 4)), "meter change to 4/4 at bar 4 does not fall on a 4/4 barline"),
    ],
)
def test_unsupported_meters_name_meter_and_bar(tmp_path, meters, msg):
    path = tmp_path / "m.mid"
    _song(path, meters=meters)
    with pytest.raises(MidiFileError, match=msg):
        read_midi(path)


def test_write_is_atomic_and_never_overwrites_the_input(song, tmp_path, monkeypatch):
    clip = read_midi(song)
    with pytest.raises(MidiFileError, match="refusing to overwrite the input"):
        write_midi(clip, clip.notes, song)
    out_dir = tmp_path / "atomic"
    out_dir.mkdir()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_midi(clip, clip.notes, out_dir / "x.mid")
    assert list(out_dir.iterdir()) == []  # neither the output nor a temporary file


# ---- bad input through the CLI: one line, exit code 1 ------------------------------------------------------------


def _bad_files(tmp_path, song):
    text = tmp_path / "notes.mid"
    text.write_text("this is not a MIDI file\n")
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(song.read_bytes()[:-40])
    empty = tmp_path / "empty.mid"
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks.append(_conductor())
    mid.save(empty)
    waltz = tmp_path / "nine-eight.mid"  # 3/4 was the unsupported meter here before #18; 9/8 still is
    _song(waltz, meters=((0, 9, 8),))
    return {
        "missing": (tmp_path / "nope.mid", "no such file"),
        "not midi": (text, "not a MIDI file"),
        "truncated": (truncated, "truncated MIDI file"),
        "no notes": (empty, "no notes"),
        "meter": (waltz, "meter 9/8 at bar 1 is not supported"),
        "folder": (tmp_path, "is a folder"),
    }


@pytest.mark.parametrize("case", ["missing", "not midi", "truncated", "no notes", "meter", "folder"])
def test_attributes_bad_input_is_one_line(tmp_path, song, case):
    path, msg = _bad_files(tmp_path, song)[case]
    result = CliRunner().invoke(main, ["attributes", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0] and lines[0].startswith("Error:"), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_attributes_json_values_by_hand(song, tmp_path, monkeypatch):
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "no-models"))  # no model installed: registry ranges
    result = CliRunner().invoke(main, ["attributes", str(song), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["track"], out["channel"], out["n_measures"]) == (2, 2, 2)
    assert out["normalised_over"] == "the attribute registry (no model installed)"
    bar1, bar2 = out["measures"]
    # Bar 1 onsets at ticks 0, 6, 9, 12, 14, 16: metrical weights 0.20 + 0.67 + 0.5 + 0.25 + 2 + 2 = 5.62 of 27.79.
    paper = ("rhythmic_complexity", "pitch_range", "note_density", "contour")
    assert {k: bar1["raw"][k] for k in paper} == pytest.approx(
        {"rhythmic_complexity": 5.62 / 27.79, "pitch_range": 9 / 26, "note_density": 6 / 24, "contour": 9 / 26}
    )
    # Registry ranges: pitch_range 0..29/26, contour -29/26..29/26.
    assert bar1["normalised"]["pitch_range"] == pytest.approx(9 / 29)
    assert bar1["normalised"]["contour"] == pytest.approx((9 + 29) / 58)
    assert {k: bar2["raw"][k] for k in paper} == pytest.approx(
        {"rhythmic_complexity": 0.2 / 27.79, "pitch_range": 0, "note_density": 1 / 24, "contour": 0}
    )
    # Musical units: 6 onsets in bar 1, C5..A5 = 9 semitones, rising 9 semitones; weighted onsets 5.62.
    assert {k: bar1["units"][k] for k in paper} == pytest.approx(
        {"rhythmic_complexity": 5.62, "pitch_range": 9, "note_density": 6, "contour": 9}, abs=0.01
    )
    assert bar1["units"]["register"] == bar1["raw"]["register"]  # already a MIDI note number
    assert out["warnings"] == []


def test_attributes_table_lists_warnings(song):
    result = CliRunner().invoke(main, ["attributes", str(song), "--track", "1"])
    assert result.exit_code == 0, result.output
    assert "melody = track 1 channel 1 (--track 1), 12 notes" in result.output
    assert "bar 1: 2 chord note(s) dropped, keeping the top line" in result.output


# ---- a real melody written by music21 -----------------------------------------------------------------------------


def test_music21_chorale_soprano_reads_back(tmp_path):
    music21 = pytest.importorskip("music21")
    soprano = music21.corpus.parse("bach/bwv66.6").parts[0]
    path = tmp_path / "bwv66.6.mid"
    soprano.write("midi", fp=str(path))
    clip = read_midi(path)
    # The independent route: music21's own notes (ties merged, as its MIDI export merges them).
    expected = [(n.pitch.midi, float(n.offset), float(n.quarterLength)) for n in soprano.stripTies().flatten().notes]
    np.testing.assert_allclose(
        np.array([(n.pitch, n.start_beats, n.dur_beats) for n in clip.notes], dtype=float),
        np.array(expected, dtype=float),
    )
    assert clip.time_signatures == ((0.0, 4, 4),)
    # Unchanged notes written back give the same file.
    assert midi_bytes(clip, clip.notes) == path.read_bytes()
    assert io.BytesIO(path.read_bytes()).getvalue()[:4] == b"MThd"


def test_attributes_normalise_over_the_model_ranges(song, tmp_path, tiny_model, tiny_config, vocab):
    from arvae_live.core.attributes import AttributeSpec
    from arvae_live.core.checkpoint import Checkpoint, save_checkpoint

    # A model whose pitch_range dial spans raw 0..0.5 and which knows no other attribute.
    specs = [AttributeSpec("pitch_range", 0, 0.0, 0.5)]
    ckpt = save_checkpoint(
        Checkpoint("inference", tiny_config, specs, vocab, tiny_model.state_dict()), tmp_path / "narrow.pt"
    )
    result = CliRunner().invoke(main, ["attributes", str(song), "--json", "--model", str(ckpt)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["normalised_over"] == "model narrow" and out["ranges"] == {"pitch_range": [0.0, 0.5]}
    bar1 = out["measures"][0]
    assert bar1["raw"] == pytest.approx({"pitch_range": 9 / 26})
    assert bar1["normalised"] == pytest.approx({"pitch_range": (9 / 26) / 0.5})


# ---- which part is the melody -------------------------------------------------------------------------------------


def test_full_chorale_soprano_is_the_melody_with_or_without_part_names(tmp_path):
    music21 = pytest.importorskip("music21")
    score = music21.corpus.parse("bach/bwv66.6")
    path = tmp_path / "bwv66.6.mid"
    score.write("midi", fp=str(path))  # all four parts, one track each (tracks 1..4), tenor with the most notes
    clip = read_midi(path)
    assert (clip.track, clip.track_name, clip.reason) == (1, "Soprano", "named like a melody")
    expected = [n.pitch.midi for n in score.parts[0].stripTies().flatten().notes]
    assert [n.pitch for n in clip.notes] == expected
    # Without names the soprano is still the top part.
    mid = mido.MidiFile(path)
    for track in mid.tracks:
        track[:] = [m for m in track if m.type != "track_name"]
    mid.save(tmp_path / "anonymous.mid")
    clip = read_midi(tmp_path / "anonymous.mid")
    assert (clip.track, clip.track_name, clip.reason) == (1, "", "the top part")
    assert read_midi(path, track=3).reason == "--track 3"  # --track overrides (the tenor)


def _piano(path) -> None:
    """A two-hand piano piece, as notation software exports one: right hand (track 1) a tune doubled in octaves on
    the strong beats (polyphonic); left hand (track 2) bass on beats 1 and 3, three-note chords on 2 and 4 (more
    notes, polyphonic). Neither track is named."""
    right, left = [], []
    for bar in range(4):
        t0 = bar * 4 * TPB
        for beat, pitch in enumerate((76, 79, 84, 79)):
            on, off = t0 + beat * TPB, t0 + (beat + 1) * TPB
            right.append((pitch, on, off, 90))
            if beat % 2 == 0:
                right.append((pitch - 12, on, off, 80))  # octave doubling
            if beat % 2 == 0:
                left.append((36 + bar, on, off, 70))
            else:
                left += [(p + bar, on, off, 60) for p in (48, 52, 55)]
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks += [_conductor(), _track(*_notes(0, *right)), _track(*_notes(0, *left))]
    mid.save(path)


def test_two_hand_piano_right_hand_is_the_melody(tmp_path):
    path = tmp_path / "piano.mid"
    _piano(path)
    clip = read_midi(path)
    # The old rule (no mostly monophonic part: the most notes) took the left hand, whose bass and chords made one line.
    assert clip.track == 1 and clip.reason.startswith("the top part; no part is mostly monophonic")
    assert [n.pitch for n in clip.notes[:3]] == [64, 76, 79]  # E4 doubling E5 on the downbeat, then G5
    tokens, adjustments = clip_tokens(clip, Vocabulary())
    assert {a.kind for a in adjustments} == {CHORD_REDUCED}  # octave doublings reduce to the top line
    assert read_midi(path, track=2).track == 2


def test_regenerate_prints_and_reports_the_melody_part(tmp_path, tiny_ckpt):
    path = tmp_path / "piano.mid"
    _piano(path)
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["regenerate", str(path), "-o", str(tmp_path / "o"), "--model", str(tiny_ckpt),
                                       "--report", str(report)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"ok      {path}: melody track 1 channel 1 (the top part; no part is mostly monophonic" in result.output
    (entry,) = json.loads(report.read_text())["files"]
    assert (entry["track"], entry["channel"], entry["track_name"]) == (1, 1, "")
    assert entry["melody"].startswith("the top part")


# ---- pickups, DAW note-offs, limits and files that are not files ---------------------------------------------------


def _pickup_song(path, meters) -> None:
    """A one-beat pickup (two 8th notes G4 A4), then bar 1: B4 C5 D5 E5 quarters, bar 2: F5 whole note."""
    spec = [(67, 0, 240, 70), (69, 240, 480, 80)]
    spec += [(p, 480 * (k + 1), 480 * (k + 2), 90) for k, p in enumerate((71, 72, 74, 76))]
    spec += [(77, 480 * 5, 480 * 9, 100)]
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks += [_conductor(meters), _track(*_notes(0, *spec))]
    mid.save(path)


@pytest.mark.parametrize(
    "meters",
    [((0, 4, 4), (TPB, 4, 4)), ((0, 1, 4), (TPB, 4, 4))],  # the 4/4 restated at beat 1; a 1/4 partial-bar signature
    ids=["first bar short", "partial-bar signature"],
)
def test_a_pickup_keeps_the_score_bar_lines(tmp_path, meters):
    path = tmp_path / "pickup.mid"
    _pickup_song(path, meters)
    clip = read_midi(path)
    assert (clip.pickup_beats, clip.first_bar, clip.n_measures) == (1.0, 0, 3)
    tokens, adjustments = clip_tokens(clip, Vocabulary())
    assert adjustments == []
    # Measure 0 is the pickup, right-aligned: rest, then G4 (token 14) at beat 3 and A4 (16) half a beat later.
    assert tokens[0, 0] == REST and tokens[0, 18] == 14 and tokens[0, 21] == 16
    # Bar 1 starts on its downbeat: B4 C5 D5 E5 on ticks 0, 6, 12, 18 (undisplaced quarters); bar 2 is F5.
    assert tokens[1, [0, 6, 12, 18]].tolist() == [18, 19, 21, 23] and tokens[2, 0] == 24
    # Written back unchanged, the file holds the same notes at the same ticks (the padding is not written).
    same = read_midi(write_midi(clip, clip.notes, tmp_path / "same.mid"))
    assert same.notes == clip.notes and same.pickup_beats == 1.0
    # --bars 1:1 is the score's first full bar; regenerated notes land in its beats, the pickup is kept.
    bars = parse_bars("1:1", clip.n_measures, clip.first_bar)
    assert (bars.start, bars.stop) == (1, 2)
    new = [Note(60, 4.0, 4.0)]  # grid beats of measure 1
    out = tmp_path / "out.mid"
    write_midi(clip, splice_notes(clip.notes, new, bars.start, bars.stop), out)
    back = read_midi(out)
    assert [(n.pitch, n.start_beats - back.pickup_pad) for n in back.notes] == [(67, 0), (69, 0.5), (60, 1), (77, 5)]


def test_a_regenerated_pickup_bar_never_writes_before_the_file_start(tmp_path):
    path = tmp_path / "pickup.mid"
    _pickup_song(path, ((0, 4, 4), (TPB, 4, 4)))
    clip = read_midi(path)
    # A measure 0 filled with notes from its downbeat: only what falls in the pickup beat reaches the file.
    new = [Note(60, 0.0, 2.5), Note(62, 2.5, 1.0), Note(64, 3.5, 0.5)]
    write_midi(clip, splice_notes(clip.notes, new, 0, 1), tmp_path / "out.mid")
    back = mido.MidiFile(tmp_path / "out.mid")
    now, ons = 0, []
    for m in back.tracks[1]:
        now += m.time
        if m.type == "note_on" and m.velocity:
            ons.append((now, m.note))
    assert ons[:2] == [(0, 62), (240, 64)]  # C4 ended before the file starts; D4 is cut to start at tick 0


def test_daw_note_offs_one_tick_early_do_not_warn(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    spec = [(60 + k, k * 240, k * 240 + 239, 90) for k in range(16)]  # 8th notes, each released a tick early
    mid.tracks.append(_track(*_notes(0, *spec)))
    path = tmp_path / "daw.mid"
    mid.save(path)
    clip = read_midi(path)
    tokens, adjustments = clip_tokens(clip, Vocabulary())
    assert adjustments == []  # before: "bar N: 8 off-grid note(s) snapped" on every bar
    assert tokens[0, [0, 3, 6, 9]].tolist() == [7, 8, 9, 10]
    assert clip.notes[0].dur_beats == 239 / TPB  # the notes themselves stay exact, for bars written back as they were
    # A note-off a 16th early is a rhythm, and still reported.
    mid.tracks[0] = _track(*_notes(0, (60, 0, 360, 90), (62, 480, 960, 90)))
    mid.save(path)
    assert [a.kind for a in clip_tokens(read_midi(path), Vocabulary())[1]] == []  # 3/4 beat is on the grid
    mid.tracks[0] = _track(*_notes(0, (60, 0, 470, 90), (62, 480, 960, 90)))  # 10 ticks early: > 1/100 beat
    mid.save(path)
    assert [a.kind for a in clip_tokens(read_midi(path), Vocabulary())[1]] == ["snapped"]


def _huge_delta_file(path, tpb: int) -> None:
    """30 bytes: one note_on, then a note_off after the largest delta time a MIDI file can hold (0x0FFFFFFF)."""
    track = b"\x00\x90\x3c\x40" + b"\xff\xff\xff\x7f\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    path.write_bytes(b"MThd" + struct.pack(">LHHH", 6, 0, 1, tpb) + b"MTrk" + struct.pack(">L", len(track)) + track)


@pytest.mark.parametrize("tpb, bars", [(480, "139,811"), (1, "67,108,864")])
def test_a_huge_delta_time_is_refused_before_allocating(tmp_path, tpb, bars):
    path = tmp_path / "huge.mid"
    _huge_delta_file(path, tpb)
    with pytest.raises(MidiFileError, match=f"the melody is {bars} bars long .*at most {MAX_MEASURES} bars"):
        read_midi(path)


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    with pytest.raises(MidiFileError, match=r"is a FIFO \(named pipe\), not a MIDI file; not opened"):
        read_midi(fifo)
    for args in (["attributes", str(fifo)], ["traverse", str(fifo), "--attr", "contour", "-o", str(tmp_path / "t")]):
        result = CliRunner().invoke(main, args)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and "is a FIFO" in lines[0], result.output


def test_attributes_of_a_file_without_a_tempo_event(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    mid.tracks.append(_track(*_notes(0, *MELODY)))  # no set_tempo, no time signature: 120 bpm, 4/4
    path = tmp_path / "plain.mid"
    mid.save(path)
    result = CliRunner().invoke(main, ["attributes", str(path)])
    assert result.exit_code == 0, result.output  # was IndexError
    assert "120 bpm (no tempo event)" in result.output


def test_attributes_default_scale_is_the_default_models(song):
    # One meaning of "normalised": without --model, the default model's ranges, as regenerate --set uses them.
    from arvae_live.model_store import available_models

    if "general-arvae" not in available_models():
        pytest.skip("general-arvae is not bundled")
    plain = json.loads(CliRunner().invoke(main, ["attributes", str(song), "--json"]).stdout)
    named = json.loads(CliRunner().invoke(main, ["attributes", str(song), "--json", "--model", "general-arvae"]).stdout)
    assert plain["normalised_over"] == "model general-arvae" and plain["measures"] == named["measures"]
    # general-arvae's note_density dial spans 0..16 onsets per bar: bar 1's 6 onsets are 0.375.
    assert plain["scale"]["note_density"]["unit_high"] == pytest.approx(16)
    assert plain["measures"][0]["normalised"]["note_density"] == pytest.approx(0.375)


def test_meters_have_one_source():
    from arvae_live.core import meters
    from arvae_live.midi_files import grid_for_meter
    from training import corpora, data

    # Since #18 the reader asks for the grid of a meter, and the corpus builder keeps each dataset's grid's meters.
    assert grid_for_meter is meters.grid_for_meter
    for name in corpora.DATASETS:
        assert corpora.dataset_grid(name) is meters.GRIDS[corpora.DATASET_GRIDS[name]]
    assert data.SIMPLE is meters.SIMPLE
