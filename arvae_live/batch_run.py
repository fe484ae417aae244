"""A `regenerate` run: files in groups over worker processes and torch.distributed ranks, progress, the report.

`run_batch` is the whole run behind `arvae-live regenerate`: under torchrun it sets up the process group (gloo, for
the file list and the results, on CPU and GPU machines alike; each rank's model on cuda:LOCAL_RANK when asked for
auto on a GPU machine), rank 0 lists the inputs, sweeps temporary files a killed run left, and broadcasts the job
list; each rank takes every world_size-th group of `batch_files` files (the same groups for any --jobs and ranks)
and runs them in this process or in `--jobs` worker processes (each loads the model); rank 0 gathers the results
and writes the report. Progress comes per file (`on_result`), from worker processes through a queue.

Models: with --model every file goes to that model, and a file whose meter it does not serve fails in one line
(batch.check_grid). Without it each file goes to the default model of its meter's grid (model_store.
default_model_path: simple 4/4, triple 3/4, compound 12/8 and 6/8): rank 0 reads each file's time signatures once
(`plan_models`), and the files of each model run as a batch of their own, model after model. A file whose grid has
no model fails in one line naming the meters the models there serve; a file whose meter cannot be read goes with
the simple model's files and fails when read, with the reader's message.

The report is written whatever happens once files were tried: at the end, on Ctrl-C (the run stops cleanly and
says so) and when an unforeseen error stops the run (the error is re-raised after the report is written).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import queue as queue_module
import signal
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from arvae_live import batch
from arvae_live.batch import FileResult, Job, RegenOptions, collect_jobs, file_sha256, sweep_temp_files
from arvae_live.clip_report import attribute_scales, musical_value
from arvae_live.core.atomic import write_atomic
from arvae_live.errors import ArvaeError, ConfigError, UnknownAttributeError
from arvae_live.paths import file_kind

log = logging.getLogger(__name__)

OnResult = Callable[[FileResult], None]


@dataclass
class RunOutcome:
    """What a run did.

    Attributes:
        results: one per file tried, in job order (files not reached are missing).
        n_jobs: the files listed (on this rank's side: all of them on rank 0).
        interrupted: Ctrl-C cut the run short.
        summary: counts and throughput (see `summary`), filled at the end of the run.
        report_error: the one-line reason the report could not be written, or None.
        swept: temporary files of a killed run removed before starting.
    """

    results: list[FileResult]
    n_jobs: int = 0
    interrupted: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    report_error: str | None = None
    swept: int = 0


@dataclass(frozen=True)
class BatchRun:
    """The settings of a run (the command's options).

    Attributes:
        inputs: files and folders.
        out_dir: the output folder.
        options: what to do with each file.
        model_path: the checkpoint, or None to pick each file's model by its meter (plan_models).
        jobs: worker processes, >= 1 (1: this process).
        batch_files: files per engine call, >= 1.
        device: torch device ("auto", "cpu", "cuda", "cuda:N").
        report: the report file (JSON, or CSV by its suffix), or None.
    """

    inputs: tuple[Path, ...]
    out_dir: Path
    options: RegenOptions
    model_path: Path | None
    jobs: int = 1
    batch_files: int = 32
    device: str = "auto"
    report: Path | None = None


# ---- groups in this process or in worker processes -----------------------------------------------------------------


_worker_model = None  # the LiveModel of a --jobs worker process, loaded once by _init_worker
_worker_queue = None  # where a worker puts each file's result as it comes, for the parent's progress


def _init_worker(model_path: str, device: str, threads: int, results_queue) -> None:
    import torch

    from arvae_live.engine import LiveModel

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; workers finish their group
    torch.set_num_threads(threads)
    global _worker_model, _worker_queue
    _worker_model = LiveModel.from_checkpoint(model_path, device=device)
    _worker_queue = results_queue


def _work(group: Sequence[Job], options: RegenOptions) -> list[FileResult]:
    return batch.regenerate_group(_worker_model, group, options, on_result=_worker_queue.put)


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
    on_result: OnResult | None = None,
    collected: dict[str, FileResult] | None = None,
) -> RunOutcome:
    """Regenerate every group, in this process (n_jobs == 1) or in n_jobs worker processes (each loads the model).

    Ctrl-C stops cleanly: no new group starts, and groups already in worker processes finish (their outputs are
    whole); in this process the group in progress stops, and outputs already written stay whole. A worker process
    that dies fails the files of its group that had no result yet; the others go on.

    Args:
        groups: the files, in groups of one engine call each (make_groups).
        options: what to do with each file.
        lm: the loaded LiveModel for n_jobs == 1 (else loaded from model_path).
        model_path: the checkpoint the workers load.
        device: torch device of the model.
        n_jobs: worker processes, >= 1.
        on_result: called with each file's result as it comes (progress), in this thread.
        collected: {source: result}, filled as results come, so that a caller keeps them if the run raises.

    Returns:
        The results in job order (files not reached are missing) and whether Ctrl-C stopped the run.
    """
    order = {str(job.source): k for k, job in enumerate(j for group in groups for j in group)}
    collected = {} if collected is None else collected

    def take(r: FileResult) -> None:
        if r.source in collected:
            return
        collected[r.source] = r
        if on_result is not None:
            on_result(r)

    interrupted = False
    if n_jobs <= 1 or len(groups) <= 1:
        if lm is None:
            from arvae_live.engine import LiveModel

            lm = LiveModel.from_checkpoint(model_path, device=device)
        try:
            for group in groups:
                batch.regenerate_group(lm, group, options, on_result=take)
        except KeyboardInterrupt:
            interrupted = True
    else:
        interrupted = _run_pool(groups, options, model_path, device, n_jobs, take)
    return RunOutcome(sorted(collected.values(), key=lambda r: order.get(r.source, -1)), len(order), interrupted)


def _run_pool(groups, options, model_path, device, n_jobs, take: OnResult) -> bool:
    """run_groups over worker processes; per-file results come through a queue. Returns True on Ctrl-C."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # fork after torch has started threads can deadlock
    results_queue = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    pool = ProcessPoolExecutor(
        max_workers=n_jobs, mp_context=ctx, initializer=_init_worker,
        initargs=(str(model_path), device, threads, results_queue),
    )  # fmt: skip

    def drain(wait_s: float) -> None:
        try:
            while True:
                take(results_queue.get(timeout=wait_s))
        except queue_module.Empty:
            pass

    pending = {pool.submit(_work, group, options): g for g, group in enumerate(groups)}
    interrupted = False
    try:
        while pending:
            drain(0.05)
            for fut in [f for f in pending if f.done()]:
                g = pending.pop(fut)
                try:
                    group_results = fut.result()
                except Exception as err:  # the worker died (killed, out of memory): its group's files fail
                    group_results = [batch._failed(job, f"{job.source}: worker process failed ({err})")
                                     for job in groups[g]]  # fmt: skip
                drain(0.0)
                for r in group_results:
                    take(r)
    except KeyboardInterrupt:
        interrupted = True
        for fut in pending:
            fut.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        drain(0.0)
    return interrupted


# ---- torch.distributed ---------------------------------------------------------------------------------------------


def distributed_world() -> tuple[int, int]:
    """(rank, world_size) from torchrun's environment; (0, 1) outside torchrun."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


@contextlib.contextmanager
def process_group(world: int, device: str) -> Iterator[str]:
    """The torch.distributed process group for a run of world ranks (nothing when world == 1); yields the device
    this rank uses: cuda:LOCAL_RANK for auto on a GPU machine under torchrun, else device."""
    if world <= 1:
        yield device
        return
    import torch
    import torch.distributed as dist

    # gloo carries the file list and the results (Python objects) on CPU and GPU machines alike.
    dist.init_process_group("gloo")
    if device == "auto" and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count()}"
    try:
        yield device
    finally:
        dist.destroy_process_group()


def broadcast_jobs(jobs: Plan | str | None, rank: int) -> Plan:
    """Rank 0's plan (the jobs per model) on every rank (each then takes every world_size-th group of each model).

    Requires an initialised process group. Only rank 0 lists the inputs, so all ranks agree on one list even when
    they see the file system at different moments. Rank 0 passes a string instead when its listing failed: every
    rank then raises ConfigError with it (no rank waits for a list that never comes).
    """
    import torch.distributed as dist

    box = [jobs if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    if isinstance(box[0], str):
        raise ConfigError(box[0])
    return box[0]


def gather_results(results: list[FileResult], interrupted: bool, rank: int, world_size: int) -> RunOutcome | None:
    """Every rank's results on rank 0 (None on the other ranks). Requires an initialised process group."""
    import torch.distributed as dist

    box = [None] * world_size if rank == 0 else None
    dist.gather_object((results, interrupted), box, dst=0)
    if rank != 0:
        return None
    merged = [r for part, _ in box for r in part]
    return RunOutcome(sorted(merged, key=lambda r: r.source), interrupted=any(flag for _, flag in box))


# ---- the whole run -------------------------------------------------------------------------------------------------


def check_report_path(report: Path | None, jobs: Sequence[Job]) -> None:
    """Refuse, before any work, a report path that is an input, is not a regular file, or cannot be written.

    Raises:
        ConfigError: naming the path and the reason.
    """
    if report is None:
        return
    real = os.path.realpath(report)
    if any(os.path.realpath(job.source) == real for job in jobs):
        raise ConfigError(f"--report {report}: is one of the inputs; refusing to overwrite an input")
    try:
        mode = os.stat(report).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise ConfigError(f"--report {report}: {err.strerror or err}") from err
    if mode is not None and not stat.S_ISREG(mode):
        raise ConfigError(f"--report {report}: is {file_kind(mode)}; give a file name")
    parent = report.parent if str(report.parent) else Path(".")
    if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--report {report}: cannot write in {parent} (permission denied)")


Plan = list[tuple[Path, list[Job]]]  # (checkpoint, its files in job order), one entry per model used


def plan_models(jobs: Sequence[Job], model_path: Path | None) -> Plan:
    """Which model regenerates which file: all of them model_path when given, else each the default model of its
    meter's grid (model_store.default_model_path), models in the order of their paths, files in job order.

    Jobs already refused keep their problem; a file whose grid has no model gets one (the model store's message,
    naming the meters the models there serve); a file whose meter cannot be read goes with the simple model's files
    (else the first model's) and fails when it is read, with the reader's message.

    Raises:
        CheckpointError: there is no model at all (the message says how to get one).
    """
    if model_path is not None:
        return [(model_path, list(jobs))]
    from arvae_live.core.meters import SIMPLE
    from arvae_live.errors import CheckpointError, MidiFileError
    from arvae_live.midi_files import read_meter
    from arvae_live.model_store import default_model_path

    defaults: dict[str, Path | str] = {}  # grid name -> its model, or why it has none

    def model_for(grid) -> Path | str:
        if grid.name not in defaults:
            try:
                defaults[grid.name] = default_model_path(grid)
            except CheckpointError as err:
                defaults[grid.name] = str(err)
        return defaults[grid.name]

    placed: list[tuple[Job, Path | None]] = []  # None: with the "home" model, to be refused or fail when read
    for job in jobs:
        if job.problem is not None:
            placed.append((job, None))
            continue
        try:
            chosen = model_for(read_meter(job.source)[1])
        except MidiFileError:
            placed.append((job, None))
            continue
        if isinstance(chosen, str):
            placed.append((replace(job, problem=f"{job.source}: {chosen}"), None))
        else:
            placed.append((job, chosen))
    used = sorted({path for _, path in placed if path is not None})
    home = None
    if any(path is None for _, path in placed):
        simple = defaults.get(SIMPLE.name)
        home = simple if isinstance(simple, Path) else (used[0] if used else default_model_path())
    plan: dict[Path, list[Job]] = {path: [] for path in sorted({*used, *([home] if home else [])})}
    for job, path in placed:
        plan[path or home].append(job)
    return list(plan.items())


def _list_jobs(run: BatchRun) -> Plan | str:
    """Rank 0's plan: the jobs per model (temporary files of a killed run swept), or the one-line reason there is
    none."""
    try:
        jobs = collect_jobs(run.inputs, run.out_dir, run.options.variations)
        if not jobs:
            raise ConfigError("no MIDI files (*.mid, *.midi) among the inputs")
        check_report_path(run.report, jobs)
        return plan_models(jobs, run.model_path)
    except ArvaeError as err:
        return str(err)


def run_batch(
    run: BatchRun, on_result: OnResult | None = None, on_start: Callable[[int], None] | None = None
) -> RunOutcome | None:
    """The whole `regenerate` run (see the module docstring).

    Args:
        run: the settings.
        on_result: called with each file's result on this rank as it comes (progress).
        on_start: called with the number of files this rank will try, before the first.

    Returns:
        The outcome on rank 0 (summary filled, report written unless report_error says why not); None on other
        ranks.

    Raises:
        ConfigError: no MIDI files, an input that does not exist, a bad report path (before any work).
    """
    rank, world = distributed_world()
    with process_group(world, run.device) as device:
        listed = _list_jobs(run) if rank == 0 else None
        plan = broadcast_jobs(listed, rank) if world > 1 else listed
        if isinstance(plan, str):
            raise ConfigError(plan)
        all_jobs = [job for _, jobs in plan for job in jobs]
        per_model = []  # (checkpoint, options with its digest, this rank's groups)
        for model_path, jobs in plan:
            options = replace(run.options, model=file_sha256(model_path))
            check_model_options(options, model_path)
            per_model.append((model_path, options, make_groups(jobs, run.batch_files)[rank::world]))
        swept = sweep_temp_files(all_jobs, [run.report] if run.report else []) if rank == 0 else 0
        if on_start is not None:
            on_start(sum(len(g) for _, _, groups in per_model for g in groups))
        collected: dict[str, FileResult] = {}
        seconds, interrupted = 0.0, False
        for model_path, options, my_groups in per_model:  # the same groups for any --jobs and ranks
            lm = None
            if run.jobs == 1 and my_groups:  # load before the clock starts: measures/s is the files' own
                from arvae_live.engine import LiveModel

                lm = LiveModel.from_checkpoint(model_path, device=device)
            t0 = time.perf_counter()
            try:
                outcome = run_groups(my_groups, options, lm, model_path, device, run.jobs, on_result, collected)
            except BaseException:
                if world == 1:  # the report still says what was done before the error
                    partial = RunOutcome(list(collected.values()), len(all_jobs), interrupted=True)
                    _finish(run, plan, partial, seconds + time.perf_counter() - t0, world)
                raise
            seconds += time.perf_counter() - t0
            if outcome.interrupted:
                interrupted = True
                break
        order = {str(job.source): k for k, job in enumerate(all_jobs)}
        results = sorted(collected.values(), key=lambda r: order.get(r.source, -1))
        outcome = RunOutcome(results, len(all_jobs), interrupted)
        if world > 1:
            outcome = gather_results(outcome.results, outcome.interrupted, rank, world)
    if outcome is None:  # not rank 0: rank 0 reports
        return None
    outcome.n_jobs, outcome.swept = len(all_jobs), swept
    return _finish(run, plan, outcome, seconds, world)


def check_model_options(options: RegenOptions, model_path: Path) -> None:
    """Refuse --set / --shift names the model lacks (batch.check_options), the model named in the message when
    models are picked per file.

    Raises:
        UnknownAttributeError, ConfigError: as check_options.
    """
    from arvae_live.core.checkpoint import read_header

    try:
        batch.check_options(options, [a["name"] for a in read_header(model_path)["attributes"]])
    except UnknownAttributeError as err:
        raise UnknownAttributeError(f"{err} (model {model_path.stem})") from None


def _finish(run: BatchRun, plan: Plan, outcome: RunOutcome, seconds: float, world: int) -> RunOutcome:
    """Fill the summary and write the report (an OSError becomes outcome.report_error).

    The header names the model ("model", "model_path", "scale": the first model's when several were used) and,
    under "models", every model used with its options digest input and attribute scale; each file's entry names
    its own meter and model.
    """
    outcome.summary = summary(outcome.results, seconds)
    if run.report is None:
        return outcome
    from arvae_live.core.checkpoint import read_header

    models = {
        path.stem: {
            "model_path": str(path),
            "sha256": file_sha256(path),
            "scale": attribute_scales(read_header(path)["attributes"]),
        }
        for path, _ in plan
    }
    first = plan[0][0] if plan else run.model_path
    header = {
        "model": first.stem if first else None,
        "model_path": str(first) if first else None,
        "models": models,
        "options": asdict(replace(run.options, model=models[first.stem]["sha256"] if first else "")),
        "scale": models[first.stem]["scale"] if first else {},
        "world_size": world,
        "jobs": run.jobs,
        "batch_files": run.batch_files,
        "interrupted": outcome.interrupted,
        "summary": outcome.summary,
    }
    try:
        write_report(run.report, header, outcome.results)
    except OSError as err:
        outcome.report_error = f"--report {run.report}: cannot write it: {err.strerror or err}"
    return outcome


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


CSV_COLUMNS = (
    *("source", "status", "error", "melody", "key", "meter", "model", "output", "variation", "bar", "attribute"),
    *("before", "asked", "achieved", "unit", "before_units", "asked_units", "achieved_units", "warnings"),
)


def report_bytes(path: Path, header: dict[str, Any], results: Sequence[FileResult]) -> bytes:
    """The report as JSON, or as CSV when path ends in .csv (one row per file, variation, bar and attribute).

    Values are normalised 0..1 over the model's ranges; the CSV adds each in musical units (onsets per bar,
    semitones: header["scale"]) beside it.
    """
    if path.suffix.lower() != ".csv":
        doc = {**header, "files": [asdict(r) for r in results]}
        return (json.dumps(doc, indent=2) + "\n").encode()
    models = header.get("models", {})
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
        melody = f"track {r.track} channel {r.channel} ({r.melody})"
        scale = models.get(r.model, {}).get("scale") or header.get("scale", {})  # the file's own model's units
        for m in r.measures:
            for v, achieved in enumerate(m["achieved"]):
                for name, value in achieved.items():
                    s = scale.get(name)
                    row = {
                        "source": r.source, "status": r.status, "melody": melody, "key": r.key or "",
                        "meter": r.meter or "", "model": r.model or "",
                        "output": r.outputs[v],
                        "variation": v + 1, "bar": m["bar"], "attribute": name,
                        "before": f"{m['before'][name]:.6g}", "asked": f"{m['asked'][name]:.6g}",
                        "achieved": f"{value:.6g}", "warnings": "; ".join(by_bar.get(m["bar"], [])),
                    }  # fmt: skip
                    if s is not None:
                        row["unit"] = s["unit"]
                        for col, val in (("before", m["before"][name]), ("asked", m["asked"][name]),
                                         ("achieved", value)):  # fmt: skip
                            row[f"{col}_units"] = f"{musical_value(s, val):.4g}"
                    w.writerow(row)
    return buf.getvalue().encode()


def write_report(path: Path, header: dict[str, Any], results: Sequence[FileResult]) -> Path:
    """Write the report atomically; JSON or CSV by the path's extension."""
    return write_atomic(path, report_bytes(path, header, results))
