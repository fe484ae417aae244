"""What a performer hears: steering tunes that no model was trained on, through the engine the daemon runs.

The held-out collection is Aird's Airs (music21's ``airdsAirs``: Scottish and Irish airs, marches and dances), which
no bundled model and no training preset reads (training/corpora.py, HELD_OUT_FOLDERS), in the meters of the model's
grid: its 4/4, 2/2 and 2/4 tunes for a simple model (`arvae-train prepare --dataset airds`), its 3/4 tunes for a
triple one (`--dataset airds-triple`), its 6/8 and 12/8 tunes for a compound one (`--dataset airds-compound`). Each
clip is the first 8 measures of one tune (8 bars of 3/4; 16 bars of 6/8). Conditions, each at the daemon's budget:

  free     every dial left where the input is (nothing asked);
  one      one dial moved +0.3 (normalised, clipped to 1), the others held at the input's values; per attribute;
  joint    every dial set at once to the values of a real bar of another tune (feasible by construction).

Per condition it reports, over all bars: the target error (mean |achieved - target| of the moved dials, normalised,
with its 90th percentile per bar), the drift of held dials, notes in key (output onsets whose pitch class is in the
input's Krumhansl-Kessler key's diatonic scale; the input's own rate beside it), notes kept (input onsets that come
back with the same pitch on the same tick), bar lines with a leap over an octave (output against input), and the
engine time per 8-bar request. With --daemon it also measures round trips through a real `arvae-live serve`: a clip
not seen before (upload + regen) and a dial move on a cached clip. `--encoder full` encodes with the model's GRU
encoder where the checkpoint also has a distilled one (the default uses it, as serve does).

    python benchmarks/performer_control.py --model checkpoints/general-arvae.pt --clips 64
    python benchmarks/performer_control.py --model checkpoints/general-arvae.pt --clips 64 --budget-ms 0 --daemon
    python benchmarks/performer_control.py --model checkpoints/triple-arvae.pt --clips 32
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from arvae_live.core.key import estimate_key, in_scale
from arvae_live.core.representation import FIRST_PITCH_TOKEN, tokens_to_note_arrays
from arvae_live.engine import LiveModel

BARS = 8
MOVE = 0.3  # how far "one dial moved" moves it, normalised


def held_out_clips(lm: LiveModel, n_clips: int) -> list[np.ndarray]:
    """The first BARS measures of each held-out tune (in the meters of the model's grid) that has that many, at most
    n_clips of them."""
    from training.corpora import OOD_DATASETS
    from training.data import load_dataset

    ds = load_dataset(OOD_DATASETS[lm.grid.name], vocab=lm.vocab, progress=False)
    clips = []
    for piece in np.unique(ds.piece):
        rows = ds.tokens[ds.piece == piece]
        if len(rows) >= BARS:
            clips.append(rows[:BARS])
        if len(clips) == n_clips:
            break
    return clips


def onset_pitches(tokens: np.ndarray, lm: LiveModel) -> np.ndarray:
    """MIDI pitch of every onset of (M, ticks) tokens, in order."""
    flat = tokens.reshape(-1)
    return flat[flat >= FIRST_PITCH_TOKEN] - FIRST_PITCH_TOKEN + lm.vocab.pitch_low


def octave_leaps(tokens: np.ndarray) -> tuple[int, int]:
    """(measure lines crossed by a leap over 12 semitones, measure lines with a note on both sides) of (M, ticks)
    tokens."""
    leaps = lines = 0
    last = None
    for bar in tokens:
        onsets = bar[bar >= FIRST_PITCH_TOKEN]
        if len(onsets):
            if last is not None:
                lines += 1
                leaps += int(abs(int(onsets[0]) - last) > 12)
            last = int(onsets[-1])
    return leaps, lines


class Tally:
    """Sums over bars and clips for one condition."""

    def __init__(self) -> None:
        self.err: list[float] = []  # per bar: mean |achieved - target| over the moved dials
        self.drift: list[float] = []  # per bar: mean |achieved - asked| over the held dials
        self.in_key = [0, 0]  # output onsets in key, output onsets
        self.kept = [0, 0]  # input onsets kept, input onsets
        self.leaps = [0, 0]
        self.ms: list[float] = []

    def add(self, lm, clip, key, res, moved: list[str]) -> None:
        out = res.tokens[0]
        pitches = onset_pitches(out, lm)
        self.in_key[0] += int(in_scale(pitches, key.pitch_classes).sum())
        self.in_key[1] += len(pitches)
        onsets = clip >= FIRST_PITCH_TOKEN
        self.kept[0] += int((out[onsets] == clip[onsets]).sum())
        self.kept[1] += int(onsets.sum())
        leaps, lines = octave_leaps(out)
        self.leaps[0] += leaps
        self.leaps[1] += lines
        held = [n for n in res.asked if n not in moved]
        if moved:
            self.err += np.mean([np.abs(res.achieved[n][0] - res.asked[n]) for n in moved], axis=0).tolist()
        if held:
            self.drift += np.mean([np.abs(res.achieved[n][0] - res.asked[n]) for n in held], axis=0).tolist()
        self.ms.append(res.engine_ms)

    def row(self) -> dict:
        def frac(pair):
            return pair[0] / max(pair[1], 1)

        return {
            "target_err": float(np.mean(self.err)) if self.err else None,
            "target_err_p90": float(np.percentile(self.err, 90)) if self.err else None,
            "held_drift": float(np.mean(self.drift)) if self.drift else None,
            "in_key": frac(self.in_key),
            "kept": frac(self.kept),
            "leap_rate": frac(self.leaps),
            "engine_ms_p50": float(np.percentile(self.ms, 50)),
            "engine_ms_p99": float(np.percentile(self.ms, 99)),
        }


def run_conditions(lm: LiveModel, clips: list[np.ndarray], budget_ms: float | None, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    names = [a.name for a in lm.attributes if a.latent_dim is not None]
    tallies = {"free": Tally(), "joint": Tally(), **{f"one:{n}": Tally() for n in names}}
    inputs = Tally()
    values = [lm.measure_attributes(c) for c in clips]
    for i, clip in enumerate(tqdm(clips, desc="clips", leave=False)):
        notes_p, _, notes_d = tokens_to_note_arrays(clip, lm.vocab, lm.grid)
        key = estimate_key(notes_p, notes_d)
        # the input against itself: its own rate of notes in key and of bar-line leaps
        inputs.in_key[0] += int(in_scale(notes_p, key.pitch_classes).sum())
        inputs.in_key[1] += len(notes_p)
        leaps, lines = octave_leaps(clip)
        inputs.leaps[0] += leaps
        inputs.leaps[1] += lines
        res = lm.regenerate(clip, {}, seed=i, budget_ms=budget_ms)
        tallies["free"].add(lm, clip, key, res, [])
        for n in names:
            target = np.clip(values[i][n] + MOVE, 0.0, 1.0)
            res = lm.regenerate(clip, {n: target}, seed=i, budget_ms=budget_ms)
            tallies[f"one:{n}"].add(lm, clip, key, res, [n])
        other = values[(i + 1 + rng.integers(len(clips) - 1)) % len(clips)]  # another tune's bars
        bars = rng.integers(BARS, size=BARS)
        joint = {n: other[n][bars] for n in names}
        res = lm.regenerate(clip, joint, seed=i, budget_ms=budget_ms)
        tallies["joint"].add(lm, clip, key, res, names)
    rows = {k: t.row() for k, t in tallies.items()}
    rows["input"] = {
        "in_key": inputs.in_key[0] / max(inputs.in_key[1], 1),
        "leap_rate": inputs.leaps[0] / max(inputs.leaps[1], 1),
    }
    return rows


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unseen_clips(clips: list[np.ndarray], n: int, vocab_size: int) -> list[np.ndarray]:
    """n distinct clips (each held-out clip in each of its in-range transpositions, shuffled), so that every
    request brings the daemon a clip it has not encoded yet."""
    pool = []
    for clip in clips:
        pitched = clip >= FIRST_PITCH_TOKEN
        top = int(clip.max()) if pitched.any() else FIRST_PITCH_TOKEN
        low = int(clip[pitched].min()) if pitched.any() else FIRST_PITCH_TOKEN
        for shift in range(FIRST_PITCH_TOKEN - low, vocab_size - top):
            pool.append(np.where(pitched, clip + shift, clip))
    order = np.random.default_rng(0).permutation(len(pool))
    if len(pool) < n:
        raise SystemExit(f"only {len(pool)} distinct clips for {n} round trips; use fewer --repeats")
    return [pool[i] for i in order[:n]]


def daemon_round_trips(ckpt: str, clips: list[np.ndarray], lm: LiveModel, repeats: int, encoder: str) -> dict:
    """Round trips through `python -m arvae_live serve`: new clips (upload + regen) and dial moves on a cached one."""
    from arvae_live.client import DaemonClient
    from arvae_live.core.representation import tokens_to_notes

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "arvae_live", "serve", "--model", ckpt, "--port", str(port), "--encoder", encoder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                client = DaemonClient(port, timeout_sec=2.0)
                break
            except TimeoutError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    err = proc.stderr.read() if proc.poll() is not None else ""
                    raise SystemExit(f"the daemon did not answer: {err}") from None
        name = next(a.name for a in lm.attributes if a.latent_dim is not None)
        meter = next(iter(lm.grid.meters))  # the grid's first meter: 4/4, 3/4 or 12/8
        num, den = map(int, meter.split("/"))
        new, cached = [], []
        for r, clip in enumerate(unseen_clips(clips, repeats, lm.vocab.size)):
            notes = tokens_to_notes(clip, lm.vocab, grid=lm.grid)
            t0 = time.perf_counter()
            client.upload(notes, BARS * lm.grid.measure_quarters, slot=0, meter=None if meter == "4/4" else (num, den))
            client.regen(slot=0, targets={name: 0.5}, seed=r)
            new.append(1e3 * (time.perf_counter() - t0))
            t0 = time.perf_counter()
            client.regen(slot=0, targets={name: 0.2 + 0.6 * ((r * 7) % 10) / 10}, seed=r)
            cached.append(1e3 * (time.perf_counter() - t0))
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    pct = lambda xs, q: float(np.percentile(xs, q))  # noqa: E731
    return {
        "new_clip_ms": {"p50": pct(new, 50), "p99": pct(new, 99)},
        "cached_clip_ms": {"p50": pct(cached, 50), "p99": pct(cached, 99)},
        "repeats": repeats,
    }


def print_rows(rows: dict, label: str) -> None:
    print(f"\n{label}")
    print(
        f"{'condition':<26} {'target err':>10} {'p90':>6} {'held drift':>10} {'in key':>7} {'kept':>6} "
        f"{'leaps':>6} {'engine p50':>10}"
    )
    fmt = lambda v, w, p=3: f"{v:>{w}.{p}f}" if v is not None else f"{'-':>{w}}"  # noqa: E731
    for k, r in rows.items():
        if k == "input":
            continue
        print(
            f"{k:<26} {fmt(r['target_err'], 10)} {fmt(r['target_err_p90'], 6, 2)} {fmt(r['held_drift'], 10)} "
            f"{r['in_key']:>7.1%} {r['kept']:>6.1%} {r['leap_rate']:>6.1%} {r['engine_ms_p50']:>8.1f}ms"
        )
    print(
        f"{'input':<26} {'':>10} {'':>6} {'':>10} {rows['input']['in_key']:>7.1%} {'':>6} "
        f"{rows['input']['leap_rate']:>6.1%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="checkpoints/general-arvae.pt", help="checkpoint path")
    ap.add_argument("--clips", type=int, default=64, help="held-out tunes (8 bars each)")
    ap.add_argument("--budget-ms", type=float, default=8.0, help="engine budget per request (0: none); daemon: 8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--daemon", action="store_true", help="also measure round trips through a real daemon")
    ap.add_argument("--repeats", type=int, default=200, help="round trips per kind with --daemon")
    ap.add_argument("--encoder", choices=["auto", "full"], default="auto", help="as serve --encoder")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lm = LiveModel.from_checkpoint(args.model, encoder=args.encoder)
    lm.warm_up()
    clips = held_out_clips(lm, args.clips)
    budget = args.budget_ms or None
    rows = run_conditions(lm, clips, budget, args.seed)
    meters = ", ".join(lm.grid.meters)
    print_rows(
        rows,
        f"{lm.model_id} on {len(clips)} Aird's Airs tunes in {meters} x {BARS} measures, budget {budget or 'none'} ms, "
        f"{lm.encoder_name} encoder",
    )
    report = {
        "model": args.model,
        "held_out": "airdsAirs",
        "grid": lm.grid.name,
        "meters": list(lm.grid.meters),
        "clips": len(clips),
        "budget_ms": budget,
        "encoder": lm.encoder_name,
        "rows": rows,
    }
    if args.daemon:
        report["round_trip"] = daemon_round_trips(args.model, clips, lm, args.repeats, args.encoder)
        rt = report["round_trip"]
        print(
            f"round trip, new clip: p50 {rt['new_clip_ms']['p50']:.1f} ms, p99 {rt['new_clip_ms']['p99']:.1f} ms; "
            f"dial move on a cached clip: p50 {rt['cached_clip_ms']['p50']:.1f} ms, "
            f"p99 {rt['cached_clip_ms']['p99']:.1f} ms"
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
