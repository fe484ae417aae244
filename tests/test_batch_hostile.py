"""`arvae-live regenerate` against its worst inputs: a folder mixing good files with hostile ones, engine failures,
outputs and reports aimed at inputs, temporary files of a killed run, full disks. Every good file is written,
every bad one is reported in one line, inputs stay byte-identical and the report is written."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import struct
from pathlib import Path

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from arvae_live.cli import main
from arvae_live.engine import LiveModel

TPB = 96


def _melody(path: Path, pitches=(60, 62, 64, 65, 67, 69, 71, 72)) -> Path:
    """Two bars of 8th notes, type 0."""
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)])
    for pitch in list(pitches) * 2:
        track += [mido.Message("note_on", note=pitch, velocity=80), mido.Message("note_off", note=pitch, time=48)]
    mid.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(path)
    return path


def _huge_delta(path: Path, tpb: int) -> Path:
    track = b"\x00\x90\x3c\x40" + b"\xff\xff\xff\x7f\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    path.write_bytes(b"MThd" + struct.pack(">LHHH", 6, 0, 1, tpb) + b"MTrk" + struct.pack(">L", len(track)) + track)
    return path


def _invoke(*args):
    return CliRunner().invoke(main, ["regenerate", *(str(a) for a in args)])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_a_folder_of_hostile_files_finishes_with_every_good_file_written(tiny_ckpt, tmp_path):
    songs = tmp_path / "songs"
    good = [_melody(songs / "a.mid"), _melody(songs / "sub" / "b.mid", (72, 71, 69, 67, 65, 64, 62, 60))]
    _huge_delta(songs / "huge.mid", 480)
    _huge_delta(songs / "tpb1.mid", 1)
    os.mkfifo(songs / "pipe.mid")
    (songs / "folder.mid").mkdir()
    (songs / "truncated.mid").write_bytes(good[0].read_bytes()[:30])
    os.symlink(songs / "gone.mid", songs / "dangling.mid")
    before = _snapshot(songs)
    report = tmp_path / "report.json"
    result = _invoke(songs, "-o", tmp_path / "out", "--model", tiny_ckpt, "--report", report)
    assert result.exit_code == 1
    assert "2 file(s) regenerated" in result.output and "6 failed" in result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 6 and "Traceback" not in result.output  # each bad file once, in one line
    expected = {
        "huge.mid": "bars long",
        "tpb1.mid": "bars long",
        "pipe.mid": "is a FIFO (named pipe), not a MIDI file; not opened",
        "folder.mid": "is a folder, not a MIDI file; not opened",
        "truncated.mid": "truncated MIDI file",
        "dangling.mid": "a broken link; not opened",
    }
    for name, words in expected.items():
        assert sum(name in line and words in line for line in failed) == 1, (name, failed)
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.mid")) == ["a.v1.mid", "b.v1.mid"]
    assert _snapshot(songs) == before  # inputs byte-identical
    doc = json.loads(report.read_text())
    assert doc["summary"]["ok"] == 2 and doc["summary"]["failed"] == 6
    assert {Path(f["source"]).name for f in doc["files"] if f["status"] == "failed"} == set(expected)


def test_an_engine_failure_fails_only_its_file(tiny_ckpt, tmp_path, monkeypatch):
    songs = tmp_path / "songs"
    _melody(songs / "a.mid")
    _melody(songs / "poison.mid", (84,) * 8)  # C6, a pitch no other file has
    _melody(songs / "z.mid", (67, 65, 64, 62, 60, 62, 64, 65))
    real = LiveModel.regenerate
    poison = 2 + 84 - 55  # its token

    def fragile(self, tokens, *args, **kwargs):
        if (np.asarray(tokens) == poison).any():
            raise RuntimeError("engine exploded")
        return real(self, tokens, *args, **kwargs)

    monkeypatch.setattr(LiveModel, "regenerate", fragile)
    result = _invoke(songs, "-o", tmp_path / "out", "--model", tiny_ckpt, "--batch-files", "32")
    assert result.exit_code == 1 and "2 file(s) regenerated" in result.output and "1 failed" in result.output
    assert "poison.mid: unexpected RuntimeError: engine exploded" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.v1.mid", "z.v1.mid"]


def test_outputs_and_reports_that_are_inputs_are_refused(tiny_ckpt, tmp_path):
    d = tmp_path / "d"
    a = _melody(d / "a.mid")
    shutil.copy(a, d / "a.v1.mid")
    before = _snapshot(d)
    result = _invoke(a, d / "a.v1.mid", "-o", d, "--model", tiny_ckpt, "--overwrite")
    assert result.exit_code == 1 and "1 file(s) regenerated" in result.output and "1 failed" in result.output
    assert f"FAILED  {a}: its output {d / 'a.v1.mid'} is an input; refusing to overwrite an input" in result.output
    after = _snapshot(d)
    assert {k: after[k] for k in before} == before and set(after) == {*before, str(d / "a.v1.v1.mid")}
    # A report aimed at an input is refused before any work, in one line.
    result = _invoke(a, "-o", tmp_path / "o", "--model", tiny_ckpt, "--report", a)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "is one of the inputs" in lines[0]
    assert _snapshot(d) == after and not (tmp_path / "o").exists()
    # So is a report path that is a folder, before the work rather than after it.
    result = _invoke(a, "-o", tmp_path / "o", "--model", tiny_ckpt, "--report", tmp_path)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "is a folder; give a file name" in lines[0]
    assert not (tmp_path / "o").exists()


def test_temporary_files_of_a_killed_run_are_swept(tiny_ckpt, tmp_path):
    a = _melody(tmp_path / "in" / "a.mid")
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".a.v1.mid.k2j3h4x_.tmp", out / ".r.json.abcd1234.tmp"]  # as core.atomic names them
    for p in stale:
        p.write_bytes(b"half a file")
    foreign = out / ".notes.txt.zz.tmp"  # not one of this run's outputs: left alone
    foreign.write_bytes(b"x")
    result = _invoke(a, "-o", out, "--model", tiny_ckpt, "--report", out / "r.json")
    assert result.exit_code == 0, result.output
    assert "removed 2 temporary file(s) left by an interrupted run" in result.output
    assert not any(p.exists() for p in stale) and foreign.exists()


def test_a_full_disk_is_one_line_per_file_not_a_traceback(tiny_ckpt, tmp_path, monkeypatch, caplog):
    a = _melody(tmp_path / "in" / "a.mid")

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with caplog.at_level(logging.WARNING):
        result = _invoke(a, "-o", tmp_path / "out", "--model", tiny_ckpt)
    assert result.exit_code == 1
    assert f"FAILED  {a}: cannot write its output: No space left on device" in result.output
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # an expected OS error, no logged traceback
    assert not list((tmp_path / "out").iterdir())  # no temporary file left either


def test_a_report_that_cannot_be_written_is_one_line_after_the_summary(tiny_ckpt, tmp_path, monkeypatch):
    a = _melody(tmp_path / "in" / "a.mid")
    from arvae_live import batch_run

    def denied(path, header, results):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(batch_run, "write_report", denied)
    result = _invoke(a, "-o", tmp_path / "out", "--model", tiny_ckpt, "--report", tmp_path / "r.json")
    assert result.exit_code == 1 and "1 file(s) regenerated" in result.output
    assert f"Error: --report {tmp_path / 'r.json'}: cannot write it: Permission denied" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("batch_files", [1, 32])
def test_progress_comes_per_file(tiny_ckpt, tmp_path, batch_files):
    from arvae_live import batch, batch_run

    paths = [_melody(tmp_path / "in" / f"s{k}.mid") for k in range(3)]
    jobs = batch.collect_jobs(paths, tmp_path / "out", 1)
    lm = LiveModel.from_checkpoint(tiny_ckpt)
    seen = []
    outcome = batch_run.run_groups(batch_run.make_groups(jobs, batch_files), batch.RegenOptions(), lm=lm,
                                   on_result=lambda r: seen.append((r.source, len(seen))))  # fmt: skip
    assert [s for s, _ in seen] == [str(p) for p in paths]  # one call per file, not one per group
    assert [r.status for r in outcome.results] == ["ok"] * 3


def test_an_output_path_that_is_a_fifo_is_refused_without_opening_it(tiny_ckpt, tmp_path):
    a = _melody(tmp_path / "in" / "a.mid")
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "a.v1.mid")  # reading it for the options mark would block; replacing it would lose the pipe
    for extra in ([], ["--overwrite"]):
        result = _invoke(a, "-o", out, "--model", tiny_ckpt, *extra)
        assert result.exit_code == 1 and "is a FIFO (named pipe)" in result.output, result.output
        assert "refusing to replace it" in result.output
    assert (out / "a.v1.mid").is_fifo()


def test_bars_past_the_end_are_said_per_file(tiny_ckpt, tmp_path):
    a = _melody(tmp_path / "in" / "a.mid")  # 2 bars
    result = _invoke(a, "-o", tmp_path / "out", "--model", tiny_ckpt, "--bars", "2:12")
    assert result.exit_code == 0, result.output
    assert "bar 2; --bars 2:12: the melody has bars 1..2; using 2:2" in result.output
