"""The daemon against real UDP sockets on 127.0.0.1: requests, streams, errors, isolation, robustness, shutdown."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from arvae_live.cli import main as cli_main
from arvae_live.client import DaemonClient, DaemonError, result_notes
from arvae_live.core.attributes import compute_attributes
from arvae_live.core.representation import Note, Vocabulary, notes_to_tokens
from arvae_live.daemon import Daemon, ModelHost
from arvae_live.errors import ConfigError
from arvae_live.osc_wire import encode_message
from arvae_live.scheduling import Job
from tests.conftest import tick_notes

ROOT = Path(__file__).resolve().parents[1]


# Two bars in 4/4, hand-written: bar 1 quarters C D E F (velocities 20, 30, 40, 50), bar 2 a half note G and two
# quarters A G (velocity 60).
TWO_BARS = tick_notes((60, 0, 6), (62, 6, 6), (64, 12, 6), (65, 18, 6), (67, 24, 12), (69, 36, 6), (67, 42, 6))
TWO_BARS = [Note(n.pitch, n.start_beats, n.dur_beats, v) for n, v in zip(TWO_BARS, (20, 30, 40, 50, 60, 60, 60))]


def test_ping_hello_status_and_listing(client, daemon):
    assert client.request("/arvae/ping")[0].address == "/arvae/ping"
    hello = client.request("/arvae/hello", "test", client.reply_port, 1)[0]
    assert hello.args[1].startswith("arvae-live") and hello.args[2:4] == (1, "cpu") and hello.args[4] > 0
    assert client.request("/arvae/verify", hello.args[4])[0].args[1] == 1
    status = client.request("/arvae/status")[0].args
    assert status[1:5] == ("ready", "tiny", "cpu", 0)
    models = client.request("/arvae/models/list", final="/arvae/models/end")
    # Each model with its grid and the meters it serves (the two trailing args came with #18).
    assert [m.args[2:] for m in models if m.address == "/arvae/models/item"] == [("tiny", 4, "simple", "4/4 2/2 2/4")]
    attrs = client.request("/arvae/attrs/list", final="/arvae/attrs/end")
    items = [a.args[2:] for a in attrs if a.address == "/arvae/attrs/item"]
    assert [i[0] for i in items] == ["rhythmic_complexity", "pitch_range", "note_density", "contour"]
    assert items[1][1:] == pytest.approx((0.0, 29 / 26))


def test_regen_stream_reports_asked_and_achieved(client):
    assert client.upload(TWO_BARS, 8.0) == 7
    measured = dict(zip(*[iter(client.request("/arvae/attrs/measure", 0)[0].args[1:])] * 2))
    # By hand: densities 4/24 and 3/24; pitch ranges 5/26 and 2/26 over 0..29/26; contours +5 and 0 semitones.
    assert measured["note_density"] == pytest.approx((4 / 24 + 3 / 24) / 2)
    assert measured["pitch_range"] == pytest.approx((5 / 29 + 2 / 29) / 2)
    assert measured["contour"] == pytest.approx(((5 + 29) / 58 + 29 / 58) / 2)

    replies = client.regen(targets={"note_density": 0.5, "contour": 0.25}, variations=2, seed=3)
    final = replies[-1]
    assert final.address == "/arvae/regen" and final.args[1] == 2 and final.args[2] > 0
    vocab = Vocabulary()
    for v in range(2):
        begin = next(r for r in replies if r.address == "/arvae/result/begin" and r.args[1] == v)
        end = next(r for r in replies if r.address == "/arvae/result/end" and r.args[1] == v)
        asked = next(r for r in replies if r.address == "/arvae/result/asked" and r.args[1] == v)
        notes = result_notes(replies, v)
        assert begin.args[2] == end.args[2] == len(notes) and begin.args[3] == 8.0
        for a, b in zip(notes, notes[1:]):
            assert a.end_beats <= b.start_beats + 1e-6  # never overlapping
        assert {n.velocity for n in notes} <= {20, 30, 40, 50, 60}  # carried over from the input
        asked = dict(zip(asked.args[2::2], asked.args[3::2]))
        assert asked["note_density"] == pytest.approx(0.5) and asked["contour"] == pytest.approx(0.25)
        assert asked["pitch_range"] == pytest.approx(measured["pitch_range"])  # untargeted: the input's value
        # Achieved, measured independently on the notes that came back.
        achieved = dict(zip(end.args[3::2], end.args[4::2]))
        tokens, _ = notes_to_tokens(notes, 2, vocab)
        density = compute_attributes(tokens, ["note_density"])["note_density"].mean()
        assert achieved["note_density"] == pytest.approx(density, abs=1e-6)


def test_regen_of_one_bar_keeps_the_others_and_sample_and_interp_stream(client):
    client.upload(TWO_BARS, 8.0, slot=1)
    replies = client.regen(slot=1, start_bar=1, n_bars=1, targets={"note_density": 0.9})
    bar1 = [n for n in result_notes(replies) if n.start_beats < 4.0]
    assert [(n.pitch, n.start_beats, n.velocity) for n in bar1] == [(60, 0.0, 20), (62, 1.0, 30), (64, 2.0, 40),
                                                                     (65, 3.0, 50)]  # fmt: skip
    sampled = client.request("/arvae/sample", 3, 1.0, 5, 2, "note_density", 0.3, final="/arvae/sample")
    assert sampled[-1].args[1] == 3 and {r.args[1] for r in sampled if r.address == "/arvae/result/end"} == {0, 1, 2}
    client.upload(TWO_BARS[:4], 4.0, slot=2)
    interp = client.request("/arvae/interp", 1, 2, 4, final="/arvae/interp")
    assert interp[-1].args[1] == 4
    assert all(r.args[3] == 4.0 for r in interp if r.address == "/arvae/result/begin")  # cut to the shorter clip


def test_warnings_come_before_the_result(client):
    chord_and_offgrid = [Note(60, 0.0, 1.0), Note(64, 0.0, 1.0), Note(62, 1.1, 0.9)]
    client.upload(chord_and_offgrid, 4.0)
    replies = client.regen()
    codes = [r.args[1] for r in replies if r.address == "/arvae/warning"]
    assert set(codes) == {"chord_reduced", "snapped"}
    first_result = next(i for i, r in enumerate(replies) if r.address == "/arvae/result/begin")
    assert max(i for i, r in enumerate(replies) if r.address == "/arvae/warning") < first_result


def test_errors_have_codes(client, daemon):
    def code_of(*args, final):
        with pytest.raises(DaemonError) as info:
            client.request(*args, final=final)
        return info.value.code, info.value.message

    assert code_of("/arvae/regen", 3, 1, 0.0, 0, 0, 0, final="/arvae/regen")[0] == "no_clip"
    client.send("/arvae/clip/begin", 0, 0, 4, 4.0)
    client.send("/arvae/clip/note", 0, 0, 1, 60, 0.0, 1.0, 100)
    client.send("/arvae/clip/note", 0, 0, 1, 60, 0.0, 1.0, 100)  # re-sent idx: overwrites
    code, msg = code_of("/arvae/clip/end", 0, 4, final="/arvae/clip/end")
    assert code == "clip_incomplete" and "idx 0,2,3" in msg
    client.upload(TWO_BARS, 8.0)
    assert code_of("/arvae/regen", 0, 1, 0.0, 0, 0, 0, "loudness", 0.5, final="/arvae/regen")[0] == "unknown_attr"
    assert code_of("/arvae/regen", 0, 1, 0.0, 0, 5, 1, final="/arvae/regen")[0] == "bad_args"
    assert code_of("/arvae/regen", 0, 99, 0.0, 0, 0, 0, final="/arvae/regen")[0] == "too_large"
    assert code_of("/arvae/model/load", "nope", final="/arvae/model/load")[0] == "unknown_model"
    assert code_of("/arvae/hello", "x", client.reply_port, 2, final="/arvae/hello")[0] == "unsupported"
    assert code_of("/arvae/frobnicate", final="/arvae/frobnicate")[0] == "unknown_address"
    assert code_of("/arvae/*", final="/arvae/*")[0] == "unknown_address"  # patterns are not expanded
    assert client.request("/arvae/status")[0].args[8] == daemon.stats.get("errors") == 9


def test_latest_wins_and_cancel(client, daemon):
    client.upload(TWO_BARS, 8.0, slot=0)
    client.upload(TWO_BARS, 8.0, slot=1)
    gate = threading.Event()
    for small in (False, True):  # both engine threads busy, the first one first
        daemon.submit(
            Job(("test", small), 0, "/test/hold", lambda _lm: gate.wait(10), time.perf_counter(), None, small)
        )
        while daemon.queue_size():
            time.sleep(0.002)
    rids = [client.next_rid() for _ in range(7)]
    for rid in rids[:5]:  # a dial sweep: five requests for slot 0 while the engine is busy
        client.send("/arvae/regen", rid, 0, 4, 1.0, rid, 0, 0, "note_density", rid / 10)
    client.send("/arvae/regen", rids[5], 1, 1, 0.0, 0, 0, 0)  # slot 1: not replaced by slot 0's requests
    client.send("/arvae/cancel", rids[6], rids[5])  # but cancelled by rid
    assert client.collect(rids[6], "/arvae/cancel")[0].args[1] == rids[5]
    assert daemon.queue_size() == 1  # replaced and cancelled requests leave the queue at once
    gate.set()
    outcome = {}
    for rid in rids[:6]:
        try:
            outcome[rid] = client.collect(rid, "/arvae/regen")[-1].address
        except DaemonError as err:
            outcome[rid] = err.code
    assert [outcome[r] for r in rids[:6]] == ["cancelled"] * 4 + ["/arvae/regen", "cancelled"]


def test_partial_uploads_expire(client, daemon):
    daemon.clients.get(("127.0.0.1", client.reply_port)).upload_ttl_sec = 0.2
    client.send("/arvae/clip/begin", 0, 0, 1, 4.0)
    time.sleep(0.3)
    rid = client.next_rid()
    client.send("/arvae/clip/note", rid, 0, 0, 60, 0.0, 1.0, 100)
    with pytest.raises(DaemonError, match="no_clip"):
        client.collect(rid, "/arvae/clip/note")


def test_model_load_switches_without_restart(tmp_path, tiny_ckpt, monkeypatch, sink):
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "models"))
    (tmp_path / "models").mkdir()
    shutil.copy(tiny_ckpt, tmp_path / "models" / "other.pt")
    host = ModelHost("cpu")
    host.add(str(tiny_ckpt))
    with Daemon(host, port=0, reply_port=sink.getsockname()[1]) as d, DaemonClient(d.port) as c:
        listed = [r.args[2:4] for r in c.request("/arvae/models/list", final="/arvae/models/end")[1:-1]]
        assert listed == [("tiny", 4), ("other", 0)]
        assert c.request("/arvae/model/load", "other")[0].args[1] == "other"
        assert c.request("/arvae/status")[0].args[2] == "other"


def _fuzz_datagrams(n: int, seed: int = 0) -> list[bytes]:
    """Random and malformed datagrams of every kind the issue names."""
    rng = random.Random(seed)
    good = [
        encode_message("/arvae/regen", 1, 0, 1, 0.0, 0, 0, 0, "note_density", 0.5),
        encode_message("/arvae/clip/note", 1, 0, 0, 60, 0.0, 1.0, 100),
        encode_message("/arvae/clip/begin", 1, 0, 3, 8.0),
        encode_message("/arvae/ping", 1),
        encode_message("/arvae/status", 0),
    ]
    out = []
    for i in range(n):
        kind = i % 8
        if kind == 0:  # random bytes
            out.append(rng.randbytes(rng.randint(1, 200)))
        elif kind == 1:  # truncated valid message
            g = rng.choice(good)
            out.append(g[: rng.randint(1, len(g) - 1)])
        elif kind == 2:  # wrong type tags
            b = OscMessageBuilder(rng.choice(["/arvae/regen", "/arvae/clip/note", "/arvae/hello"]))
            for _ in range(rng.randint(0, 9)):
                t = rng.choice(["s", "f", "i", "T", "N", "b", "h", "d"])
                v = {"s": "x", "f": 1.5, "i": rng.randint(-5, 5), "T": True, "N": None, "b": b"zz", "h": 2**40,
                     "d": 2.5}[t]  # fmt: skip
                b.add_arg(v, t)
            out.append(b.build().dgram)
        elif kind == 3:  # huge
            out.append(b"/arvae/ping\0,s\0\0" + b"x" * rng.randint(9000, 20000) + b"\0\0\0\0")
        elif kind == 4:  # wrong argument counts
            args = [rng.randint(0, 3) for _ in range(rng.choice([0, 1, 2, 5, 30]))]
            out.append(encode_message(rng.choice(["/arvae/regen", "/arvae/clip/end", "/arvae/sample"]), *args))
        elif kind == 5:  # unknown addresses
            out.append(encode_message(f"/arvae/{rng.randint(0, 10**6)}", rng.randint(0, 9)))
        elif kind == 6:  # bundles, some of them nested or cut
            bb = OscBundleBuilder(IMMEDIATELY)
            for _ in range(rng.randint(1, 3)):
                bb.add_content(OscMessageBuilder("/arvae/bogus").build())
            data = bb.build().dgram
            out.append(data if rng.random() < 0.5 else data[: rng.randint(8, len(data))])
        else:  # valid header, junk body
            out.append(encode_message("/arvae/clip/note", 1)[:16] + struct.pack(">q", rng.getrandbits(63)))
    return out


@pytest.mark.slow
def test_ten_thousand_malformed_datagrams_then_ping(daemon, client):
    fuzz = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for k, data in enumerate(_fuzz_datagrams(10_000)):
            fuzz.sendto(data, ("127.0.0.1", daemon.port))
            if k % 25 == 24:  # a ping answered means the daemon has read all sent so far: the buffer never overflows
                client.request("/arvae/ping")
    finally:
        fuzz.close()
    seen = daemon.stats.get("datagrams")
    assert seen >= 10_000 + 400 + 1  # every fuzz datagram, the pings and the hello, all read
    assert daemon.stats.get("bad_datagrams") > 2000
    assert client.request("/arvae/ping")[0].address == "/arvae/ping"
    client.upload(TWO_BARS, 8.0)
    assert client.regen()[-1].address == "/arvae/regen"


@pytest.mark.slow
def test_eight_concurrent_clients_never_see_each_other(daemon):
    n_clients, n_requests = 8, 200
    failures: list[str] = []
    counts = [0] * n_clients

    def run(k: int) -> None:
        try:
            with DaemonClient(daemon.port, timeout_sec=30) as c:
                velocity = 10 + k  # this client's mark on every note it uploads
                for i in range(n_requests):
                    if i % 10 == 0:  # interleaved uploads: a new clip, pitches that depend on client and round
                        pitch = 60 + (k + i // 10) % 12
                        # Bar 1: four quarters; bar 2: k + 1 eighths, so the clip's density is the client's own.
                        clip = [Note(pitch, float(b), 1.0, velocity) for b in range(4)]
                        clip += [Note(pitch + 1, 4 + 0.5 * j, 0.5, velocity) for j in range(k + 1)]
                        c.upload(clip, 8.0, slot=k % 2)
                        counts[k] += 1
                        continue
                    if i % 3 == 1:
                        replies = c.regen(slot=k % 2, start_bar=1, n_bars=1, targets={"note_density": 0.5})
                        notes = result_notes(replies)
                        first_bar = [(n.pitch, n.start_beats) for n in notes if n.start_beats < 4.0]
                        if first_bar != [(pitch, float(b)) for b in range(4)]:
                            failures.append(f"client {k} request {i}: bar 1 is {first_bar}")
                        if any(n.velocity != velocity for n in notes):
                            failures.append(f"client {k} request {i}: foreign velocity")
                    else:
                        args = c.request("/arvae/attrs/measure", k % 2)[0].args
                        density = dict(zip(args[1::2], args[2::2]))["note_density"]
                        if density != pytest.approx((4 + k + 1) / 48):
                            failures.append(f"client {k} request {i}: density {density}")
                    counts[k] += 1
        except Exception as err:  # a timeout is a request left unanswered
            failures.append(f"client {k}: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures[:5]
    assert counts == [n_requests] * n_clients


@pytest.mark.slow
def test_memory_does_not_grow_over_ten_thousand_requests(daemon, client):
    client.upload(TWO_BARS, 8.0)

    def burst(n: int) -> None:
        for i in range(n):
            if i % 500 == 0:
                client.regen(start_bar=1, n_bars=1)
            elif i % 100 == 0:
                client.upload(TWO_BARS[:3], 4.0, slot=1 + i % 7)
            elif i % 2:
                client.request("/arvae/ping")
            else:
                client.request("/arvae/status")

    burst(1000)  # warm-up: caches, latency window, first-use allocations
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        burst(10_000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 512 * 1024, f"traced memory grew by {(after - before) / 1024:.0f} KiB"
    assert daemon.clients.sizes() == (0, 8)


def test_serve_cli_starts_answers_and_stops_on_sigterm(tiny_ckpt, tmp_path):
    # An empty model folder: only --model is loaded (the bundled 3/4 and 6/8 defaults would be loaded beside it).
    (tmp_path / "none").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARVAE_CHECKPOINTS": str(tmp_path / "none")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "arvae_live", "serve", "--model", str(tiny_ckpt), "--port", "0", "--device", "cpu"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert m, line + proc.stderr.read()
        assert "models: tiny (current: tiny)" in proc.stdout.readline()
        with DaemonClient(int(m.group(1))) as c:
            assert c.request("/arvae/ping")[0].address == "/arvae/ping"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped: 3 requests, 0 errors" in out  # the hello, the verify and the ping


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "foreign"])
def test_serve_refuses_a_bad_checkpoint_in_one_line(tmp_path, tiny_ckpt, kind):
    import torch

    bad = tmp_path / f"{kind}.pt"
    if kind == "corrupt":
        bad.write_bytes(b"\x80\x02 junk")
    elif kind == "truncated":
        data = tiny_ckpt.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    else:
        torch.save({"weights": torch.zeros(3)}, bad)  # a torch file, but not an arvae checkpoint
    result = CliRunner().invoke(cli_main, ["serve", "--model", str(bad), "--port", "0"])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"{kind}.pt" in lines[0], result.output


def test_serve_skips_a_bad_file_it_was_not_asked_for(tmp_path, tiny_ckpt, monkeypatch, sink):
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "m"))
    (tmp_path / "m").mkdir()
    shutil.copy(tiny_ckpt, tmp_path / "m" / "bach-arvae.pt")
    (tmp_path / "m" / "zz-broken.pt").write_bytes(b"junk")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARVAE_CHECKPOINTS": str(tmp_path / "m")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "arvae_live", "serve", "--port", "0", "--device", "cpu"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "listening on 127.0.0.1" in proc.stdout.readline()
        assert "models: bach-arvae (current: bach-arvae)" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "skipped" in err and "zz-broken.pt" in err


def test_serve_without_models_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path))
    result = CliRunner().invoke(cli_main, ["serve", "--port", "0"])
    assert result.exit_code == 1 and "arvae-train" in result.output


def test_default_bind_is_loopback(daemon):
    assert daemon._sock.getsockname()[0] == "127.0.0.1"
    assert np.isfinite(daemon.stats.percentile(50))


def test_bench_runs_with_the_tiny_model(tiny_ckpt, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        cli_main,
        [
            "bench",
            "--model",
            str(tiny_ckpt),
            "--requests",
            "4",
            "--warmup",
            "1",
            "--variations",
            "2",
            "--out",
            str(out),
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "2 variation(s): round trip p50" in result.output
    run = json.loads(out.read_text())["runs"][0]
    assert run["variations"] == 2 and 0 < run["engine_ms"][0] <= run["engine_ms"][2]
    assert run["round_trip_ms"][0] > 0 and run["daemon_engine_p50_ms"] > 0


def test_serve_on_a_port_in_use_says_so_in_one_line(tiny_ckpt):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli_main, ["serve", "--model", str(tiny_ckpt), "--port", str(port)])
    finally:
        taken.close()
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"port {port}" in lines[0] and "--port" in lines[0], result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_remote_host_without_allow_remote(tiny_ckpt):
    result = CliRunner().invoke(cli_main, ["serve", "--model", str(tiny_ckpt), "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "--allow-remote" in result.output, result.output


def _pitch_classes(replies, v: int = 0) -> set[int]:
    return {n.pitch % 12 for n in result_notes(replies, v)}


def test_regen_keeps_the_clip_key_and_scale_chooses_per_client(client, daemon):
    # C major, whole clip: C E G C' / D F A D' -- every variation, sampled, stays on the white keys
    clip = [Note(p, float(k), 1.0, 80) for k, p in enumerate([60, 64, 67, 72, 62, 65, 69, 74])]
    client.upload(clip, 8.0)
    replies = client.regen(targets={"note_density": 0.9, "pitch_range": 0.9}, variations=4, temperature=2.0, seed=1)
    assert replies[-1].args[3] == "C major"  # the final reply names the key
    assert set().union(*(_pitch_classes(replies, v) for v in range(4))) <= {0, 2, 4, 5, 7, 9, 11}
    # "set": Live's scale as a mask; the clip's own notes stay possible
    g_major_pentatonic = sum(1 << k for k in (7, 9, 11, 2, 4))
    assert client.request("/arvae/scale", "set", g_major_pentatonic)[-1].args[1:] == ("set", g_major_pentatonic)
    replies = client.regen(targets={"note_density": 0.9}, variations=4, temperature=2.0, seed=1)
    allowed = {7, 9, 11, 2, 4} | {0, 4, 7, 2, 5, 9}
    assert replies[-1].args[3] == "custom"
    assert set().union(*(_pitch_classes(replies, v) for v in range(4))) <= allowed
    sampled = client.request("/arvae/sample", 4, 2.0, 5, 2, final="/arvae/sample")
    assert set().union(*(_pitch_classes(sampled, v) for v in range(4))) <= {7, 9, 11, 2, 4}
    # "off": the final reply names no key
    client.request("/arvae/scale", "off")
    assert client.regen(targets={"note_density": 0.9}, seed=1)[-1].args[3] == ""
    for bad in (("set",), ("auto", 5), ("lydian",), ("set", 4096)):
        with pytest.raises(DaemonError) as err:
            client.request("/arvae/scale", *bad)
        assert err.value.code == "bad_args"


def test_nothing_asked_returns_the_clip_as_it_was(client):
    client.upload(TWO_BARS, 8.0)
    replies = client.regen(targets={})
    got = [(n.pitch, n.start_beats, n.dur_beats) for n in result_notes(replies, 0)]
    assert got == [(n.pitch, n.start_beats, n.dur_beats) for n in TWO_BARS]


def test_bench_clips_new_every_bar_or_one_bar_edited(vocab):
    from arvae_live.bench import BenchSettings, bench_clip, clip_for

    notes, _ = bench_clip()
    base = notes_to_tokens(notes, 8, vocab)[0]
    seen = {row.tobytes() for row in base}
    for i in range(20):  # --vary-clip: no bar of any request was seen before (the daemon encodes all 8)
        bars = notes_to_tokens(clip_for(notes, i, True), 8, vocab)[0]
        assert not ({row.tobytes() for row in bars} & seen)
        seen |= {row.tobytes() for row in bars}
    for i in (0, 9, 30):  # --edit-clip: exactly one bar differs from the bench clip
        bars = notes_to_tokens(clip_for(notes, i, False, True), 8, vocab)[0]
        assert int((bars != base).any(axis=1).sum()) == 1
    with pytest.raises(ConfigError, match="choose one"):
        BenchSettings(model=Path("x.pt"), vary_clip=True, edit_clip=True).check()
