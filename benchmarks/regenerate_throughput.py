"""Throughput of `arvae-live regenerate` on a folder of real melodies, against the engine alone on the same measures.

The melodies are Bach chorale sopranos in 4/4 written to MIDI from the music21 corpus (it ships with the package;
nothing is downloaded), cached in --data-dir. Two figures, in measures per second:

- engine: LiveModel.regenerate on the same measures, in the same groups (one call per --batch-files files) with the
  same targets, the files already read: the engine's raw batched throughput;
- regenerate: the batch pipeline end to end (read and parse each MIDI file, grid, engine, notes, splice, write the
  output atomically), as `arvae-live regenerate` runs it, without model loading and process start.

The overhead of file handling and I/O is 1 - regenerate / engine; the bar is <= 20%. Repeats alternate the two (in
turn first) and the medians are reported, from wall time and from this process's CPU time: on a machine shared
with other work, wall time swings with the load (the load average is printed), and CPU time shows the work done.

Without --model the script builds an untrained paper-size checkpoint (embedding 10, hidden 128, 2 layers, latent
32): the engine's cost per measure depends on the size, not on training, although a trained model may need fewer
closed-loop rounds.

    python benchmarks/regenerate_throughput.py --n-files 40 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from arvae_live import batch, batch_run
from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, get_attribute
from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.representation import Vocabulary
from arvae_live.engine import LiveModel
from arvae_live.errors import MidiFileError
from arvae_live.midi_files import clip_tokens, read_midi


def write_chorales(folder: Path, n_files: int) -> list[Path]:
    """The first n_files Bach chorale sopranos in 4/4 from the music21 corpus, as MIDI files (cached)."""
    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("*.mid"))
    if len(have) >= n_files:  # written by an earlier run, already checked
        return have[:n_files]
    from music21 import corpus

    written = []
    for path in corpus.getComposer("bach"):
        if len(written) >= n_files:
            break
        out = folder / f"{Path(path).stem}.mid"
        if not out.exists():
            try:
                score = corpus.parse(path)
            except Exception:  # a few corpus files are not chorales or do not parse; not our concern here
                continue
            if not score.parts:
                continue
            soprano = score.parts[0]
            meters = {ts.ratioString for ts in soprano.recurse().getElementsByClass("TimeSignature")}
            if meters != {"4/4"}:
                continue
            soprano.write("midi", fp=str(out))
        try:
            read_midi(out)
        except MidiFileError:  # e.g. a meter change off our barlines after a pickup: regenerate would refuse it
            out.unlink()
            continue
        written.append(out)
    return written


def paper_size_checkpoint(path: Path) -> Path:
    """An untrained paper-size model with the paper's four attributes and a linear calibration."""
    vocab = Vocabulary()
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=vocab.size)
    specs = []
    for dim, name in enumerate(PAPER_ATTRIBUTES):
        a = get_attribute(name)
        specs.append(AttributeSpec(name, dim, a.raw_low, a.raw_high, tuple(np.linspace(-3, 3, 7)),
                                   tuple(np.linspace(a.raw_low, a.raw_high, 7))))  # fmt: skip
    ckpt = Checkpoint("inference", config, specs, vocab, MeasureVAE(config).state_dict(), {}, {"preset": "untrained"})
    return save_checkpoint(ckpt, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="checkpoint; default: an untrained paper-size model")
    ap.add_argument("--n-files", type=int, default=40)
    ap.add_argument("--batch-files", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", default="note_density=0.5", help="targets as for regenerate --set, comma-separated")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "arvae-bench-chorales")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    files = write_chorales(args.data_dir, args.n_files)
    work = Path(tempfile.mkdtemp(prefix="arvae-bench-"))
    model_path = args.model or paper_size_checkpoint(work / "paper-untrained.pt")
    lm = LiveModel.from_checkpoint(model_path, device=args.device)
    targets = batch.parse_assignments([t for t in args.set.split(",") if t], "--set", 0.0, 1.0)
    options = batch.RegenOptions(targets=targets, overwrite=True)
    batch.check_options(options, lm.attribute_names)
    jobs = batch.collect_jobs(files, work / "out", 1)
    groups = batch_run.make_groups(jobs, args.batch_files)

    # The engine's input: the same measures in the same groups, read once, untimed.
    group_tokens = []
    for group in groups:
        windows = []
        for job in group:
            clip = read_midi(job.source)
            windows.append(clip_tokens(clip, lm.vocab)[0])
        group_tokens.append(np.concatenate(windows))
    n_measures = sum(len(t) for t in group_tokens)

    def run_engine() -> None:
        for tokens in group_tokens:
            lm.regenerate(tokens, targets, seed=0)

    def run_pipeline() -> None:
        outcome = batch_run.run_groups(groups, options, lm=lm)
        assert sum(r.n_measures for r in outcome.results) == n_measures, "the pipeline skipped measures"
        assert all(r.status == "ok" for r in outcome.results), "the pipeline failed on a file"

    def timed(fn) -> tuple[float, float]:
        lm._encode_cache.clear()  # the engine keeps recent encodings; start each run cold, so neither side profits
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - wall, time.process_time() - cpu

    times: dict[str, list[tuple[float, float]]] = {"engine": [], "pipeline": []}
    for r in range(args.repeats):
        for name in ("engine", "pipeline") if r % 2 == 0 else ("pipeline", "engine"):
            times[name].append(timed(run_engine if name == "engine" else run_pipeline))

    model_desc = model_path.name + (" (untrained, paper size)" if args.model is None else "")
    print(
        f"{len(files)} chorale sopranos, {n_measures} measures, groups of {args.batch_files} files, model "
        f"{model_desc}, device {args.device}, {args.threads} threads, targets {args.set}, median of {args.repeats}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for k, clock in enumerate(("wall", "cpu")):
        engine_rate = n_measures / statistics.median(t[k] for t in times["engine"])
        pipeline_rate = n_measures / statistics.median(t[k] for t in times["pipeline"])
        overhead = 1 - pipeline_rate / engine_rate
        verdict = "PASS" if overhead <= 0.20 else "FAIL"
        print(
            f"{clock:>4} time: engine alone {engine_rate:7.1f} measures/s, regenerate pipeline {pipeline_rate:7.1f} "
            f"measures/s, file handling + I/O overhead {100 * overhead:5.1f}% (bar <= 20%: {verdict})"
        )
        runs = {n: ", ".join(f"{t[k]:.2f}" for t in ts) for n, ts in times.items()}
        print(f"           runs (s): engine {runs['engine']}; pipeline {runs['pipeline']}")


if __name__ == "__main__":
    main()
