"""The daemon benchmark behind `arvae-live bench`: round-trip latency over loopback, beside the engine time of the
same work.

A realistic request: an 8-bar melody uploaded once, then /arvae/regen with 4 attribute targets that change on every
request (a performer sweeping dials), closed loop on, 1 and 4 variations. The round trip is timed in this client
from sending /arvae/regen to receiving the final /arvae/regen reply (all notes streamed before it). The engine time
is LiveModel.regenerate on the same clip and targets, run in this process; round trip minus engine time is what the
daemon adds (OSC decode, queueing, thread hand-over, streaming the notes back).

Without a port, each variation count gets a daemon of its own (`python -m arvae_live serve --port 0`, the same
installation as this process), so its /arvae/status percentiles cover that run only. With a port, the daemon must
answer /arvae/hello within PROBE_TIMEOUT_SEC, before any model is loaded here, or the run stops with one line.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from arvae_live.errors import ArvaeError, ConfigError, DaemonUnreachableError

ATTRS = ("rhythmic_complexity", "pitch_range", "note_density", "contour")  # the targets every request sets
HOST = "127.0.0.1"
PROBE_TIMEOUT_SEC = 2.0  # a daemon on loopback answers /arvae/hello in milliseconds; longer only delays the error
REQUEST_TIMEOUT_SEC = 30.0  # one 16-variation regen on a slow CPU stays far below this
START_TIMEOUT_SEC = 120.0  # model load and warm-up of a daemon started here, on a busy machine


@dataclass(frozen=True)
class BenchSettings:
    """What `run_bench` measures; the fields are `arvae-live bench`'s options.

    Attributes:
        model: checkpoint file, for the engine timing here and the daemons started here.
        port: a running daemon's request port on 127.0.0.1; None starts one per variation count.
        n_requests: timed requests per variation count (>= 1).
        warmup: untimed requests before them.
        variations: the variation counts to time (1..16 each).
        device: torch device for the engine timing and the daemons started here.
        threads: torch threads, here and in the daemons started here.
        budget_ms: closed-loop time budget per request (0: no limit).
        open_loop: time open-loop targeting in the engine (needs `port`: a daemon always runs closed loop).
        vary_clip: upload a new clip before every request, every bar of it new (so the daemon encodes all 8).
        encoder: how new measures are encoded, here and in the daemons started here ("auto" or "full").
        edit_clip: upload the clip with one note moved before every request (a performer's edit: the daemon encodes
            the one bar that changed).
        progress: show progress bars.
    """

    model: Path
    port: int | None = None
    n_requests: int = 200
    warmup: int = 20
    variations: tuple[int, ...] = (1, 4)
    device: str = "cpu"
    threads: int = 1
    budget_ms: float = 8.0
    open_loop: bool = False
    vary_clip: bool = False
    edit_clip: bool = False
    encoder: str = "auto"
    progress: bool = True

    def check(self) -> None:
        """ConfigError for combinations that cannot be measured (cheap: call it before loading anything)."""
        if self.open_loop and self.port is None:
            raise ConfigError("--open-loop times the engine only in-process; the daemon always runs closed loop")
        if self.vary_clip and self.edit_clip:
            raise ConfigError("choose one of --vary-clip (every bar new) and --edit-clip (one note moved)")

    @property
    def clip_mode(self) -> str:
        """What each request sends, in words (the report's first line)."""
        if self.vary_clip:
            return "new clip every request (every bar new)"
        if self.edit_clip:
            return "edited clip every request (one note moved)"
        return "same clip, new targets every request"


def bench_clip() -> tuple[list, float]:
    """An 8-bar stepwise melody of quarters, eighths and a triplet per bar: (56 notes, pitches 60..76; 32 beats)."""
    from arvae_live.core.representation import Note

    notes = []
    pitches = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 74, 72, 71, 69, 67, 65, 64, 62]
    k = 0
    for bar in range(8):
        t = bar * 4.0
        for dur in (1.0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3, 1.0):
            notes.append(Note(pitches[k % len(pitches)], t, dur, 64 + (k * 7) % 60))
            t += dur
            k += 1
    return notes, 32.0


def clip_for(notes: list, i: int, vary: bool, edit: bool = False) -> list:
    """The clip of request i: the bench clip; with vary, its rhythm with new pitches in every bar (a C-major random
    walk seeded by i, 55..84: no bar of it has been seen before, the encode cache holds 4,096 bars); with edit, the
    bench clip with one note moved by 1..11 semitones (new every request, one bar changed)."""
    import numpy as np

    from arvae_live.core.representation import Note

    if vary:
        rng = np.random.default_rng(1_000_003 + i)
        scale = [p for p in range(55, 85) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
        k, out = int(rng.integers(len(scale))), []
        for n in notes:
            k = int(np.clip(k + rng.choice([-2, -1, 1, 2]), 0, len(scale) - 1))
            out.append(Note(scale[k], n.start_beats, n.dur_beats, n.velocity))
        return out
    if not edit:
        return notes
    k = i % len(notes)
    n = notes[k]
    moved = Note(n.pitch + 1 + (i // len(notes)) % 11, n.start_beats, n.dur_beats, n.velocity)
    return [*notes[:k], moved, *notes[k + 1 :]]


def probe_daemon(port: int, timeout_sec: float = PROBE_TIMEOUT_SEC) -> None:
    """Check that a daemon answers /arvae/hello on 127.0.0.1:port.

    Raises:
        DaemonUnreachableError: no answer within timeout_sec; the message says what to do.
    """
    from arvae_live.client import DaemonClient

    try:
        DaemonClient(port, HOST, timeout_sec=timeout_sec).close()
    except (TimeoutError, OSError) as err:
        raise DaemonUnreachableError(
            f"no arvae-live daemon answers on {HOST}:{port} (no reply to /arvae/hello within {timeout_sec:g} s); "
            "start one with `arvae-live serve`, or leave out --port and bench starts its own"
        ) from err


def _read_lines(stream: Any, lines: queue.Queue) -> None:
    """Move a pipe's lines into a queue until it closes (then None), so the pipe never fills and blocks the child."""
    for line in stream:
        lines.put(line)
    lines.put(None)


@contextmanager
def own_daemon(settings: BenchSettings, timeout_sec: float = START_TIMEOUT_SEC) -> Iterator[int]:
    """Start `python -m arvae_live serve` on a free port for settings.model; yield its port; terminate it on exit.

    Raises:
        DaemonUnreachableError: it exited or said nothing within timeout_sec; the message carries its last error line.
    """
    cmd = [sys.executable, "-m", "arvae_live", "--log-level", "WARNING", "serve", "--model", str(settings.model)]
    cmd += ["--port", "0", "--device", settings.device, "--threads", str(settings.threads)]
    cmd += ["--budget-ms", str(settings.budget_ms), "--encoder", settings.encoder]
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
        try:
            yield _listening_port(proc, lines, stderr, timeout_sec)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _listening_port(proc: subprocess.Popen, lines: queue.Queue, stderr: Any, timeout_sec: float) -> int:
    """The port from serve's "listening on HOST:PORT" line, waiting at most timeout_sec for it."""
    deadline = time.monotonic() + timeout_sec
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:  # stdout closed: serve exited
            break
        found = re.search(r"listening on [\d.]+:(\d+)", line)
        if found:
            return int(found.group(1))
    proc.kill()
    proc.wait()
    stderr.seek(0)
    said = [x for x in stderr.read().splitlines() if x.strip()]
    why = said[-1].strip() if said else f"exit code {proc.returncode}" if proc.returncode else "no output"
    raise DaemonUnreachableError(f"the daemon bench started did not come up within {timeout_sec:g} s: {why}")


@contextmanager
def daemon_port(settings: BenchSettings) -> Iterator[int]:
    """The port of the daemon to time: settings.port, or one started for this run."""
    if settings.port is not None:
        yield settings.port
    else:
        with own_daemon(settings) as port:
            yield port


def round_trips(port: int, plans: list[dict[str, float]], variations: int, settings: BenchSettings) -> dict[str, Any]:
    """Time /arvae/regen over loopback for each request's targets.

    Returns:
        {"round_trip_ms": [...], "daemon_request_ms": [...], "daemon_engine_p50_ms": float}, timed requests only.

    Raises:
        DaemonUnreachableError: the daemon stopped answering.
        ArvaeError: it answered a request with /arvae/error.
    """
    from tqdm import tqdm

    from arvae_live.client import DaemonClient, DaemonError

    notes, length = bench_clip()
    rt, daemon_ms = [], []
    try:
        with DaemonClient(port, HOST, timeout_sec=PROBE_TIMEOUT_SEC) as client:
            client.timeout_sec = REQUEST_TIMEOUT_SEC  # hello answered: now a request may take long
            client.upload(notes, length)
            steps = range(len(plans))
            desc = f"round trip, {variations} variation(s)"
            for i in tqdm(steps, desc=desc, leave=False) if settings.progress else steps:
                if settings.vary_clip or settings.edit_clip:
                    client.upload(clip_for(notes, i, settings.vary_clip, settings.edit_clip), length)
                start = time.perf_counter()
                replies = client.regen(targets=plans[i], variations=variations, seed=i)
                elapsed = (time.perf_counter() - start) * 1e3
                if i >= settings.warmup:
                    rt.append(elapsed)
                    daemon_ms.append(replies[-1].args[2])
            status = client.request("/arvae/status")[0].args
    except (TimeoutError, OSError) as err:
        raise DaemonUnreachableError(f"the daemon on {HOST}:{port} stopped answering ({err})") from err
    except DaemonError as err:
        raise ArvaeError(f"the daemon on {HOST}:{port} refused a request: {err}") from err
    return {"round_trip_ms": rt, "daemon_request_ms": daemon_ms, "daemon_engine_p50_ms": status[9]}


def engine_times(lm: Any, plans: list[dict[str, float]], variations: int, settings: BenchSettings) -> list[float]:
    """LiveModel.regenerate's engine_ms on the same clips and targets as the round trips, timed requests only."""
    from tqdm import tqdm

    from arvae_live.core.representation import notes_to_tokens

    notes, _ = bench_clip()
    out = []
    steps = range(len(plans))
    for i in tqdm(steps, desc=f"engine, {variations} variation(s)", leave=False) if settings.progress else steps:
        tokens, _ = notes_to_tokens(clip_for(notes, i, settings.vary_clip, settings.edit_clip), 8, lm.vocab)
        res = lm.regenerate(
            tokens,
            plans[i],
            variations,
            seed=i,
            closed_loop=not settings.open_loop,
            budget_ms=settings.budget_ms or None,
        )
        if i >= settings.warmup:
            out.append(res.engine_ms)
    return out


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """(p50, p95, p99) of values."""
    import numpy as np

    p50, p95, p99 = (float(np.percentile(values, q)) for q in (50, 95, 99))
    return p50, p95, p99


def run_bench(settings: BenchSettings, report: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Measure round trip and engine time for each variation count of settings.

    Args:
        settings: what to measure.
        report: called with a line of text when the model is loaded and after each variation count.

    Returns:
        The figures as plain JSON: the settings, and per variation count the p50/p95/p99 of round trip, engine
        time and the daemon's own request time (ms), the daemon's engine p50 and the overhead at p50.

    Raises:
        ConfigError: settings that cannot be measured.
        DaemonUnreachableError: the daemon at settings.port does not answer (checked before the model loads here),
            or one started here did not come up.
        CheckpointError: the model cannot be loaded.
    """
    settings.check()
    if settings.port is not None:
        probe_daemon(settings.port)
    import numpy as np
    import torch

    from arvae_live.engine import LiveModel

    torch.set_num_threads(settings.threads)
    lm = LiveModel.from_checkpoint(settings.model, device=settings.device, encoder=settings.encoder)
    rng = np.random.default_rng(0)
    total = settings.warmup + settings.n_requests
    names = [a for a in ATTRS if a in lm.attribute_names]
    plans = {v: [{a: float(rng.uniform()) for a in names} for _ in range(total)] for v in settings.variations}
    results: dict[str, Any] = {**asdict(settings), "model": str(settings.model), "device": lm.device.type, "runs": []}
    del results["progress"]
    report(
        f"model {lm.model_id} ({settings.model}), hidden {lm.model.config.hidden_dim}, latent {lm.latent_dim}; "
        f"device {lm.device.type}, {settings.threads} thread(s), budget {settings.budget_ms:g} ms; 8-bar clip "
        f"({len(bench_clip()[0])} notes), {len(names)} targets, "
        f"{settings.clip_mode}; {lm.encoder_name} encoder"
    )
    for v in settings.variations:
        with daemon_port(settings) as port:
            daemon = round_trips(port, plans[v], v, settings)
        p_rt, p_daemon = percentiles(daemon["round_trip_ms"]), percentiles(daemon["daemon_request_ms"])
        p_engine = percentiles(engine_times(lm, plans[v], v, settings))
        run = {
            "variations": v,
            "round_trip_ms": p_rt,
            "engine_ms": p_engine,
            "daemon_request_ms": p_daemon,
            "daemon_engine_p50_ms": daemon["daemon_engine_p50_ms"],
            "overhead_p50_ms": p_rt[0] - p_engine[0],
        }
        results["runs"].append(run)
        report(
            f"{v:>2} variation(s): round trip p50 {p_rt[0]:6.2f}  p95 {p_rt[1]:6.2f}  p99 {p_rt[2]:6.2f} ms | "
            f"engine p50 {p_engine[0]:6.2f}  p95 {p_engine[1]:6.2f}  p99 {p_engine[2]:6.2f} ms | "
            f"overhead p50 {run['overhead_p50_ms']:5.2f} ms\n"
            f"    inside the daemon: datagram in -> last reply out p50 {p_daemon[0]:6.2f} ms, "
            f"engine p50 {run['daemon_engine_p50_ms']:6.2f} ms"
        )
    return results
