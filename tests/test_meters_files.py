"""3/4, 6/8 and 12/8 MIDI files (#18): the meter picks the grid and the model, the output keeps meter and bars.

Files are written here with mido; the oracle is mido reading the outputs back (time signatures, the conductor
track, note ticks outside the regenerated bars). Models are tiny untrained ones of each grid, saved to a folder
that ARVAE_CHECKPOINTS points at.
"""

from __future__ import annotations

import json

import mido
import pytest
from click.testing import CliRunner
from conftest import save_untrained

from arvae_live.cli import main
from arvae_live.core.attributes import PAPER_ATTRIBUTES
from arvae_live.core.meters import COMPOUND, SIMPLE, TRIPLE
from arvae_live.core.representation import FIRST_PITCH_TOKEN, Vocabulary
from arvae_live.errors import MidiFileError
from arvae_live.midi_files import clip_tokens, read_meter, read_midi

TPB = 480  # ticks per quarter note of the files written here


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A model folder with one model per grid: simple.pt, triple.pt, compound.pt."""
    folder = tmp_path / "models"
    folder.mkdir()
    paths = {g: save_untrained(folder / f"{g}.pt", g) for g in ("simple", "triple", "compound")}
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(folder))
    return paths


def _abs_track(events):
    track, last = mido.MidiTrack(), 0
    for now, msg in sorted(events, key=lambda e: e[0]):
        track.append(msg.copy(time=now - last))
        last = now
    return track


def _write(path, meters, notes) -> None:
    """A type-1 file: a conductor (tempo, time signatures at absolute ticks) and a melody track on channel 1.

    Args:
        meters: (tick, numerator, denominator) of each time signature.
        notes: (pitch, on tick, off tick) of each melody note.
    """
    conductor = [(0, mido.MetaMessage("set_tempo", tempo=500000))]
    conductor += [(t, mido.MetaMessage("time_signature", numerator=n, denominator=d)) for t, n, d in meters]
    melody = [(0, mido.MetaMessage("track_name", name="Melody"))]
    for pitch, on, off in notes:
        melody += [(on, mido.Message("note_on", note=pitch, velocity=90)),
                   (off, mido.Message("note_off", note=pitch, velocity=0))]  # fmt: skip
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks += [_abs_track(conductor), _abs_track(melody)]
    mid.save(path)


def _scale(n_bars: int, bar_ticks: int, step: int) -> list[tuple[int, int, int]]:
    """Notes every `step` ticks through n_bars bars, each a step long, pitches walking up and down a C major scale."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]
    return [(pitches[k % len(pitches)], t, t + step) for k, t in enumerate(range(0, n_bars * bar_ticks, step))]


def _read_back(path):
    """(time signatures as (tick, num, den), the conductor track's messages, melody notes as (on tick, off tick,
    pitch)) of a file, read with mido."""
    mid = mido.MidiFile(path)
    sigs, now = [], 0
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "time_signature":
            sigs.append((now, msg.numerator, msg.denominator))
    notes, open_, now = [], {}, 0
    for msg in mid.tracks[1]:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            open_[msg.note] = now
        elif msg.type in ("note_on", "note_off") and msg.note in open_:
            notes.append((open_.pop(msg.note), now, msg.note))
    return sigs, list(mid.tracks[0]), sorted(notes)


def _invoke(*args):
    return CliRunner().invoke(main, ["regenerate", *(str(a) for a in args)])


# Per meter: the time signature, the ticks of one bar, the bars written, the bars of one model measure, the grid,
# and the step of the melody (8th notes).
CASES = {
    "3/4": ((3, 4), 3 * TPB, 4, 1, TRIPLE),
    "6/8": ((6, 8), 3 * TPB, 8, 2, COMPOUND),
    "12/8": ((12, 8), 6 * TPB, 4, 1, COMPOUND),
}


@pytest.mark.parametrize("meter", list(CASES))
def test_a_file_reads_on_its_meters_grid(tmp_path, meter):
    (num, den), bar_ticks, n_bars, per_measure, grid = CASES[meter]
    path = tmp_path / "in.mid"
    _write(path, [(0, num, den)], _scale(n_bars, bar_ticks, TPB // 2))
    clip = read_midi(path)
    assert clip.grid is grid and clip.meter == meter and read_meter(path) == (meter, grid)
    assert clip.n_measures == n_bars // per_measure
    tokens, adjustments = clip_tokens(clip, Vocabulary())
    assert tokens.shape == (clip.n_measures, grid.ticks) and adjustments == []  # 8ths are exact on every grid
    # The first notes: C4 on tick 0, D4 an 8th later: tick 3 of a quarter beat, tick 2 of a dotted-quarter beat.
    eighth = 3 if grid is TRIPLE else 2
    assert tokens[0, 0] == FIRST_PITCH_TOKEN + 60 - 55 and tokens[0, eighth] == FIRST_PITCH_TOKEN + 62 - 55


@pytest.mark.parametrize("meter", list(CASES))
def test_regenerate_keeps_meter_length_and_bar_positions(tmp_path, models, meter):
    (num, den), bar_ticks, n_bars, per_measure, grid = CASES[meter]
    src, out, report = tmp_path / "in.mid", tmp_path / "out", tmp_path / "report.json"
    _write(src, [(0, num, den)], _scale(n_bars, bar_ticks, TPB // 2))
    before = src.read_bytes()
    # Measures 2..3 (the score's bars 2..3, or 6/8 bars 3..6) are regenerated; the first and last stay.
    result = _invoke(src, "-o", out, "--bars", "2:3", "--set", "note_density=0.8", "--report", report)
    assert result.exit_code == 0, result.output
    assert f"{meter} by {grid.name}" in result.output
    assert src.read_bytes() == before  # the input is only read
    sigs_in, conductor_in, notes_in = _read_back(src)
    sigs_out, conductor_out, notes_out = _read_back(out / "in.v1.mid")
    assert sigs_out == sigs_in == [(0, num, den)]
    assert conductor_out == conductor_in  # tempo, meter, their ticks: byte for byte
    measure_ticks = bar_ticks * per_measure
    lo, hi = measure_ticks, 3 * measure_ticks
    outside = [n for n in notes_in if n[0] < lo or n[0] >= hi]
    assert [n for n in notes_out if n[0] < lo or n[0] >= hi] == outside  # bars outside the selection unchanged
    inside = [n for n in notes_out if lo <= n[0] < hi]
    tick_positions = {round(q * TPB) for q in grid.tick_quarters}
    assert all((n[0] - lo) % measure_ticks in tick_positions and n[1] <= hi for n in inside)  # on the grid, in bars
    assert max(n[1] for n in notes_out) <= n_bars * bar_ticks  # the length is kept
    entry = json.loads(report.read_text())["files"][0]
    assert (entry["meter"], entry["grid"], entry["model"], entry["bars"]) == (meter, grid.name, grid.name, [2, 3])
    assert len(entry["measures"]) == 2


def test_a_pickup_in_six_eight(tmp_path, models):
    # An 8th-note pickup, marked by 6/8 restated an 8th after the start (as 4/4 pickups are marked).
    src = tmp_path / "jig.mid"
    pickup = TPB // 2
    notes = [(67, 0, pickup)] + [(p, pickup + on, pickup + off) for p, on, off in _scale(4, 3 * TPB, TPB // 2)]
    _write(src, [(0, 6, 8), (pickup, 6, 8)], notes)
    clip = read_midi(src)
    assert clip.grid is COMPOUND and clip.pickup_beats == 0.5 and clip.pickup_pad == 5.5 and clip.first_bar == 0
    assert clip.n_measures == 3  # the pickup's measure, then 4 bars of 6/8 in 2 measures
    tokens, _ = clip_tokens(clip, Vocabulary())
    # The pickup is right-aligned in measure 0: 5.5 quarters = dotted beat 3, tick 4 (tick 22 of 24).
    assert tokens[0, 22] == FIRST_PITCH_TOKEN + 67 - 55 and tokens[1, 0] == FIRST_PITCH_TOKEN + 60 - 55
    result = _invoke(src, "-o", tmp_path / "out", "--bars", "2")
    assert result.exit_code == 0, result.output
    sigs_in, _, notes_in = _read_back(src)
    sigs_out, _, notes_out = _read_back(tmp_path / "out" / "jig.v1.mid")
    assert sigs_out == sigs_in
    # Measure 1 (6/8 bars 1 and 2 after the pickup) and the pickup itself are kept note for note.
    kept = [n for n in notes_in if n[0] < pickup + 6 * TPB]
    assert [n for n in notes_out if n[0] < pickup + 6 * TPB] == kept


def test_each_file_gets_the_model_of_its_meter(tmp_path, models):
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "four.mid", [(0, 4, 4)], _scale(2, 4 * TPB, TPB))
    _write(folder / "waltz.mid", [(0, 3, 4)], _scale(2, 3 * TPB, TPB))
    _write(folder / "jig.mid", [(0, 6, 8)], _scale(2, 3 * TPB, TPB // 2))
    _write(folder / "slow.mid", [(0, 12, 8)], _scale(1, 6 * TPB, TPB // 2))
    report = tmp_path / "report.json"
    result = _invoke(folder, "-o", tmp_path / "out", "--report", report)
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    got = {f["source"].rsplit("/", 1)[1]: (f["meter"], f["model"]) for f in doc["files"]}
    assert got == {"four.mid": ("4/4", "simple"), "waltz.mid": ("3/4", "triple"), "jig.mid": ("6/8", "compound"),
                   "slow.mid": ("12/8", "compound")}  # fmt: skip
    assert set(doc["models"]) == {"simple", "triple", "compound"}


def test_a_model_of_another_grid_is_refused_per_file(tmp_path, models):
    four, waltz = tmp_path / "four.mid", tmp_path / "waltz.mid"
    _write(four, [(0, 4, 4)], _scale(2, 4 * TPB, TPB))
    _write(waltz, [(0, 3, 4)], _scale(2, 3 * TPB, TPB))
    result = _invoke(four, waltz, "-o", tmp_path / "out", "--model", "simple")
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "waltz.mid: meter 3/4 (triple grid) is not served by model simple" in failed[0]
    assert (tmp_path / "out" / "four.v1.mid").is_file() and not (tmp_path / "out" / "waltz.v1.mid").exists()


def test_a_grid_without_a_model_is_refused_naming_what_is_served(tmp_path, models):
    models["triple"].unlink()
    waltz = tmp_path / "waltz.mid"
    _write(waltz, [(0, 3, 4)], _scale(2, 3 * TPB, TPB))
    result = _invoke(waltz, "-o", tmp_path / "out")
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "serves 3/4" in failed[0] and "simple (4/4, 2/2" in failed[0]


@pytest.mark.parametrize(
    "meters, msg",
    [
        (((0, 9, 8),), "meter 9/8 at bar 1 is not supported; arvae-live reads simple: 4/4"),
        (((0, 4, 4), (2 * 4 * TPB, 9, 8)), "meter 9/8 at bar 3 is not supported"),
        (((0, 3, 8), (3 * TPB // 2, 6, 8), (3 * TPB // 2 + 2 * 3 * TPB, 5, 4)), "meter 5/4 at bar 3 is not supported"),
        # A change to another grid's meter is refused (docs/midi-files.md says why), naming the bar.
        (((0, 3, 4), (2 * 3 * TPB, 6, 8)), r"meter change from 3/4 \(triple grid\) to 6/8 \(compound grid\) at bar 3"),
        (((0, 12, 8), (6 * TPB, 4, 4)), r"to 4/4 \(simple grid\) at bar 2; arvae-live reads a file on one grid"),
        # Inside a grid the bar length may change on a measure line, not elsewhere.
        # (6/8 for one bar then 12/8 would be a pickup bar's signature, as 2/4 before 4/4; three bars are not.)
        (((0, 6, 8), (9 * TPB, 12, 8)), "meter change to 12/8 at bar 4 does not fall on a 12/8 barline"),
    ],
)
def test_unserved_meters_and_grid_changes_are_refused_naming_the_bar(tmp_path, models, meters, msg):
    path = tmp_path / "m.mid"
    _write(path, meters, _scale(4, 3 * TPB, TPB))
    with pytest.raises(MidiFileError, match=msg):
        read_midi(path)
    result = _invoke(path, "-o", tmp_path / "out")
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "m.mid: meter" in failed[0]


def test_a_meter_change_inside_a_grid_is_read(tmp_path):
    # 12/8 then two bars of 6/8 (one measure) then 12/8 again: one compound grid, changes on measure lines.
    path = tmp_path / "m.mid"
    _write(path, [(0, 12, 8), (6 * TPB, 6, 8), (12 * TPB, 12, 8)], _scale(3, 6 * TPB, TPB // 2))
    clip = read_midi(path)
    assert clip.grid is COMPOUND and clip.n_measures == 3


def test_four_four_files_stay_on_the_simple_grid(tmp_path):
    path = tmp_path / "m.mid"
    _write(path, [], _scale(2, 4 * TPB, TPB))  # no time signature: 4/4
    clip = read_midi(path)
    assert clip.grid is SIMPLE and clip.meter == "4/4" and clip.pickup_pad == 0


# ---- attributes and traverse pick the model of the file's meter ---------------------------------------------------


def test_attributes_and_traverse_use_the_model_of_the_files_meter(tmp_path, models):
    waltz = tmp_path / "waltz.mid"
    _write(waltz, [(0, 3, 4)], _scale(2, 3 * TPB, TPB // 2))  # 6 8ths a bar
    result = CliRunner().invoke(main, ["attributes", str(waltz), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["meter"], doc["grid"], doc["normalised_over"]) == ("3/4", "triple", "model triple")
    # Note density per bar in musical units: 6 onsets of a 3/4 bar (raw 6 / 18 ticks).
    assert [m["units"]["note_density"] for m in doc["measures"]] == pytest.approx([6.0, 6.0])
    result = CliRunner().invoke(main, ["attributes", str(waltz), "--model", "simple"])
    assert result.exit_code == 1 and result.output.strip().count("\n") == 0
    assert "model simple reads 4/4" in result.output and "not the triple grid's 3/4" in result.output
    out = tmp_path / "trav"
    result = CliRunner().invoke(main, ["traverse", str(waltz), "--attr", "note_density", "--steps", "2", "-o",
                                       str(out), "--device", "cpu", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["model"], doc["meter"]) == ("triple", "3/4") and (out / "waltz.note_density.png").is_file()
    assert _read_back(out / "waltz.note_density.s1.mid")[0] == [(0, 3, 4)]
    result = CliRunner().invoke(main, ["traverse", str(waltz), "--attr", "note_density", "-o", str(out),
                                       "--model", "compound", "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 1 and "meter 3/4 (triple grid) is not served by model compound" in result.output


# ---- MIDI-port mode: --meter --------------------------------------------------------------------------------------


class _Echo:
    """Stand-in for LiveModel.regenerate on one grid: the call comes back 2 semitones higher."""

    def __init__(self, grid) -> None:
        self.vocab, self.grid, self.model_id = Vocabulary(), grid, grid.name
        self.attribute_names = list(PAPER_ATTRIBUTES)
        self.calls = []

    def regenerate(self, tokens, targets, variations=1, temperature=0.0, seed=0, closed_loop=True):
        from types import SimpleNamespace

        self.calls.append(tokens.copy())
        out = tokens.copy()
        out[out >= FIRST_PITCH_TOKEN] += 2
        return SimpleNamespace(tokens=out[None], engine_ms=0.1)


@pytest.mark.parametrize(
    "meter, grid, ticks, start",
    [
        # Quarters at beats 0, 1, 2: ticks 0, 6, 12 of a 3/4 measure; the call ends at beat 5, the next 3/4 bar
        # line is beat 6 (in 4/4 it would be beat 8).
        ("3/4", TRIPLE, [0, 6, 12], 6.0),
        # The same quarters on the compound grid: dotted beat 0 tick 0, beat 0 tick 4, beat 1 tick 2; the next
        # measure line (two 6/8 bars, 6 quarters) is beat 6.
        ("6/8", COMPOUND, [0, 4, 8], 6.0),
        ("12/8", COMPOUND, [0, 4, 8], 6.0),
        ("4/4", SIMPLE, [0, 6, 12], 8.0),
    ],
)
def test_call_and_response_on_the_meters_grid(meter, grid, ticks, start):
    from arvae_live.call_response import CallResponse, CallSettings

    engine = _Echo(grid)
    machine = CallResponse(engine, settings=CallSettings(tempo_bpm=120.0, meter=meter))  # 0.5 s per beat
    for k, pitch in enumerate((60, 62, 64)):
        machine.handle(mido.Message("note_on", note=pitch, velocity=100), 10.0 + 0.5 * k)
        machine.handle(mido.Message("note_off", note=pitch, velocity=0), 10.49 + 0.5 * k)
    assert machine.tick(12.5) == []  # beat 5: the call ends (2 beats after the last release) and is regenerated
    (call,) = engine.calls
    assert call.shape == (1, grid.ticks)
    assert [t for t in range(grid.ticks) if call[0, t] >= FIRST_PITCH_TOKEN] == ticks
    assert machine.tick(10.0 + 0.5 * start - 0.01) == []
    sent = machine.tick(10.0 + 0.5 * start)
    assert [(m.type, m.note) for m in sent] == [("note_on", 62)]


def test_midi_mode_refuses_unserved_meters_and_models_of_another_grid(models):
    from arvae_live.call_response import CallResponse, CallSettings
    from arvae_live.errors import ConfigError
    from arvae_live.midi_mode import build_machine

    with pytest.raises(ConfigError, match="meter '9/8' is not served; arvae-live reads simple: 4/4"):
        CallSettings(meter="9/8")
    with pytest.raises(ConfigError, match=r"meter 3/4 \(triple grid\) is not served by simple, which reads 4/4"):
        CallResponse(_Echo(SIMPLE), settings=CallSettings(meter="3/4"))
    assert build_machine(_Echo(COMPOUND), meter="6/8").grid is COMPOUND
