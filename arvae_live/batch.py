"""Headless regeneration of MIDI files: inputs, output names, one file's regeneration, the run, the report.

One input file gives one output file per variation, ``OUTDIR/<relative folder>/<stem>.v<k><suffix>`` (k = 1..V; the
relative folder is the file's place under a folder given as input, empty for a file given directly). An output
appears whole or not at all (core.atomic.write_atomic), so a file whose outputs all exist is done, and a rerun skips
it: that is how an interrupted run resumes.

A failing file (corrupt MIDI, no melody, unsupported meter, ...) becomes a "failed" result with its one-line error;
the other files go on. Work is spread over processes with `--jobs N` (concurrent.futures), and over ranks under
torchrun through torch.distributed (rank 0 lists the inputs and broadcasts them, each rank takes every
world_size-th file, rank 0 gathers the results and writes the report).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arvae_live.clip_report import warning_dicts
from arvae_live.core.atomic import write_atomic
from arvae_live.core.notes import carried_notes
from arvae_live.core.representation import HOLD, Note, Vocabulary, notes_to_tokens
from arvae_live.errors import ArvaeError, ConfigError, UnknownAttributeError
from arvae_live.midi_files import MidiClip, check_output, midi_bytes, parse_bars, read_midi, splice_notes

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")
WRITE_THREADS = 8  # output files written at once (each waits on fsync, not on the CPU)


# ---- inputs, options and output names ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One input file and the outputs it makes.

    Attributes:
        source: the input MIDI file.
        outputs: one path per variation, in variation order.
    """

    source: Path
    outputs: tuple[Path, ...]


def collect_jobs(inputs: Sequence[Path], out_dir: Path, variations: int) -> list[Job]:
    """The jobs for files and folders (searched recursively for *.mid / *.midi), in a stable order.

    Raises:
        ConfigError: an input that does not exist, or two inputs that would write the same output.
    """
    jobs: list[Job] = []
    out_root = out_dir.resolve()
    for item in inputs:
        if item.is_dir():
            found = sorted(
                p
                for p in item.rglob("*")
                if p.suffix.lower() in MIDI_SUFFIXES and p.is_file() and not p.resolve().is_relative_to(out_root)
            )  # outputs inside an input folder are not inputs, so a rerun does not regenerate them
            pairs = [(p, p.parent.relative_to(item)) for p in found]
        elif item.exists():
            pairs = [(item, Path())]  # a file given by name is read even with another suffix; reading checks it
        else:
            raise ConfigError(f"{item}: no such file or folder")
        for src, rel in pairs:
            outs = tuple(out_dir / rel / f"{src.stem}.v{k}{src.suffix or '.mid'}" for k in range(1, variations + 1))
            jobs.append(Job(src, outs))
    seen: dict[Path, Path] = {}
    for job in jobs:
        first = seen.setdefault(job.outputs[0], job.source)
        if first != job.source:
            raise ConfigError(f"{first} and {job.source} would both write {job.outputs[0]}; rename one of them")
    return jobs


def parse_assignments(items: Iterable[str], option: str, lo: float, hi: float) -> dict[str, float]:
    """{name: value} from NAME=VALUE strings, values within lo..hi.

    Raises:
        ConfigError: malformed item, a value outside lo..hi or not a number, a name given twice.
    """
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not name or not math.isfinite(value):
            raise ConfigError(f"{option} {item!r}: expected NAME=NUMBER, e.g. {option} note_density=0.5")
        if not lo <= value <= hi:
            raise ConfigError(f"{option} {item!r}: value must be in range {lo:g}..{hi:g}")
        if name in out:
            raise ConfigError(f"{option}: {name} given twice")
        out[name] = value
    return out


@dataclass(frozen=True)
class RegenOptions:
    """What to do with each file.

    Attributes:
        targets: {attribute: normalised 0..1} for every selected measure (--set).
        shifts: {attribute: -1..1} added to each selected measure's own normalised value, clipped to 0..1 (--shift).
        bars: the bar selection "A:B" (1-based, inclusive) or None for all bars.
        track: the melody track (0-based) or None to choose it.
        variations: outputs per input, >= 1.
        temperature: 0 for argmax decoding, > 0 samples tokens.
        seed: random seed; each file uses the same seed, so a file's outputs do not depend on the others.
        overwrite: regenerate files whose outputs already exist.
    """

    targets: dict[str, float] = field(default_factory=dict)
    shifts: dict[str, float] = field(default_factory=dict)
    bars: str | None = None
    track: int | None = None
    variations: int = 1
    temperature: float = 0.0
    seed: int = 0
    overwrite: bool = False


def check_options(options: RegenOptions, attribute_names: Sequence[str]) -> None:
    """Refuse, before any file is read, attribute names the model lacks and names both set and shifted.

    Raises:
        UnknownAttributeError: naming the attribute and the model's attributes.
        ConfigError: an attribute both set and shifted.
    """
    for option, names in (("--set", options.targets), ("--shift", options.shifts)):
        for name in names:
            if name not in attribute_names:
                known = ", ".join(attribute_names)
                raise UnknownAttributeError(f"{option} {name}: the model has no such attribute; it has {known}")
    both = sorted(set(options.targets) & set(options.shifts))
    if both:
        raise ConfigError(f"{', '.join(both)} given to both --set and --shift; use one of them per attribute")


# ---- one file ------------------------------------------------------------------------------------------------------


@dataclass
class FileResult:
    """The outcome for one input file; plain data so it crosses process and rank boundaries.

    Attributes:
        source: the input path.
        status: "ok", "skipped" (outputs already there) or "failed".
        outputs: the files written (or found, when skipped).
        error: the one-line error when failed.
        track, channel: the melody part (0-based track, 1-based channel) when read.
        bars: [first, last] selected bar numbers (1-based, inclusive) when read.
        measures: per selected measure: {"bar", "before": {attr: v}, "asked": {attr: v}, "achieved": [{attr: v}
            per variation]}, all normalised 0..1 over the model's ranges.
        warnings: [{"kind", "bar", "count", "message"}] changes made to fit the input on the grid.
        engine_ms: time in the engine; total_ms: time for the whole file (read, engine, write).
    """

    source: str
    status: str
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    track: int | None = None
    channel: int | None = None
    bars: list[int] | None = None
    measures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    engine_ms: float = 0.0
    total_ms: float = 0.0

    @property
    def n_measures(self) -> int:
        return len(self.measures)


@dataclass
class _Prepared:
    """A file read and put on the grid, waiting for its group's engine call."""

    job: Job
    clip: MidiClip
    start: int  # first selected measure, 0-based
    stop: int  # one past the last selected measure
    before: dict[str, np.ndarray]  # {attribute: (M,)} normalised values of the selected input measures
    warnings: list[dict[str, Any]]
    t0: float  # when work on the file began (perf_counter seconds)


def _failed(job: Job, err: Exception, t0: float) -> FileResult:
    if isinstance(err, ArvaeError):
        log.warning("%s", err)
        error = str(err)
    else:  # a bug or an unforeseen file; the batch goes on and the report says so
        log.error("%s: unexpected error", job.source, exc_info=err)
        error = f"{job.source}: unexpected {type(err).__name__}: {err}"
    return FileResult(str(job.source), "failed", error=error, total_ms=(time.perf_counter() - t0) * 1e3)


def _prepare(lm, job: Job, options: RegenOptions) -> tuple[_Prepared, np.ndarray]:
    """Read a file and select its measures; returns the prepared file and its selected tokens (M, 24)."""
    t0 = time.perf_counter()
    clip = read_midi(job.source, track=options.track)
    start, stop = parse_bars(options.bars, clip.n_measures)
    tokens, adjustments = notes_to_tokens(clip.notes, clip.n_measures, lm.vocab)
    window = tokens[start:stop]
    return _Prepared(job, clip, start, stop, lm.measure_attributes(window), warning_dicts(adjustments), t0), window


def melody_with(clip: MidiClip, tokens: np.ndarray, vocab: Vocabulary, start: int, stop: int) -> list[Note]:
    """The clip's melody with measures start..stop-1 replaced by the notes of tokens (M = stop - start, 24).

    New notes take the velocity of the nearest input note; notes outside the measures stay as they are.
    """
    # Leading measures of HOLD read as silence, so the new notes come out at their place in the file.
    padded = np.concatenate([np.full((start, tokens.shape[1]), HOLD, dtype=np.int64), tokens])
    return splice_notes(clip.notes, carried_notes(padded, vocab, clip.notes), start, stop)


def regenerate_group(lm, jobs: Sequence[Job], options: RegenOptions) -> list[FileResult]:
    """Regenerate a group of files with one engine call over all their selected measures.

    Batching across files is what lets a folder of short melodies run at the engine's batched speed: a chorale has
    ~10 measures, and the engine does many more measures per second in batches of hundreds. The measures of a
    file do not influence another file's (the model works measure by measure), except through the shared random
    draws of variations >= 2, which depend on the group; groups are formed the same way for any --jobs or ranks.

    Args:
        lm: an engine.LiveModel.
        jobs: the files of the group.
        options: the targets and the rest.

    Returns:
        One result per job, in order. Files whose outputs all exist are skipped (unless options.overwrite). Any
        error in one file (bad file, failed write) becomes a "failed" result and the others go on.
    """
    results: list[FileResult | None] = [None] * len(jobs)
    ready: list[tuple[int, _Prepared]] = []
    windows = []
    for i, job in enumerate(jobs):
        if not options.overwrite and all(p.exists() for p in job.outputs):
            results[i] = FileResult(str(job.source), "skipped", outputs=[str(p) for p in job.outputs])
            continue
        t0 = time.perf_counter()
        try:
            prep, window = _prepare(lm, job, options)
        except Exception as err:
            results[i] = _failed(job, err, t0)
            continue
        ready.append((i, prep))
        windows.append(window)
    if not ready:
        return results
    # One target array over all measures of the group: --set values everywhere, --shift from each measure's own.
    sizes = [p.stop - p.start for _, p in ready]
    targets: dict[str, float | np.ndarray] = dict(options.targets)
    for name, delta in options.shifts.items():
        targets[name] = np.clip(np.concatenate([p.before[name] for _, p in ready]) + delta, 0.0, 1.0)
    res = lm.regenerate(
        np.concatenate(windows), targets, variations=options.variations, temperature=options.temperature,
        seed=options.seed,
    )  # fmt: skip
    names = lm.attribute_names
    # Outputs are written by a few threads: each write ends in fsync + rename, which wait on the disk with the GIL
    # released, so concurrent writes overlap (the file system commits them together) and overlap the encoding of
    # the next files. Ten-odd files a second, one after another, spent more time in fsync than in the engine.
    writer = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="arvae-write")
    writes = []
    try:
        first = 0
        for (i, p), size in zip(ready, sizes):
            rows = slice(first, first + size)
            first += size
            try:
                futures = []
                for v, out in enumerate(p.job.outputs):
                    path = check_output(p.clip, out)
                    data = midi_bytes(p.clip, melody_with(p.clip, res.tokens[v, rows], lm.vocab, p.start, p.stop))
                    futures.append(writer.submit(write_atomic, path, data))  # only the system calls leave this thread
            except Exception as err:
                results[i] = _failed(p.job, err, p.t0)
                continue
            writes.append((i, p, rows, size, futures))
        for i, p, rows, size, futures in writes:
            try:
                for fut in futures:
                    fut.result()
            except Exception as err:
                results[i] = _failed(p.job, err, p.t0)
                continue
            asked = {k: res.asked[k][rows] for k in names}
            achieved = {k: res.achieved[k][:, rows] for k in names}
            results[i] = FileResult(
                source=str(p.job.source),
                status="ok",
                outputs=[str(o) for o in p.job.outputs],
                track=p.clip.track,
                channel=p.clip.channel + 1,
                bars=[p.start + 1, p.stop],
                measures=[
                    {
                        "bar": p.start + m + 1,
                        "before": {k: float(p.before[k][m]) for k in names},
                        "asked": {k: float(asked[k][m]) for k in names},
                        "achieved": [{k: float(achieved[k][v, m]) for k in names} for v in range(options.variations)],
                    }
                    for m in range(size)
                ],
                warnings=p.warnings,
                engine_ms=res.engine_ms * size / len(res.tokens[0]),  # the group's engine time, shared by measures
                total_ms=(time.perf_counter() - p.t0) * 1e3,
            )
    finally:
        # On Ctrl-C, writes not begun are cancelled and those under way finish: every output is whole or absent.
        writer.shutdown(wait=True, cancel_futures=True)
    return results


# ---- the run -------------------------------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    """The results in job order (jobs not reached are missing) and whether Ctrl-C cut the run short."""

    results: list[FileResult]
    interrupted: bool = False


_worker_model = None  # the LiveModel of a --jobs worker process, loaded once by _init_worker


def _init_worker(model_path: str, device: str, threads: int) -> None:
    import torch

    from arvae_live.engine import LiveModel

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; workers finish their file
    torch.set_num_threads(threads)
    global _worker_model
    _worker_model = LiveModel.from_checkpoint(model_path, device=device)


def _work(group: Sequence[Job], options: RegenOptions) -> list[FileResult]:
    return regenerate_group(_worker_model, group, options)


def make_groups(jobs: Sequence[Job], batch_files: int) -> list[list[Job]]:
    """Consecutive runs of batch_files jobs: the units of work, each one engine call."""
    return [list(jobs[i : i + batch_files]) for i in range(0, len(jobs), batch_files)]


def run_groups(
    groups: Sequence[Sequence[Job]],
    options: RegenOptions,
    lm=None,
    model_path: Path | None = None,
    device: str = "cpu",
    n_jobs: int = 1,
    on_result: Callable[[FileResult], None] | None = None,
) -> RunOutcome:
    """Regenerate every group, in this process (n_jobs == 1) or in n_jobs worker processes (each loads the model).

    Ctrl-C stops cleanly: no new group starts, and groups already in worker processes finish (their outputs are
    whole); in this process the group in progress stops, and outputs already written stay whole. The outcome says
    it was interrupted; a rerun skips the files whose outputs exist.

    Args:
        groups: the files, in groups of one engine call each (make_groups).
        options: what to do with each file.
        lm: the loaded LiveModel for n_jobs == 1 (else loaded from model_path).
        model_path: the checkpoint the workers load.
        device: torch device of the model.
        n_jobs: worker processes, >= 1.
        on_result: called with each file's result as it comes (progress bars).

    Returns:
        The results in the order of the groups (groups not reached are missing).
    """
    results: dict[int, list[FileResult]] = {}

    def done(g: int, rs: list[FileResult]) -> None:
        results[g] = rs
        for r in rs:
            if on_result is not None:
                on_result(r)

    interrupted = False
    if n_jobs <= 1 or len(groups) <= 1:
        if lm is None:
            from arvae_live.engine import LiveModel

            lm = LiveModel.from_checkpoint(model_path, device=device)
        try:
            for g, group in enumerate(groups):
                done(g, regenerate_group(lm, group, options))
        except KeyboardInterrupt:
            interrupted = True
    else:
        import multiprocessing

        threads = max(1, (os.cpu_count() or 1) // n_jobs)
        pool = ProcessPoolExecutor(
            max_workers=n_jobs,
            mp_context=multiprocessing.get_context("spawn"),  # fork after torch has started threads can deadlock
            initializer=_init_worker,
            initargs=(str(model_path), device, threads),
        )
        pending = {pool.submit(_work, group, options): g for g, group in enumerate(groups)}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    done(pending.pop(fut), fut.result())
        except KeyboardInterrupt:
            interrupted = True
            for fut in pending:
                fut.cancel()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return RunOutcome([r for g in sorted(results) for r in results[g]], interrupted)


# ---- torch.distributed ---------------------------------------------------------------------------------------------


def distributed_world() -> tuple[int, int]:
    """(rank, world_size) from torchrun's environment; (0, 1) outside torchrun."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def broadcast_jobs(jobs: list[Job] | None, rank: int) -> list[Job]:
    """Rank 0's job list on every rank (each then takes every world_size-th group from its rank).

    Requires an initialised process group. Only rank 0 lists the inputs, so all ranks agree on one list even when
    they see the file system at different moments.
    """
    import torch.distributed as dist

    box = [jobs if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_results(results: list[FileResult], interrupted: bool, rank: int, world_size: int) -> RunOutcome | None:
    """Every rank's results on rank 0 (None on the other ranks). Requires an initialised process group."""
    import torch.distributed as dist

    box = [None] * world_size if rank == 0 else None
    dist.gather_object((results, interrupted), box, dst=0)
    if rank != 0:
        return None
    merged = [r for part, _ in box for r in part]
    return RunOutcome(sorted(merged, key=lambda r: r.source), any(flag for _, flag in box))


# ---- the report ----------------------------------------------------------------------------------------------------


def summary(results: Sequence[FileResult], seconds: float) -> dict[str, Any]:
    """Counts and throughput: files by status, measures regenerated, measures per second."""
    n_measures = sum(r.n_measures for r in results)
    return {
        "files": len(results),
        "ok": sum(r.status == "ok" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "measures": n_measures,
        "seconds": round(seconds, 3),
        "measures_per_s": round(n_measures / seconds, 1) if seconds > 0 else None,
    }


CSV_COLUMNS = ("source", "status", "error", "output", "variation", "bar", "attribute", "before", "asked", "achieved",
               "warnings")  # fmt: skip


def report_bytes(path: Path, header: dict[str, Any], results: Sequence[FileResult]) -> bytes:
    """The report as JSON, or as CSV when path ends in .csv (one row per file, variation, bar and attribute)."""
    if path.suffix.lower() != ".csv":
        doc = {**header, "files": [asdict(r) for r in results]}
        return (json.dumps(doc, indent=2) + "\n").encode()
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in results:
        if r.status != "ok":
            w.writerow({"source": r.source, "status": r.status, "error": r.error or ""})
            continue
        by_bar: dict[int, list[str]] = {}
        for warn in r.warnings:
            by_bar.setdefault(warn["bar"], []).append(warn["message"])
        for m in r.measures:
            for v, achieved in enumerate(m["achieved"]):
                for name, value in achieved.items():
                    w.writerow(
                        {
                            "source": r.source,
                            "status": r.status,
                            "output": r.outputs[v],
                            "variation": v + 1,
                            "bar": m["bar"],
                            "attribute": name,
                            "before": f"{m['before'][name]:.6g}",
                            "asked": f"{m['asked'][name]:.6g}",
                            "achieved": f"{value:.6g}",
                            "warnings": "; ".join(by_bar.get(m["bar"], [])),
                        }
                    )
    return buf.getvalue().encode()


def write_report(path: Path, header: dict[str, Any], results: Sequence[FileResult]) -> Path:
    """Write the report atomically; JSON or CSV by the path's extension."""
    return write_atomic(path, report_bytes(path, header, results))
