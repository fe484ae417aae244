"""`arvae-live regenerate` end to end on MIDI files the tests write (music21 chorale sopranos, a hand-written song),
with the tiny untrained model: outputs, the report, failures, resuming, --jobs and torchrun ranks."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from arvae_live import batch
from arvae_live.cli import main
from arvae_live.core.checkpoint import load_checkpoint
from arvae_live.core.representation import notes_to_tokens
from arvae_live.midi_files import read_midi

ROOT = Path(__file__).resolve().parents[1]
CHORALES = ("bach/bwv66.6", "bach/bwv253")  # both in 4/4


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """Two chorale sopranos written by music21, one in a sub-folder, plus a song with accompaniment and drums."""
    music21 = pytest.importorskip("music21")
    root = tmp_path_factory.mktemp("songs")
    (root / "sub").mkdir()
    for name, folder in zip(CHORALES, (root, root / "sub")):
        music21.corpus.parse(name).parts[0].write("midi", fp=str(folder / f"{name.split('/')[1]}.mid"))
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=400000), mido.MetaMessage("time_signature")])
    melody = mido.MidiTrack([mido.Message("program_change", program=40), mido.Message("control_change", value=7)])
    for i, pitch in enumerate([60, 62, 64, 65, 67, 69, 71, 72] * 2):  # 16 8th notes = 2 bars
        melody += [
            mido.Message("note_on", note=pitch, velocity=50 + i, time=0),
            mido.Message("note_off", note=pitch, time=48),
        ]
    bass = mido.MidiTrack()
    for pitch in (36, 36, 36, 36, 41, 41, 41, 41):
        bass += [
            mido.Message("note_on", channel=1, note=pitch, time=0),
            mido.Message("note_off", channel=1, note=pitch, time=96),
        ]
    bass.insert(0, mido.Message("note_on", channel=1, note=48, time=0))  # a held note makes the bass polyphonic
    bass.append(mido.Message("note_off", channel=1, note=48, time=0))
    mid.tracks += [conductor, melody, bass]
    mid.save(root / "song.mid")
    return root


def _tokens_of(path: Path, vocab) -> np.ndarray:
    clip = read_midi(path)
    return notes_to_tokens(clip.notes, clip.n_measures, vocab)[0]


def _invoke(*args: str):
    return CliRunner().invoke(main, ["regenerate", *(str(a) for a in args)])


def test_regenerate_folder_end_to_end(corpus_dir, tiny_ckpt, tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.json"
    before = {p: p.read_bytes() for p in corpus_dir.rglob("*.mid")}
    result = _invoke(corpus_dir, "-o", out, "--model", tiny_ckpt, "--set", "note_density=0.6", "--bars", "2:3",
                     "--variations", "2", "--report", report)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 file(s) regenerated" in result.output and "0 failed" in result.output
    assert {p: p.read_bytes() for p in corpus_dir.rglob("*.mid")} == before  # inputs untouched
    expected = {out / "bwv66.6.v1.mid", out / "bwv66.6.v2.mid", out / "sub" / "bwv253.v1.mid",
                out / "sub" / "bwv253.v2.mid", out / "song.v1.mid", out / "song.v2.mid"}  # fmt: skip
    assert {p for p in out.rglob("*") if p.is_file()} == expected

    doc = json.loads(report.read_text())
    assert doc["summary"]["ok"] == 3 and doc["summary"]["measures"] == 5  # bars 2..3 of the chorales, bar 2 of the song
    ckpt = load_checkpoint(tiny_ckpt)
    specs = {a.name: a for a in ckpt.attributes}
    for entry in doc["files"]:
        last = 2 if entry["source"].endswith("song.mid") else 3  # the song has only 2 bars
        assert entry["bars"] == [2, last] and [m["bar"] for m in entry["measures"]] == list(range(2, last + 1))
        src_tokens = _tokens_of(Path(entry["source"]), ckpt.vocabulary)
        for v, out_path in enumerate(entry["outputs"]):
            out_tokens = _tokens_of(Path(out_path), ckpt.vocabulary)
            # Bars outside the selection are the input's. After the window, tick 0 may differ: a note tied into bar 4
            # started inside the window and was replaced, so bar 4 opens with a rest instead of a hold.
            np.testing.assert_array_equal(out_tokens[0], src_tokens[0])
            np.testing.assert_array_equal(out_tokens[3:, 1:], src_tokens[3:, 1:])
            for m in entry["measures"]:
                assert m["asked"]["note_density"] == pytest.approx(0.6)
                # The report's "achieved" is what the written file holds, computed here from the file itself.
                onsets = int((out_tokens[m["bar"] - 1] >= 2).sum())
                assert m["achieved"][v]["note_density"] == pytest.approx(specs["note_density"].normalise(onsets / 24))
            for m in entry["measures"]:  # "before" is the input bar's own value
                onsets = int((src_tokens[m["bar"] - 1] >= 2).sum())
                assert m["before"]["note_density"] == pytest.approx(specs["note_density"].normalise(onsets / 24))

    # The song keeps its other tracks and the melody track's other events.
    src, dst = mido.MidiFile(corpus_dir / "song.mid"), mido.MidiFile(out / "song.v1.mid")
    assert dst.tracks[0] == src.tracks[0] and dst.tracks[2] == src.tracks[2]
    assert [m for m in dst.tracks[1] if not m.type.startswith("note")][:2] == list(src.tracks[1][:2])

    # Each file keeps to its own key, named per file in the report and on its line; the chorale sopranos' keys are
    # music21's own Krumhansl-Kessler analysis of the same notes (an independent oracle).
    music21 = pytest.importorskip("music21")
    for entry in doc["files"]:
        stem = Path(entry["source"]).stem
        if stem == "song":
            assert entry["key"] == "C major"
            continue
        theirs = music21.corpus.parse(f"bach/{stem}").parts[0].analyze("key.krumhanslkessler")
        assert entry["key"] == f"{theirs.tonic.name.replace('-', 'b')} {theirs.mode}"
        assert f"kept in {entry['key']}" in result.output

    # Per file, one line names the melody part it took.
    assert (
        "ok      " + str(corpus_dir / "song.mid") + ": melody track 1 channel 1 (the top part), bar 2" in result.output
    )


def test_outputs_remember_their_options(corpus_dir, tiny_ckpt, tmp_path):
    out, song = tmp_path / "out", corpus_dir / "song.mid"
    first = _invoke(song, "-o", out, "--model", tiny_ckpt, "--set", "note_density=0.2")
    assert first.exit_code == 0, first.output
    made = (out / "song.v1.mid").read_bytes()
    # The same options: skipped, as a resumed run.
    same = _invoke(song, "-o", out, "--model", tiny_ckpt, "--set", "note_density=0.2")
    assert same.exit_code == 0 and "0 file(s) regenerated" in same.output and "1 skipped" in same.output
    # Other options: refused in one line that names the output, and the output is unchanged.
    other = _invoke(song, "-o", out, "--model", tiny_ckpt, "--set", "note_density=0.9")
    assert other.exit_code == 1 and "0 file(s) regenerated" in other.output and "1 failed" in other.output
    lines = [line for line in other.output.splitlines() if "FAILED" in line]
    assert len(lines) == 1 and f"{out / 'song.v1.mid'} exists and was made with other options" in lines[0]
    assert "--overwrite" in lines[0] and (out / "song.v1.mid").read_bytes() == made
    # A file this tool did not make is not ours to replace either.
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "song.v1.mid").write_bytes(song.read_bytes())
    foreign = _invoke(song, "-o", tmp_path / "foreign", "--model", tiny_ckpt, "--set", "note_density=0.2")
    assert foreign.exit_code == 1 and "made with other options" in foreign.output
    # With --overwrite: regenerated with the new options, and then a rerun of those skips.
    forced = _invoke(song, "-o", out, "--model", tiny_ckpt, "--set", "note_density=0.9", "--overwrite")
    assert forced.exit_code == 0 and "1 file(s) regenerated" in forced.output
    assert (out / "song.v1.mid").read_bytes() != made
    again = _invoke(song, "-o", out, "--model", tiny_ckpt, "--set", "note_density=0.9")
    assert again.exit_code == 0 and "1 skipped" in again.output
    # The mark is a sequencer-specific meta event that mido reads and a DAW ignores.
    melody = mido.MidiFile(out / "song.v1.mid").tracks[1]
    assert [m.type for m in melody].count("sequencer_specific") == 1


def test_shift_is_relative_to_each_bar_and_csv_report(corpus_dir, tiny_ckpt, tmp_path):
    report = tmp_path / "r.csv"
    result = _invoke(corpus_dir / "song.mid", "-o", tmp_path / "o", "--model", tiny_ckpt, "--shift", "pitch_range=0.25",
                     "--shift", "note_density=-0.9", "--report", report)  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(report.open()))
    assert len(rows) == 2 * 4  # 2 bars x 4 attributes, 1 variation
    for row in rows:
        before, asked = float(row["before"]), float(row["asked"])
        if row["attribute"] == "pitch_range":
            # 8th notes C4..C5: 72 - 60 = 12 semitones, raw 12/26 over the registry range 0..29/26 -> 12/29.
            assert before == pytest.approx(12 / 29, abs=1e-5) and asked == pytest.approx(12 / 29 + 0.25, abs=1e-5)
        elif row["attribute"] == "note_density":
            assert before == pytest.approx(8 / 24, abs=1e-5) and asked == 0  # clipped at 0
        else:
            assert asked == pytest.approx(before)  # untargeted attributes aim at their own value


def test_a_corrupt_file_is_reported_and_the_rest_finish(corpus_dir, tiny_ckpt, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.mid").write_bytes((corpus_dir / "bwv66.6.mid").read_bytes())
    (inputs / "bad.mid").write_bytes((corpus_dir / "bwv66.6.mid").read_bytes()[:100])  # truncated
    (inputs / "text.midi").write_text("not midi")
    report = tmp_path / "r.json"
    result = _invoke(inputs, "-o", tmp_path / "out", "--model", tiny_ckpt, "--report", report)
    assert result.exit_code == 1
    assert "1 file(s) regenerated" in result.output and "2 failed" in result.output
    assert "bad.mid: truncated MIDI file" in result.output and "text.midi: not a MIDI file" in result.output
    status = {Path(f["source"]).name: (f["status"], f["error"]) for f in json.loads(report.read_text())["files"]}
    assert status["good.mid"] == ("ok", None)
    assert status["bad.mid"][0] == "failed" and "truncated" in status["bad.mid"][1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.v1.mid"]


def test_bad_options_are_one_line(corpus_dir, tiny_ckpt, tmp_path):
    cases = [
        (["--set", "loudness=0.5"], "--set loudness: the model has no such attribute"),
        (["--set", "note_density=1.5"], "value must be in range 0..1"),
        (["--set", "note_density"], "expected NAME=NUMBER"),
        (["--set", "contour=0.5", "--shift", "contour=0.1"], "contour given to both --set and --shift"),
        (["--model", str(tmp_path / "none.pt")], "no such checkpoint file"),
    ]
    for extra, msg in cases:
        result = _invoke(corpus_dir / "song.mid", "-o", tmp_path / "o", "--model", tiny_ckpt, *extra)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and msg in lines[0], (extra, result.output)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _invoke(empty, "-o", tmp_path / "o", "--model", tiny_ckpt)
    assert result.exit_code == 1 and "no MIDI files" in result.output


def test_failed_write_leaves_no_partial_file_and_rerun_completes(corpus_dir, tiny_ckpt, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_replace = os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the second output written fails after its bytes went to the temporary file
            raise OSError("injected: disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    result = _invoke(corpus_dir, "-o", out, "--model", tiny_ckpt)
    assert result.exit_code == 1 and "injected: disk full" in result.output
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(written) == 2 and not any(p.name.endswith(".tmp") for p in written)  # 3 inputs, 1 failed, no temp
    monkeypatch.setattr(os, "replace", real_replace)
    result = _invoke(corpus_dir, "-o", out, "--model", tiny_ckpt)
    assert result.exit_code == 0 and "1 file(s) regenerated" in result.output and "2 skipped" in result.output


def test_outputs_inside_the_input_folder_are_not_inputs(corpus_dir, tiny_ckpt, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "song.mid").write_bytes((corpus_dir / "song.mid").read_bytes())
    for _ in range(2):  # the second run must skip song.mid and not take out/song.v1.mid as an input
        result = _invoke(inputs, "-o", inputs / "out", "--model", tiny_ckpt)
        assert result.exit_code == 0, result.output
    assert "0 file(s) regenerated" in result.output and "1 skipped" in result.output
    assert sorted(p.name for p in inputs.rglob("*.mid")) == ["song.mid", "song.v1.mid"]


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(corpus_dir, tiny_ckpt, tmp_path, monkeypatch):
    real = batch.regenerate_group
    seen = []

    def interrupted_on_second(lm, group, options, on_result=None):
        seen.append(group)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(lm, group, options, on_result)

    monkeypatch.setattr(batch, "regenerate_group", interrupted_on_second)
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = _invoke(corpus_dir, "-o", out, "--model", tiny_ckpt, "--batch-files", "1", "--report", report)
    assert result.exit_code == 130 and "interrupted after 1 of 3 file(s)" in result.output
    assert len([p for p in out.rglob("*") if p.is_file()]) == 1
    doc = json.loads(report.read_text())  # the report is written on Ctrl-C too, with what was done
    assert doc["interrupted"] is True and [f["status"] for f in doc["files"]] == ["ok"]
    monkeypatch.setattr(batch, "regenerate_group", real)
    result = _invoke(corpus_dir, "-o", out, "--model", tiny_ckpt)
    assert result.exit_code == 0 and "2 file(s) regenerated" in result.output and "1 skipped" in result.output


def _outputs_and_report(out: Path, report: Path) -> tuple[dict[str, bytes], list[dict]]:
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.mid"))}
    entries = sorted(json.loads(report.read_text())["files"], key=lambda f: f["source"])
    return files, [{k: v for k, v in f.items() if not k.endswith("_ms")} for f in entries]


@pytest.mark.slow
def test_jobs_and_torchrun_give_the_same_outputs_as_one_process(corpus_dir, tiny_ckpt, tmp_path):
    # One file per group, so that both workers and both ranks get work (groups are the unit of work).
    args = [corpus_dir, "--model", tiny_ckpt, "--set", "contour=0.9", "--variations", "2", "--device", "cpu",
            "--batch-files", "1"]  # fmt: skip
    one = _invoke(*args, "-o", tmp_path / "one", "--report", tmp_path / "one.json")
    assert one.exit_code == 0, one.output
    want = _outputs_and_report(tmp_path / "one", tmp_path / "one.json")
    # --jobs 2: two worker processes.
    two = _invoke(*args, "-o", tmp_path / "jobs", "--jobs", "2", "--report", tmp_path / "jobs.json")
    assert two.exit_code == 0, two.output
    # Worker processes send each file's result as it is written: one line per file, each printed once.
    assert sorted(line.split()[1].rstrip(":") for line in two.output.splitlines() if line.startswith("ok ")) == sorted(
        str(p) for p in corpus_dir.rglob("*.mid")
    )
    got = _outputs_and_report(tmp_path / "jobs", tmp_path / "jobs.json")
    assert got[0] == want[0] and [{**f, "outputs": None} for f in got[1]] == [{**f, "outputs": None} for f in want[1]]
    # torchrun with 2 ranks on CPU (gloo): rank 0 lists and reports, each rank regenerates its share.
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd = [*torchrun, "-m", "arvae_live", "regenerate", *map(str, args), "-o", str(tmp_path / "ranks"),
           "--report", str(tmp_path / "ranks.json")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = _outputs_and_report(tmp_path / "ranks", tmp_path / "ranks.json")
    assert got[0] == want[0]
    assert json.loads((tmp_path / "ranks.json").read_text())["world_size"] == 2
    assert proc.stdout.count("file(s) regenerated") == 1  # only rank 0 reports
    assert "3 file(s) regenerated" in proc.stdout
