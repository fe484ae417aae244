"""Headless regeneration of MIDI files: inputs, output names, options, and one group of files through the engine.

One input file gives one output file per variation, ``OUTDIR/<relative folder>/<stem>.v<k><suffix>`` (k = 1..V; the
relative folder is the file's place under a folder given as input, empty for a file given directly). An output
appears whole or not at all (core.atomic.write_atomic) and carries the digest of the options and the model that
made it (a sequencer-specific meta event, midi_files.options_tag). A rerun skips a file whose outputs all exist
with the same digest (that is how an interrupted run resumes); outputs made with other options are replaced only
with ``overwrite``, else the file is refused in one line.

A failing file (corrupt MIDI, no melody, unsupported meter, a melody over the bar cap, not a regular file, an
output that is an input, an engine failure, a failed write) becomes a "failed" result with its one-line error; the
other files go on. The run over processes and ranks and the report are in batch_run.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arvae_live.clip_report import warning_dicts
from arvae_live.core.atomic import write_atomic
from arvae_live.core.key import Key, melody_scale
from arvae_live.core.meters import SIMPLE
from arvae_live.core.notes import carried_notes
from arvae_live.core.representation import HOLD, Note, Vocabulary
from arvae_live.errors import ArvaeError, ConfigError, MidiFileError, UnknownAttributeError
from arvae_live.midi_files import (
    MidiClip,
    check_output,
    clip_tokens,
    midi_bytes,
    options_tag,
    parse_bars,
    read_midi,
    read_options_tag,
    splice_notes,
)
from arvae_live.paths import file_kind

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
        problem: why the file is refused without being opened (not a regular file, an output that is an input),
            or None.
    """

    source: Path
    outputs: tuple[Path, ...]
    problem: str | None = None


def _scan(folder: Path, out_root: Path) -> list[Path]:
    """The *.mid / *.midi entries under folder, recursively, in a stable order, outputs under out_root left out.

    Entries that are not regular files (FIFOs, devices, folders named like MIDI files, broken links) are listed
    too, so that they are reported; only their names are looked at.
    """
    found = []
    for p in folder.rglob("*"):
        if p.suffix.lower() not in MIDI_SUFFIXES:
            continue
        try:
            if Path(os.path.realpath(p)).is_relative_to(out_root):
                continue  # outputs inside an input folder are not inputs, so a rerun does not regenerate them
        except OSError:
            pass
        found.append(p)
    return sorted(found)


def _not_regular(path: Path) -> str | None:
    """Why path cannot be read as a file without opening it (a FIFO, a folder, a broken link), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return f"{path}: {'a broken link' if os.path.islink(path) else (err.strerror or err)}; not opened"
    if stat.S_ISREG(mode):
        return None
    return f"{path}: is {file_kind(mode)}, not a MIDI file; not opened"


def collect_jobs(inputs: Sequence[Path], out_dir: Path, variations: int) -> list[Job]:
    """The jobs for files and folders (searched recursively for *.mid / *.midi), in a stable order.

    A file named twice is one job. Entries that are not regular files, and files one of whose outputs would be an
    input (``regenerate d/a.mid d/a.v1.mid -o d``), become jobs with a problem: reported, never opened.

    Raises:
        ConfigError: an input that does not exist, or two inputs that would write the same output.
    """
    jobs: list[Job] = []
    out_root = Path(os.path.realpath(out_dir))
    seen_sources: set[Path] = set()
    for item in inputs:
        if item.is_dir():
            pairs = [(p, p.parent.relative_to(item)) for p in _scan(item, out_root)]
        elif os.path.lexists(item):
            pairs = [(item, Path())]  # a file given by name is read even with another suffix; reading checks it
        else:
            raise ConfigError(f"{item}: no such file or folder")
        for src, rel in pairs:
            if src in seen_sources:
                continue
            seen_sources.add(src)
            outs = tuple(out_dir / rel / f"{src.stem}.v{k}{src.suffix or '.mid'}" for k in range(1, variations + 1))
            jobs.append(Job(src, outs, _not_regular(src)))
    seen: dict[Path, Path] = {}
    for job in jobs:
        first = seen.setdefault(job.outputs[0], job.source)
        if first != job.source:
            raise ConfigError(f"{first} and {job.source} would both write {job.outputs[0]}; rename one of them")
    real_inputs = {os.path.realpath(job.source): job.source for job in jobs}
    for k, job in enumerate(jobs):
        clash = next((out for out in job.outputs if os.path.realpath(out) in real_inputs), None)
        if clash is not None and job.problem is None:
            problem = f"{job.source}: its output {clash} is an input; refusing to overwrite an input"
            jobs[k] = Job(job.source, job.outputs, problem)
    return jobs


def sweep_temp_files(jobs: Sequence[Job], extra: Sequence[Path] = ()) -> int:
    """Remove the temporary files a killed run left beside these jobs' outputs (and the extra paths, e.g. the
    report): core.atomic names them ``.<name>.<random>.tmp``. Call before any worker writes. Returns the count."""
    names: dict[Path, set[str]] = {}
    for path in [p for job in jobs for p in job.outputs] + list(extra):
        names.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, wanted in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # not made yet: nothing to sweep
        for entry in entries:
            name = entry.name
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            target = name[1:-4].rpartition(".")[0]  # ".song.v1.mid.k2j3h4.tmp" -> "song.v1.mid"
            if target in wanted and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except OSError as err:
                    log.debug("cannot remove %s: %s", entry.path, err)
    return removed


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
        targets: {attribute: normalised 0..1} for every selected measure (--set), over the model's range.
        shifts: {attribute: -1..1} added to each selected measure's own normalised value, clipped to 0..1 (--shift).
        bars: the bar selection "A:B" (score bar numbers, inclusive) or None for all bars.
        track: the melody track (0-based) or None to choose it.
        pickup: the pickup bar's length in beats, or None to find it from the time signatures.
        variations: outputs per input, >= 1.
        temperature: 0 for argmax decoding, > 0 samples tokens.
        seed: random seed; each file uses the same seed, so a file's outputs do not depend on the others.
        overwrite: regenerate files whose outputs already exist.
        model: the sha256 of the checkpoint file, so that outputs remember the model as well as the options.
        scale: "auto" keeps each file's melody in its own key (the Krumhansl-Kessler key's scale plus the melody's
            own chromatic notes, core/key.py); "off" lets it use any pitch.
    """

    targets: dict[str, float] = field(default_factory=dict)
    shifts: dict[str, float] = field(default_factory=dict)
    bars: str | None = None
    track: int | None = None
    pickup: float | None = None
    variations: int = 1
    temperature: float = 0.0
    seed: int = 0
    overwrite: bool = False
    model: str = ""
    scale: str = "auto"

    def digest(self) -> str:
        """16 hex digits of sha256 over every field that changes what is written (all but overwrite)."""
        fields = {k: v for k, v in asdict(self).items() if k != "overwrite"}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, hex (a checkpoint: a few MB, read once per run)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
        status: "ok", "skipped" (outputs already there, made with the same options) or "failed".
        outputs: the files written (or found, when skipped).
        error: the one-line error when failed.
        track, channel: the melody part (0-based track, 1-based channel) when read.
        track_name: the melody track's name ("" when it has none); melody: why that part (e.g. "the top part").
        pickup_beats: the pickup bar's length in beats (0: none; bar numbers then start at 0 for the pickup).
        key: the key whose scale the regenerated notes keep to (e.g. "G major"), or None (--scale off, no notes).
        bars: [first, last] selected bar numbers (the score's, inclusive) when read.
        measures: per selected measure: {"bar", "before": {attr: v}, "asked": {attr: v}, "achieved": [{attr: v}
            per variation]}, all normalised 0..1 over the model's ranges.
        warnings: [{"kind", "bar", "count", "message"}] changes made to fit the input on the grid, and a --bars
            selection cut at the last bar.
        engine_ms: time in the engine; total_ms: time for the whole file (read, engine, write).
        meter: the file's meter ("3/4", "6/8", ...; the first full bar's) when read; grid: the grid it picks.
        model: the id (file stem) of the model that regenerated it.
    """

    source: str
    status: str
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    track: int | None = None
    channel: int | None = None
    track_name: str | None = None
    key: str | None = None
    melody: str | None = None
    pickup_beats: float | None = None
    bars: list[int] | None = None
    measures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    engine_ms: float = 0.0
    total_ms: float = 0.0
    meter: str | None = None
    grid: str | None = None
    model: str | None = None

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


def _failed(job: Job, err: Exception | str, t0: float | None = None) -> FileResult:
    """A failed result with a one-line error; only errors nobody foresaw are logged, with their traceback."""
    if isinstance(err, str):
        error = err
    elif isinstance(err, ArvaeError):
        error = str(err)
    elif isinstance(err, OSError):  # permission, disk full, read-only file system: the user's to fix, no traceback
        where = f" ({err.filename})" if err.filename else ""
        error = f"{job.source}: cannot write its output{where}: {err.strerror or err}"
    else:  # a bug or an unforeseen file; the batch goes on and the report says so
        log.error("%s: unexpected error", job.source, exc_info=err)
        error = f"{job.source}: unexpected {type(err).__name__}: {err}"
    ms = (time.perf_counter() - t0) * 1e3 if t0 is not None else 0.0
    return FileResult(str(job.source), "failed", error=error, total_ms=ms)


def _prepare(lm, job: Job, options: RegenOptions) -> tuple[_Prepared, np.ndarray]:
    """Read a file and select its measures; returns the prepared file and its selected tokens (M, 24)."""
    t0 = time.perf_counter()
    clip = read_midi(job.source, track=options.track, pickup=options.pickup)
    check_grid(clip, lm)
    bars = parse_bars(options.bars, clip.n_measures, clip.first_bar)
    tokens, adjustments = clip_tokens(clip, lm.vocab)
    window = tokens[bars.start : bars.stop]
    warnings = warning_dicts(adjustments, clip.first_bar)
    if bars.clamped:
        last = bars.stop - 1 + clip.first_bar
        warnings.insert(0, {"kind": "bars_clamped", "bar": last, "count": 1, "message": bars.clamped})
    return _Prepared(job, clip, bars.start, bars.stop, lm.measure_attributes(window), warnings, t0), window


def check_grid(clip: MidiClip, lm) -> None:
    """MidiFileError unless the model serves the clip's meter (its grid is the clip's), naming both.

    Args:
        clip: the file read.
        lm: an engine.LiveModel (its .grid, and .model_id for the message).
    """
    grid = getattr(lm, "grid", SIMPLE)
    if clip.grid is grid:
        return
    name = getattr(lm, "model_id", None) or "the model"
    raise MidiFileError(
        f"{clip.path}: meter {clip.meter} ({clip.grid.name} grid) is not served by model {name}, which reads "
        f"{grid.meters_text}; leave out --model to pick a model per file, or pass one of the {clip.grid.name} grid"
    )


def existing_outputs(job: Job, options: RegenOptions) -> FileResult | None:
    """The result for a job decided by its outputs already on disk, or None when the job is to be regenerated.

    All outputs there with this options digest: skipped (unless overwrite). Any output there made otherwise
    (other options, another model, not by arvae-live) without overwrite: failed, naming the file. Outputs are read
    only when they are regular files.
    """
    present = [p for p in job.outputs if os.path.lexists(p)]
    if not present:
        return None
    for p in present:
        why = _not_regular(p)
        if why is not None:
            return _failed(job, f"{job.source}: its output {why.removesuffix('; not opened')}; refusing to replace it")
    if options.overwrite:
        return None
    digest = options.digest()
    stale = next((p for p in present if read_options_tag(p) != digest), None)
    if stale is not None:
        return _failed(job, f"{job.source}: {stale} exists and was made with other options or another model; "
                            "pass --overwrite to replace it")  # fmt: skip
    if len(present) == len(job.outputs):
        return FileResult(str(job.source), "skipped", outputs=[str(p) for p in job.outputs])
    return None  # some variations missing (an interrupted run): made again, with the same options


def melody_with(clip: MidiClip, tokens: np.ndarray, vocab: Vocabulary, start: int, stop: int) -> list[Note]:
    """The clip's melody with measures start..stop-1 replaced by the notes of tokens (M = stop - start,
    clip.grid.ticks).

    New notes take the velocity of the nearest input note (core/notes.py); notes outside the measures stay as they
    are.
    """
    # Leading measures of HOLD read as silence, so the new notes come out at their place in the file.
    padded = np.concatenate([np.full((start, tokens.shape[1]), HOLD, dtype=np.int64), tokens])
    return splice_notes(clip.notes, carried_notes(padded, vocab, clip.notes, grid=clip.grid), start, stop, clip.grid)


def regenerate_group(
    lm, jobs: Sequence[Job], options: RegenOptions, on_result: Callable[[FileResult], None] | None = None
) -> list[FileResult]:
    """Regenerate a group of files with one engine call over all their selected measures.

    Batching across files is what lets a folder of short melodies run at the engine's batched speed: a chorale has
    ~10 measures, and the engine does many more measures per second in batches of hundreds. The measures of a
    file do not influence another file's (the model works measure by measure), except through the shared random
    draws of variations >= 2, which depend on the group; groups are formed the same way for any --jobs or ranks.
    When the engine fails on a group, each of its files is tried again alone, so one bad file fails only itself.

    Args:
        lm: an engine.LiveModel.
        jobs: the files of the group.
        options: the targets and the rest.
        on_result: called with each file's result as soon as it is known (progress), in this thread.

    Returns:
        One result per job, in order. Files whose outputs all exist with these options are skipped (unless
        options.overwrite). Any error in one file (bad file, failed write) becomes a "failed" result and the others
        go on.
    """
    results: list[FileResult | None] = [None] * len(jobs)

    def settle(i: int, result: FileResult) -> None:
        results[i] = result
        if on_result is not None:
            on_result(result)

    ready: list[tuple[int, _Prepared]] = []
    windows = []
    for i, job in enumerate(jobs):
        t0 = time.perf_counter()
        if job.problem is not None:
            settle(i, _failed(job, job.problem, t0))
            continue
        try:
            decided = existing_outputs(job, options)
            if decided is not None:
                settle(i, decided)
                continue
            prep, window = _prepare(lm, job, options)
        except Exception as err:
            settle(i, _failed(job, err, t0))
            continue
        ready.append((i, prep))
        windows.append(window)
    if not ready:
        return results
    # One target array over all measures of the group: --set values everywhere, --shift from each measure's own.
    targets: dict[str, float | np.ndarray] = dict(options.targets)
    for name, delta in options.shifts.items():
        targets[name] = np.clip(np.concatenate([p.before[name] for _, p in ready]) + delta, 0.0, 1.0)
    try:
        from arvae_live.engine import Clips  # torch loads with the engine, not with the options

        found = [melody_key(p.clip) if options.scale == "auto" else (None, frozenset()) for _, p in ready]
        keys = [k for k, _ in found]
        scales = [classes if k else None for k, classes in found]
        res = lm.regenerate(
            np.concatenate(windows),
            targets,
            variations=options.variations,
            temperature=options.temperature,
            seed=options.seed,
            scale=Clips(tuple(len(w) for w in windows), tuple(scales)),  # each file its own key and bar lines
        )
    except Exception as err:
        if len(ready) == 1:
            i, p = ready[0]
            settle(i, _failed(p.job, err, p.t0))
            return results
        log.debug("engine failed on a group of %d files (%s); trying them one by one", len(ready), err)
        for i, p in ready:
            results[i] = regenerate_group(lm, [p.job], options, on_result)[0]
        return results
    res.keys = [k.name if k else None for k in keys]
    _write_group(lm, ready, res, options, settle)
    return results


def melody_key(clip: MidiClip) -> tuple[Key | None, frozenset[int]]:
    """The Krumhansl-Kessler key of a file's whole melody (not only the selected bars) and the pitch classes new notes
    keep to (core/key.py, melody_scale); (None, empty) without notes."""
    return melody_scale([n.pitch for n in clip.notes], np.array([n.dur_beats for n in clip.notes]))


def _write_group(lm, ready: list[tuple[int, _Prepared]], res, options: RegenOptions, settle) -> None:
    """Write the outputs of a group's files from the engine's result and settle each file's result."""
    names = lm.attribute_names
    tag = options_tag(options.digest())
    # Outputs are written by a few threads: each write ends in fsync + rename, which wait on the disk with the GIL
    # released, so concurrent writes overlap (the file system commits them together) and overlap the encoding of
    # the next files. Ten-odd files a second, one after another, spent more time in fsync than in the engine.
    writer = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="arvae-write")
    writes = []
    order = {i: j for j, (i, _) in enumerate(ready)}  # job index -> its clip in the engine call (res.keys)
    try:
        first = 0
        for i, p in ready:
            size = p.stop - p.start
            rows = slice(first, first + size)
            first += size
            try:
                futures = []
                for v, out in enumerate(p.job.outputs):
                    path = check_output(p.clip, out)
                    notes = melody_with(p.clip, res.tokens[v, rows], lm.vocab, p.start, p.stop)
                    futures.append(writer.submit(write_atomic, path, midi_bytes(p.clip, notes, tag)))
            except Exception as err:
                settle(i, _failed(p.job, err, p.t0))
                continue
            writes.append((i, p, rows, size, futures))
        for i, p, rows, size, futures in writes:
            try:
                for fut in futures:
                    fut.result()
            except Exception as err:
                settle(i, _failed(p.job, err, p.t0))
                continue
            asked = {k: res.asked[k][rows] for k in names}
            achieved = {k: res.achieved[k][:, rows] for k in names}
            bar0 = p.clip.first_bar + p.start  # the score's number of the first selected measure
            settle(
                i,
                FileResult(
                    source=str(p.job.source),
                    status="ok",
                    outputs=[str(o) for o in p.job.outputs],
                    track=p.clip.track,
                    channel=p.clip.channel + 1,
                    track_name=p.clip.track_name,
                    melody=p.clip.reason,
                    key=res.keys[order[i]] if res.keys else None,
                    pickup_beats=p.clip.pickup_beats,
                    bars=[bar0, bar0 + size - 1],
                    measures=[
                        {
                            "bar": bar0 + m,
                            "before": {k: float(p.before[k][m]) for k in names},
                            "asked": {k: float(asked[k][m]) for k in names},
                            "achieved": [
                                {k: float(achieved[k][v, m]) for k in names} for v in range(options.variations)
                            ],
                        }
                        for m in range(size)
                    ],
                    warnings=p.warnings,
                    meter=p.clip.meter,
                    grid=p.clip.grid.name,
                    model=getattr(lm, "model_id", None),
                    engine_ms=res.engine_ms * size / len(res.tokens[0]),  # the group's engine time, shared by measures
                    total_ms=(time.perf_counter() - p.t0) * 1e3,
                ),
            )
    finally:
        # On Ctrl-C, writes not begun are cancelled and those under way finish: every output is whole or absent.
        writer.shutdown(wait=True, cancel_futures=True)
