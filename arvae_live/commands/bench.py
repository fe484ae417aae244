"""`arvae-live bench`: round-trip latency of the daemon over loopback, beside the engine time of the same work.

A realistic request: an 8-bar melody uploaded once, then /arvae/regen with 4 attribute targets that change on every
request (a performer sweeping dials), closed loop on, 1 and 4 variations. The round trip is timed in this client
from sending /arvae/regen to receiving the final /arvae/regen reply (all notes streamed before it). The engine time
is LiveModel.regenerate on the same clip and targets, run in this process; round trip minus engine time is what the
daemon adds (OSC decode, queueing, thread hand-over, streaming the notes back).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import click

from arvae_live.cli_base import budget_option, device_option, model_option, threads_option

ATTRS = ("rhythmic_complexity", "pitch_range", "note_density", "contour")


def bench_clip() -> tuple[list, float]:
    """An 8-bar stepwise melody of quarters, eighths and a triplet per bar, 55 notes, pitches 60..76."""
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


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    import numpy as np

    return tuple(float(np.percentile(values, q)) for q in (50, 95, 99))  # type: ignore[return-value]


def _start_daemon(model: Path, device: str, threads: int, budget_ms: float) -> tuple[subprocess.Popen, int]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "arvae_live", "--log-level", "WARNING", "serve", "--model", str(model)]
    cmd += ["--port", "0", "--device", device, "--threads", str(threads), "--budget-ms", str(budget_ms)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on [\d.]+:(\d+)", line)
    if not m:
        proc.kill()
        raise click.ClickException(f"the daemon did not start: {line}{proc.stderr.read()[-2000:]}")
    return proc, int(m.group(1))


@click.command("bench")
@model_option(without="the default model (checkpoints/bach-arvae.pt)")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Use a daemon already running on this port.")
@click.option("--requests", "n_requests", type=click.IntRange(1, 100000), default=200, show_default=True)
@click.option("--warmup", type=click.IntRange(0, 10000), default=20, show_default=True, help="Untimed requests first.")
@click.option("--variations", type=click.IntRange(1, 16), multiple=True, default=(1, 4), show_default=True)
@device_option("cpu")
@threads_option
@budget_option(note="For the daemon started here and the engine timing.")
@click.option("--open-loop", is_flag=True, help="Time open-loop targeting (the paper's) instead of closed loop.")
@click.option("--vary-clip", is_flag=True, help="Upload a new clip before every request (encoder never cached).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the figures as JSON.")
def bench_cmd(
    model: str | None,
    port: int | None,
    n_requests: int,
    warmup: int,
    variations: tuple[int, ...],
    device: str,
    threads: int,
    budget_ms: float,
    open_loop: bool,
    vary_clip: bool,
    out: Path | None,
) -> None:
    """Measure /arvae/regen round-trip latency (p50/p95/p99) and the engine time of the same work."""
    import numpy as np
    import torch
    from tqdm import tqdm

    from arvae_live.client import DaemonClient
    from arvae_live.core.representation import Note, notes_to_tokens
    from arvae_live.engine import LiveModel
    from arvae_live.model_store import resolve_model

    if open_loop and port is None:
        raise click.ClickException("--open-loop times the engine only in-process; the daemon always runs closed loop")
    torch.set_num_threads(threads)
    model_path = resolve_model(model)
    lm = LiveModel.from_checkpoint(model_path, device=device)
    notes, length = bench_clip()
    rng = np.random.default_rng(0)
    total = warmup + n_requests
    plans = {v: [{a: float(rng.uniform()) for a in ATTRS if a in lm.attribute_names} for _ in range(total)]
             for v in variations}  # fmt: skip

    def clip_for(i: int) -> list[Note]:
        if not vary_clip:
            return notes
        k = i % len(notes)  # one note moved by 1..11 semitones: a different clip for every request in a run
        n = notes[k]
        return [*notes[:k], Note(n.pitch + 1 + (i // len(notes)) % 11, n.start_beats, n.dur_beats, n.velocity),
                *notes[k + 1:]]  # fmt: skip

    own_daemon = port is None
    results = {"model": str(model_path), "device": lm.device.type, "threads": threads, "budget_ms": budget_ms,
               "vary_clip": vary_clip, "n_requests": n_requests, "runs": []}  # fmt: skip
    click.echo(
        f"model {lm.model_id} ({model_path}), hidden {lm.model.config.hidden_dim}, latent {lm.latent_dim}; "
        f"device {lm.device.type}, {threads} thread(s), budget {budget_ms:g} ms; "
        f"8-bar clip ({len(notes)} notes), {len(ATTRS)} targets, "
        f"{'new clip every request' if vary_clip else 'same clip, new targets every request'}"
    )
    for v in variations:
        # A fresh daemon per setting, so its own engine-time percentiles (/arvae/status) cover this run only.
        proc = None
        if own_daemon:
            proc, port = _start_daemon(model_path, device, threads, budget_ms)
        try:
            with DaemonClient(port, timeout_sec=30) as client:
                client.upload(notes, length)
                rt, daemon_ms, engine = [], [], []
                for i in tqdm(range(total), desc=f"round trip, {v} variation(s)", leave=False):
                    if vary_clip:
                        client.upload(clip_for(i), length)
                    start = time.perf_counter()
                    replies = client.regen(targets=plans[v][i], variations=v, seed=i)
                    elapsed = (time.perf_counter() - start) * 1e3
                    if i >= warmup:
                        rt.append(elapsed)
                        daemon_ms.append(replies[-1].args[2])
                status = client.request("/arvae/status")[0].args
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
        for i in tqdm(range(total), desc=f"engine, {v} variation(s)", leave=False):
            tokens, _ = notes_to_tokens(clip_for(i), 8, lm.vocab)
            res = lm.regenerate(tokens, plans[v][i], v, seed=i, closed_loop=not open_loop, budget_ms=budget_ms or None)
            if i >= warmup:
                engine.append(res.engine_ms)
        p_rt, p_engine, p_daemon = _percentiles(rt), _percentiles(engine), _percentiles(daemon_ms)
        run = {"variations": v, "round_trip_ms": p_rt, "engine_ms": p_engine, "daemon_request_ms": p_daemon,
               "daemon_engine_p50_ms": status[9], "overhead_p50_ms": p_rt[0] - p_engine[0]}  # fmt: skip
        results["runs"].append(run)
        click.echo(
            f"{v:>2} variation(s): round trip p50 {p_rt[0]:6.2f}  p95 {p_rt[1]:6.2f}  p99 {p_rt[2]:6.2f} ms | "
            f"engine p50 {p_engine[0]:6.2f}  p95 {p_engine[1]:6.2f}  p99 {p_engine[2]:6.2f} ms | "
            f"overhead p50 {run['overhead_p50_ms']:5.2f} ms\n"
            f"    inside the daemon: datagram in -> last reply out p50 {p_daemon[0]:6.2f} ms, "
            f"engine p50 {status[9]:6.2f} ms"
        )
    if out is not None:
        from arvae_live.core.atomic import write_atomic

        write_atomic(out, json.dumps(results, indent=2).encode())
