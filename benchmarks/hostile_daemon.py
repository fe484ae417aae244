"""The daemon under attack on loopback: the "done when" figures of issue #12 items 2-4.

Starts `arvae-live serve` (this checkout, a subprocess, default log level INFO, stderr to a file) and measures:
1. flood: N hostile datagrams (lying bundle sizes -4/0/past the end/not x4, nesting past the limit, 65k-tag lists,
   unsupported tags, random bytes, bundles of bad requests); then how long until a ping is answered, ping round
   trips after, and how much the daemon's log grew (bar: ping within 50 ms, log < 1 MB);
2. reflection: per attack, the bytes arriving at the port an unverified client aimed replies at, over the bytes it
   sent (bar: <= 10x);
3. fairness: one verified client flooding 16-variation x 64-bar regens (distinct slots, so nothing coalesces) while
   a second one runs 8-bar regens: the second's round trip p50/p99 and its refusals and evictions (bar: p99 <= 50 ms,
   none refused or evicted).

    python benchmarks/hostile_daemon.py [--model bach-arvae] [--flood 50000] [--regens 200] [--out figures.json]

(From a checkout that is not the installed one: `python -m benchmarks.hostile_daemon ...` from its root.)

Timing figures depend on the machine: print `uptime` beside them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.synchronize
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from arvae_live.client import DaemonClient, DaemonError
from arvae_live.core.representation import Note
from arvae_live.osc_wire import encode_message
from arvae_live.protocol import MAX_BUNDLE_DEPTH, MAX_MESSAGES_IN, MAX_SLOTS, PROTOCOL_VERSION

ROOT = Path(__file__).resolve().parents[1]


def bundle(*elements: bytes) -> bytes:
    return b"#bundle\0" + b"\0" * 7 + b"\1" + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def hostile_datagrams(rng: random.Random) -> list[bytes]:
    """One of each kind of hostile datagram (the flood cycles through them)."""
    ping = encode_message("/arvae/ping", 1)
    head = bundle(ping)[:16]
    nested = ping
    for _ in range(MAX_BUNDLE_DEPTH + 1):
        nested = bundle(nested)
    out = [head + struct.pack(">i", size) + ping for size in (-4, 0, 4096, 6)]
    out.append(nested)
    out.append(b"/arvae/ping\0,i" + b"I" * 65000 + b"\0\0" + struct.pack(">i", 1))  # a 65k-tag list
    out.append(b"/arvae/regen\0\0\0\0,iS\0" + struct.pack(">i", 1) + b"sym\0")  # an unsupported tag
    out.append(rng.randbytes(64))
    out.append(bundle(*[encode_message("/arvae/bogus", k) for k in range(MAX_MESSAGES_IN)]))
    return out


def start_daemon(model: str, log_path: Path, reply_port: int) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-m", "arvae_live", "serve", "--model", model, "--port", "0", "--threads", "1"]
    cmd += ["--reply-port", str(reply_port)]
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on [\d.]+:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit(f"the daemon did not start: {line}{log_path.read_text()[-2000:]}")
    return proc, int(m.group(1))


def ping(client: DaemonClient) -> float:
    """Round trip of one ping in ms, asking again every 0.5 s when a datagram was lost (a full socket buffer)."""
    t = time.perf_counter()
    for _ in range(60):
        try:
            client.request("/arvae/ping")
            return (time.perf_counter() - t) * 1e3
        except TimeoutError:
            continue
    raise TimeoutError("no ping answered for 30 s")


def flood(port: int, n: int, log_path: Path) -> dict:
    """n hostile datagrams at full speed, a ping every 200 (so the daemon's socket buffer seldom overflows)."""
    rng = random.Random(0)
    kinds = hostile_datagrams(rng)
    log_before = log_path.stat().st_size
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent_bytes = 0
    with DaemonClient(port, timeout_sec=0.5) as probe:
        t0 = time.perf_counter()
        for k in range(n):
            data = kinds[k % len(kinds)]
            sock.sendto(data, ("127.0.0.1", port))
            sent_bytes += len(data)
            if k % 200 == 199:
                ping(probe)
        flood_sec = time.perf_counter() - t0
        first_ping_ms = ping(probe)
        rtts = [ping(probe) for _ in range(50)]
    sock.close()
    return {
        "datagrams": n,
        "megabytes_sent": round(sent_bytes / 1e6, 1),
        "flood_sec": round(flood_sec, 2),
        "first_ping_after_ms": round(first_ping_ms, 2),
        "ping_p50_ms": round(float(np.percentile(rtts, 50)), 3),
        "ping_max_ms": round(max(rtts), 3),
        "log_growth_bytes": log_path.stat().st_size - log_before,
    }


def _drain(sock: socket.socket, quiet_sec: float = 1.0) -> int:
    """Bytes arriving on sock until quiet_sec passes without any."""
    total = 0
    sock.settimeout(quiet_sec)
    try:
        while True:
            total += len(sock.recv(65535))
    except TimeoutError:
        return total


def reflection(port: int, sink: socket.socket) -> dict:
    """Per attack, from a fresh unverified client: bytes arriving at the aimed-at port / bytes sent."""
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    victim.bind(("127.0.0.1", 0))
    hello = encode_message("/arvae/hello", 1, "x", victim.getsockname()[1], PROTOCOL_VERSION)
    sample = encode_message("/arvae/sample", 2, 16, 1.0, 0, 64)
    attacks = {
        "sample 16x64 (no hello)": [sample] * 20,
        "hello to another port, then samples": [hello] + [sample] * 20,
        "bundle of 32 samples": [
            hello,
            bundle(*[encode_message("/arvae/sample", k, 16, 1.0, k, 64) for k in range(32)]),
        ],
        "bundle of 32 models/list": [hello, bundle(*[encode_message("/arvae/models/list", k) for k in range(32)])],
        "bundle of 32 attrs/list": [hello, bundle(*[encode_message("/arvae/attrs/list", k) for k in range(32)])],
        "bundle of 32 status": [hello, bundle(*[encode_message("/arvae/status", k) for k in range(32)])],
        "4-byte datagrams": [b"/\0\0\0"] * 50,
    }
    out = {}
    _drain(sink, 0.5)  # what the flood's errors left there
    for name, datagrams in attacks.items():
        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker.bind(("127.0.0.1", 0))
        for data in datagrams:
            attacker.sendto(data, ("127.0.0.1", port))
        got = _drain(victim) + _drain(sink, 0.2)
        sent = sum(map(len, datagrams))
        out[name] = {"sent": sent, "received": got, "ratio": round(got / sent, 2)}
        attacker.close()
    victim.close()
    out["worst_ratio"] = max(v["ratio"] for v in out.values())
    return out


def _clip(n_bars: int) -> list[Note]:
    """A melody of n_bars: eighths and quarters up and down a C major scale."""
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    notes, t = [], 0.0
    while t < 4 * n_bars - 1e-9:
        dur = 0.5 if int(t) % 2 == 0 else 1.0
        notes.append(Note(scale[int(t * 2) % len(scale)], t, dur, 90))
        t += dur
    return notes


def flooder(
    port: int, stop: multiprocessing.synchronize.Event, sent: multiprocessing.Value, busy: multiprocessing.Value
) -> None:
    """A verified client keeping the queue full of 16-variation x 64-bar regens (its own process: no shared GIL)."""
    with DaemonClient(port, timeout_sec=60) as c:
        for slot in range(MAX_SLOTS):
            c.upload(_clip(64), 256.0, slot=slot)
        k = 0
        while not stop.is_set():
            c.send("/arvae/regen", c.next_rid(), k % MAX_SLOTS, 16, 1.0, k, 0, 0, "note_density", 0.9)
            sent.value += 1
            k += 1
            deadline = time.monotonic() + 0.002
            while time.monotonic() < deadline:  # read what came back meanwhile
                try:
                    reply = c.receive(0.001)
                except TimeoutError:
                    continue
                busy.value += reply.address == "/arvae/error" and reply.args[1] == "busy"


def fairness(port: int, n_regens: int) -> dict:
    """A flooder keeps the queue full of 16x64-bar regens; a second client's 8-bar regens are timed."""
    stop = multiprocessing.Event()
    sent, busy = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
    proc = multiprocessing.Process(target=flooder, args=(port, stop, sent, busy), daemon=True)
    rtts, refused = [], {}
    with DaemonClient(port, timeout_sec=30) as c:
        c.upload(_clip(8), 32.0)
        proc.start()
        time.sleep(3.0)  # let the flood upload and fill the queue
        for i in range(n_regens):
            t = time.perf_counter()
            try:
                c.regen(targets={"note_density": (i % 10) / 10}, seed=i)
                rtts.append((time.perf_counter() - t) * 1e3)
            except DaemonError as err:
                refused[err.code] = refused.get(err.code, 0) + 1
    stop.set()
    proc.join(timeout=30)
    return {
        "regens": n_regens,
        "p50_ms": round(float(np.percentile(rtts, 50)), 2) if rtts else None,
        "p99_ms": round(float(np.percentile(rtts, 99)), 2) if rtts else None,
        "max_ms": round(max(rtts), 2) if rtts else None,
        "refused_or_evicted": refused,
        "flood_sent": sent.value,
        "flood_busy": busy.value,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="bach-arvae", help="model id or checkpoint path")
    ap.add_argument("--flood", type=int, default=50_000, help="hostile datagrams")
    ap.add_argument("--regens", type=int, default=200, help="timed 8-bar regens of the second client")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "daemon.log"
        proc, port = start_daemon(args.model, log_path, sink.getsockname()[1])
        try:
            figures = {"load_before": os.getloadavg()}
            figures["flood"] = flood(port, args.flood, log_path)
            figures["reflection"] = reflection(port, sink)
            figures["fairness"] = fairness(port, args.regens)
            figures["load_after"] = os.getloadavg()
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        figures["daemon_summary"] = out.strip().splitlines()[-1]
    print(json.dumps(figures, indent=2))  # noqa: T201 - a script's report
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
