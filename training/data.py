"""Measure datasets: music21 corpus -> monophonic melody -> token measures on a grid (via arvae_live.core), cached.

Each dataset is on one measure grid (training/corpora.py DATASET_GRIDS, arvae_live/core/meters.py): simple (4/4,
2/2, 2/4 pairs; 24 ticks) for bach, folk, general and airds; triple (3/4; 18 ticks) for triple and airds-triple;
compound (12/8, 6/8 pairs; 24 ticks of 16ths) for compound and airds-compound.

The pipeline, per piece (docs/data.md says where and why it differs from the reference code):

1. Parse with music21 (training/corpora.py), take the melody part (Bach: the soprano, parts[0] of a 4-part score).
2. Keep one meter for the whole piece, one its grid serves: 4/4 or 2/2 (one bar = one measure) or 2/4 (two bars =
   one measure); 3/4; 12/8 (one bar) or 6/8 (two bars).
3. Expand repeats; merge tied notes; drop grace notes and chord symbols; a chord in the melody is polyphony.
4. Pad a pick-up so that the first full bar starts a measure; check that every full bar starts on a bar line.
5. `notes_to_tokens` with a vocabulary of all 128 MIDI pitches, so that nothing is folded; any snapped onset or end
   (off the grid) rejects the piece, as does any chord or overlap (polyphony).
6. Drop silent measures (no note sounds at all), never the all-padding windows the reference makes.
7. Transpose by every semitone that keeps the whole melody inside the vocabulary's range (55..84 by default); or, for
   the datasets in ONE_TRANSPOSITION (general, airds), store each piece once, centred in the range, and let training
   draw a random in-range transposition per measure per step (`random_transpose`): the same data, an epoch ~10x
   shorter.
8. Split by piece, 70/20/10, seeded: every transposition of a piece lands in its piece's split (a test-only
   collection, airds*, is all test). For general, triple and compound, a validation or test measure that also
   occurs in the train split (token for token, in any transposition) is dropped, so that held-out figures are on
   novel measures.

`load_dataset` builds once and caches the result as .npz (+ a .json summary) under a key made of the dataset name,
pitch range, limit and `DATA_VERSION`; later calls load the cache.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arvae_live.core.atomic import atomic_open, write_atomic
from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import (
    CHORD_REDUCED,
    FIRST_PITCH_TOKEN,
    HOLD,
    OVERLAP_TRIMMED,
    SNAPPED,
    Note,
    Vocabulary,
    n_measures_for,
    notes_to_tokens,
)
from arvae_live.errors import ConfigError
from training.corpora import (
    DATASETS,
    SKIP_METER,  # re-exported: the simple grid's meter skip reason, as before grids
    SKIP_METER_CHANGE,
    TEST_ONLY_DATASETS,
    PieceSource,
    dataset_grid,
    list_sources,
    parse_source,
    skip_meter_reason,
)

log = logging.getLogger(__name__)

# Bump when a change to this pipeline changes what a build produces, so that old caches are not reused.
DATA_VERSION = 1

SPLITS = ("train", "val", "test")  # split codes 0, 1, 2 in MeasureDataset.split
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)  # of pieces, as in the paper
SPLIT_SEED = 0

_EPS_BEATS = 1e-6
# All MIDI pitches: tokenising with it folds nothing, so transposition is a shift of the token ids.
_WIDE = Vocabulary(0, 127)

# Reasons a piece is skipped after parsing (the listing adds its own, see training/corpora.py).
SKIP_PARSE = "parse failed"
SKIP_PARTS = "not 4 parts"
SKIP_NO_METER = "no time signature"
SKIP_NO_BARS = "no bar lines"
SKIP_REPEATS = "repeat expansion failed"
SKIP_POLYPHONIC = "polyphonic melody"
SKIP_OFF_GRID = "onsets off the 24-tick grid"  # the text of the simple grid's summaries; off_grid_reason for all
SKIP_MISALIGNED = "bars off the bar lines"
SKIP_NO_NOTES = "no notes"
SKIP_RANGE = "range wider than the vocabulary"  # or outside MIDI 0..127
SKIP_DUPLICATE_MELODY = "duplicate melody"
SKIP_UNEXPECTED = "unexpected error"  # a bug or a music21 surprise: reported with the piece name in the log

# Datasets stored with one transposition per piece (training augments on the fly), and with val/test measures that
# occur in train removed.
ONE_TRANSPOSITION = ("general", "airds", "triple", "compound", "airds-triple", "airds-compound")
DEDUPLICATED = ("general", "triple", "compound")


def off_grid_reason(grid: Grid) -> str:
    """The skip reason of a piece with onsets off the grid, e.g. "onsets off the 18-tick triple grid"."""
    return SKIP_OFF_GRID if grid is SIMPLE else f"onsets off the {grid.ticks}-tick {grid.name} grid"


class PieceSkipped(Exception):
    """A piece that cannot be used; the message is its skip reason (one of the SKIP_* constants)."""


@dataclass(frozen=True)
class Melody:
    """One piece as untransposed token measures on the all-MIDI vocabulary.

    Attributes:
        tokens: uint8 array (n_measures, grid.ticks), ids of `Vocabulary(0, 127)` (pitch p is token p + 2).
        meter: "4/4", "2/2" or "2/4" (simple grid), "3/4" (triple), "12/8" or "6/8" (compound).
        pitch_low, pitch_high: lowest and highest MIDI pitch of the melody.
    """

    tokens: np.ndarray
    meter: str
    pitch_low: int
    pitch_high: int


def melody_notes(part, grid: Grid = SIMPLE) -> tuple[list[Note], float, str]:
    """The notes of a monophonic music21 part, in quarter notes from the start of its first measure, pick-up padded.

    Args:
        part: a `music21.stream.Part` with measures and one time signature, one of the grid's meters.
        grid: the measure grid (simple: 4/4, 2/2, 2/4; triple: 3/4; compound: 12/8, 6/8).

    Returns:
        (notes, length_beats, meter): notes in onset order with ties merged, the length of the padded piece in quarter
        notes, and the meter as "num/den".

    Raises:
        PieceSkipped: with the reason, for a piece this dataset cannot use.
    """
    from music21 import chord, harmony, meter, note, stream

    signatures = {ts.ratioString for ts in part.recurse().getElementsByClass(meter.TimeSignature)}
    if not signatures:
        raise PieceSkipped(SKIP_NO_METER)
    if len(signatures) > 1:
        raise PieceSkipped(SKIP_METER_CHANGE)
    (ratio,) = signatures
    if ratio not in grid.meters:
        raise PieceSkipped(skip_meter_reason(grid))
    num, den = (int(v) for v in ratio.split("/"))
    bar_beats = num * 4 / den

    if not part.getElementsByClass(stream.Measure):
        raise PieceSkipped(SKIP_NO_BARS)  # music21 makes no measures of some very short ABC tunes
    try:
        part = part.expandRepeats()
    except Exception as err:  # music21 raises several types (ExpanderException, IndexError, ...)
        log.debug("repeat expansion failed: %s", err)
        raise PieceSkipped(SKIP_REPEATS) from err

    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        raise PieceSkipped(SKIP_NO_BARS)
    # A short first bar is a pick-up: pad it so that the first full bar starts a measure (for 2/4 and 6/8, the
    # pick-up gets a measure of its own and the first two full bars make the next one, so phrases start on a downbeat).
    first_beats = float(measures[0].duration.quarterLength)
    pad = grid.measure_quarters - first_beats if first_beats < bar_beats - _EPS_BEATS else 0.0
    for m in measures:
        if abs(float(m.duration.quarterLength) - bar_beats) < _EPS_BEATS:
            phase = (float(m.offset) + pad) % bar_beats
            if min(phase, bar_beats - phase) > _EPS_BEATS:
                raise PieceSkipped(SKIP_MISALIGNED)

    notes: list[Note] = []
    for el in part.flatten().notesAndRests:
        if isinstance(el, harmony.Harmony) or isinstance(el, note.Rest):
            continue  # chord symbols are annotations, not melody; rests are implied by the notes
        if isinstance(el, chord.Chord):
            raise PieceSkipped(SKIP_POLYPHONIC)
        if not isinstance(el, note.Note):
            continue  # unpitched percussion notes
        dur = float(el.quarterLength)
        if dur <= 0:
            continue  # grace notes take no time on the grid
        start = float(el.offset) + pad
        pitch = int(round(el.pitch.ps))  # rounds microtones to the nearest semitone
        if not 0 <= pitch <= 127:
            raise PieceSkipped(SKIP_RANGE)
        tie = el.tie.type if el.tie is not None else None
        prev = notes[-1] if notes else None
        if (
            tie in ("stop", "continue")
            and prev is not None
            and prev.pitch == pitch
            and abs(prev.end_beats - start) < _EPS_BEATS
        ):
            notes[-1] = Note(prev.pitch, prev.start_beats, start + dur - prev.start_beats)
            continue
        notes.append(Note(pitch, start, dur))
    if not notes:
        raise PieceSkipped(SKIP_NO_NOTES)
    return notes, float(part.highestTime) + pad, ratio


def melody_from_part(part, grid: Grid = SIMPLE) -> Melody:
    """Token measures (n, grid.ticks) of a monophonic part (see `melody_notes`), checked to need no adjustment.

    Raises:
        PieceSkipped: off-grid onsets or ends, chords or overlapping notes, or any reason from `melody_notes`.
    """
    notes, length_beats, ratio = melody_notes(part, grid)
    tokens, adjustments = notes_to_tokens(notes, n_measures_for(length_beats, grid), _WIDE, grid)
    kinds = {a.kind for a in adjustments}
    if SNAPPED in kinds:
        raise PieceSkipped(off_grid_reason(grid))
    if kinds & {CHORD_REDUCED, OVERLAP_TRIMMED}:
        raise PieceSkipped(SKIP_POLYPHONIC)
    assert not kinds, f"unexpected adjustments {kinds}"
    pitches = [n.pitch for n in notes]
    return Melody(tokens.astype(np.uint8), ratio, min(pitches), max(pitches))


def melody_from_source(source: PieceSource, grid: Grid = SIMPLE) -> Melody:
    """Parse one piece and extract its melody on the grid.

    Raises:
        PieceSkipped: with the reason the piece cannot be used.
    """
    try:
        score = parse_source(source)
    except Exception as err:  # music21's readers raise many types on bad files; all mean "cannot use"
        log.debug("%s: parse failed: %s", source.name, err)
        raise PieceSkipped(SKIP_PARSE) from err
    parts = list(score.parts)
    if source.n_parts is not None and len(parts) != source.n_parts:
        raise PieceSkipped(SKIP_PARTS)
    if source.n_parts is None and len(parts) > 1:
        raise PieceSkipped(SKIP_POLYPHONIC)
    if not parts:
        raise PieceSkipped(SKIP_NO_NOTES)
    return melody_from_part(parts[source.melody_part], grid)


def _process(source: PieceSource, grid: Grid = SIMPLE) -> tuple[str, Melody | str]:
    """Worker entry point: (name, Melody) or (name, skip reason). Never raises for a bad piece."""
    try:
        return source.name, melody_from_source(source, grid)
    except PieceSkipped as skip:
        return source.name, str(skip)
    except Exception as err:  # one odd file must not lose a long build; it is logged by name and counted
        log.warning("%s: unexpected %s: %s", source.name, type(err).__name__, err)
        return source.name, f"{SKIP_UNEXPECTED} ({type(err).__name__})"


def silent_measures(tokens: np.ndarray) -> np.ndarray:
    """Which measures of a continuous token run have no note sounding at any tick.

    Args:
        tokens: int array (n_measures, ticks) of one continuous piece on any grid (HOLD continues across bar lines).

    Returns:
        bool array (n_measures,): True where every tick is a rest or the silence before the first note.
    """
    flat = np.asarray(tokens).reshape(-1).astype(np.int64)
    idx = np.arange(flat.size)
    last_event = np.maximum.accumulate(np.where(flat != HOLD, idx, -1))  # tick of the token in force
    sounding = (last_event >= 0) & (flat[np.maximum(last_event, 0)] >= FIRST_PITCH_TOKEN)
    return ~sounding.reshape(-1, np.shape(tokens)[-1]).any(axis=1)


def transpositions(pitch_low: int, pitch_high: int, vocab: Vocabulary) -> range:
    """Every semitone shift that keeps a melody spanning pitch_low..pitch_high inside the vocabulary (may be empty)."""
    return range(vocab.pitch_low - pitch_low, vocab.pitch_high - pitch_high + 1)


def transpose_tokens(wide_tokens: np.ndarray, shift: int, vocab: Vocabulary) -> np.ndarray:
    """All-MIDI tokens (see `Melody`) shifted by shift semitones, as ids of vocab (int64, same shape).

    The caller guarantees, via `transpositions`, that every shifted pitch has a token in vocab.
    """
    out = wide_tokens.astype(np.int64)
    pitched = out >= FIRST_PITCH_TOKEN
    out[pitched] += shift - vocab.pitch_low
    assert out.max(initial=0) < vocab.size and (out[pitched] >= FIRST_PITCH_TOKEN).all(), "shift leaves the range"
    return out


def split_pieces(n_pieces: int, seed: int = SPLIT_SEED) -> np.ndarray:
    """Assign pieces to train/val/test (codes 0/1/2) in the proportions of SPLIT_FRACTIONS, shuffled with seed.

    With 3 or more pieces every split gets at least one.

    Returns:
        int8 array (n_pieces,).
    """
    n_test = round(SPLIT_FRACTIONS[2] * n_pieces)
    n_val = round(SPLIT_FRACTIONS[1] * n_pieces)
    if n_pieces >= 3:
        n_test, n_val = max(1, n_test), max(1, n_val)
    codes = np.zeros(n_pieces, dtype=np.int8)
    order = np.random.default_rng(seed).permutation(n_pieces)
    codes[order[n_pieces - n_test - n_val : n_pieces - n_test]] = 1
    codes[order[n_pieces - n_test :]] = 2
    return codes


@dataclass
class MeasureDataset:
    """Token measures of one corpus with every kept transposition, and where each came from.

    Attributes:
        tokens: int64 (N, ticks), ids of `vocab`, on the dataset's grid (`grid`).
        piece: int64 (N,), index into `pieces`.
        transpose: int64 (N,), semitones the measure was shifted from the original.
        split: int8 (N,), 0 train, 1 val, 2 test (see SPLITS); the same for every measure of a piece.
        pieces: piece names, e.g. "bach/bwv269".
        vocab: the vocabulary the tokens use.
        summary: plain-JSON counts: pieces found/kept, skipped by reason, measures, splits, build time.
    """

    tokens: np.ndarray
    piece: np.ndarray
    transpose: np.ndarray
    split: np.ndarray
    pieces: list[str]
    vocab: Vocabulary = field(default_factory=Vocabulary)
    summary: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def split_tokens(self, name: str) -> np.ndarray:
        """The measures of one split.

        Args:
            name: "train", "val" or "test".

        Returns:
            int64 array (n, ticks).

        Raises:
            ConfigError: unknown split name.
        """
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return self.tokens[self.split == SPLITS.index(name)]

    @property
    def grid(self) -> Grid:
        """The measure grid of the tokens (the summary's "grid"; caches without one are simple)."""
        from arvae_live.core.meters import get_grid

        return get_grid(self.summary.get("grid", "simple"))


def _melody_key(melody: Melody) -> bytes:
    """The same tune in another key has the same key: pitch tokens taken relative to the lowest pitch."""
    rel = melody.tokens.astype(np.int16)
    pitched = rel >= FIRST_PITCH_TOKEN
    rel[pitched] -= melody.pitch_low
    return rel.tobytes()


def build_dataset(
    name: str,
    vocab: Vocabulary = Vocabulary(),  # noqa: B008 - frozen dataclass, safe as a default
    limit: int | None = None,
    progress: bool = True,
    workers: int = 1,
) -> MeasureDataset:
    """Build a dataset from its corpus (slow: parses every piece; `load_dataset` caches the result).

    Args:
        name: one of training.corpora.DATASETS (bach, folk, general, airds on the simple grid; triple and
            airds-triple on the triple grid; compound and airds-compound on the compound grid).
        vocab: the target vocabulary; its pitch range bounds the transpositions.
        limit: use only the first `limit` pieces of the listing (>= 1), or all when None.
        progress: show a tqdm bar while parsing.
        workers: parsing processes, >= 1 (1 parses in this process).

    Returns:
        The dataset, with its summary.

    Raises:
        ConfigError: unknown name, limit < 1 or workers < 1.
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1, got {limit}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    t0 = time.perf_counter()
    grid = dataset_grid(name)
    sources, skipped, header_meters = list_sources(name)
    n_listed = len(sources) + sum(skipped.values())
    if limit is not None:
        sources = sources[:limit]
        n_listed = len(sources)
        skipped = Counter()

    results = _parse_all(sources, name, workers, progress, grid)
    names, melodies, meters, duplicates = _keep_melodies(results, vocab, skipped)
    if name in TEST_ONLY_DATASETS:
        piece_split = np.full(len(names), SPLITS.index("test"), dtype=np.int8)
    else:
        piece_split = split_pieces(len(names))
    tokens, piece, shift, n_untransposed, n_silent = _measure_rows(
        melodies, vocab, one=name in ONE_TRANSPOSITION, ticks=grid.ticks
    )
    split = piece_split[piece] if len(piece) else np.zeros(0, dtype=np.int8)
    n_seen_in_train = {}
    if name in DEDUPLICATED and len(tokens):
        novel = novel_mask(tokens, split)
        n_seen_in_train = {s: int(((split == c) & ~novel).sum()) for c, s in enumerate(SPLITS) if c}
        tokens, piece, shift, split = tokens[novel], piece[novel], shift[novel], split[novel]

    n_shifts = [len(transpositions(m.pitch_low, m.pitch_high, vocab)) for m in melodies]
    summary = {
        "dataset": name,
        "data_version": DATA_VERSION,
        "pitch_low": vocab.pitch_low,
        "pitch_high": vocab.pitch_high,
        "limit": limit,
        "pieces_found": n_listed,
        "pieces_kept": len(names),
        "skipped": dict(sorted(skipped.items(), key=lambda kv: -kv[1])),
        "meters_kept": dict(meters.most_common()),
        "header_meters": dict(header_meters.most_common()),
        "silent_measures_dropped": n_silent,
        "measures_untransposed": n_untransposed,
        "measures": len(tokens),
        "transpositions_per_piece_mean": float(np.mean(n_shifts)) if n_shifts else 0.0,
        "transpositions_stored": "one per piece (augmented in training)" if name in ONE_TRANSPOSITION else "all",
        "val_test_measures_dropped_as_seen_in_train": n_seen_in_train,
        "splits": {
            s: {"pieces": int((piece_split == c).sum()), "measures": int((split == c).sum())}
            for c, s in enumerate(SPLITS)
        },
        "duplicate_melodies": duplicates,
        "build_seconds": round(time.perf_counter() - t0, 1),
        "workers": workers,
    }
    if grid is not SIMPLE:  # the simple grid's summaries stay as they were (a run resumes from those caches)
        summary["grid"] = grid.name
        summary.update(_breakdown(names, melodies, piece_split, piece, split, n_seen_in_train))
    log.info("%s: %d pieces kept of %d, %d measures", name, len(names), n_listed, len(tokens))
    return MeasureDataset(tokens, piece, shift, split, names, vocab, summary)


def _collection(piece_name: str) -> str:
    """The collection a piece comes from: "bach" for a chorale, else its ABC folder, e.g. "oneills1850"."""
    return "bach" if "#" not in piece_name else piece_name.split("/", 1)[0]


def _breakdown(
    names: list[str],
    melodies: list[Melody],
    piece_split: np.ndarray,
    piece: np.ndarray,
    split: np.ndarray,
    n_seen_in_train: dict[str, int],
) -> dict:
    """Pieces and measures per split, by meter and by collection, and the novel share of the held-out splits."""
    out: dict = {"by_meter": {}, "by_collection": {}}
    by = {"by_meter": [m.meter for m in melodies], "by_collection": [_collection(n) for n in names]}
    for key, of_piece in by.items():
        labels = np.array(of_piece, dtype=object)
        for label in sorted(set(labels.tolist())):
            mine = np.flatnonzero(labels == label)
            rows = np.isin(piece, mine)
            out[key][label] = {
                s: {"pieces": int((piece_split[mine] == c).sum()), "measures": int((rows & (split == c)).sum())}
                for c, s in enumerate(SPLITS)
            }
    # Share of a held-out split's measures that are novel (occur in no transposition in train), before the seen
    # ones were dropped; 1.0 when nothing was dropped or the split is empty.
    out["novel_share"] = {}
    for c, s in enumerate(SPLITS):
        if c:
            kept = int((split == c).sum())
            seen = n_seen_in_train.get(s, 0)
            out["novel_share"][s] = round(kept / (kept + seen), 4) if kept + seen else 1.0
    return out


def measure_keys(tokens: np.ndarray) -> np.ndarray:
    """One hashable key per measure that is the same in every transposition: pitches relative to the lowest onset.

    Args:
        tokens: int array (N, ticks).

    Returns:
        A numpy void array (N,), usable with np.isin / np.unique.
    """
    rel = np.asarray(tokens, dtype=np.int16).copy()
    pitched = rel >= FIRST_PITCH_TOKEN
    lowest = np.where(pitched, rel, np.iinfo(np.int16).max).min(axis=1, keepdims=True)
    rel = np.where(pitched, rel - lowest + FIRST_PITCH_TOKEN, rel)
    return np.ascontiguousarray(rel).view(np.dtype((np.void, rel.dtype.itemsize * rel.shape[1]))).ravel()


def novel_mask(tokens: np.ndarray, split: np.ndarray) -> np.ndarray:
    """True for train measures and for val/test measures that occur in no transposition in the train split.

    Args:
        tokens: int array (N, ticks). split: int array (N,) of split codes (0 train).

    Returns:
        bool array (N,).
    """
    keys = measure_keys(tokens)
    train = split == SPLITS.index("train")
    return train | ~np.isin(keys, np.unique(keys[train]))


def random_transpose(tokens: np.ndarray, rng: np.random.Generator, vocab: Vocabulary = Vocabulary()) -> np.ndarray:  # noqa: B008
    """Each measure shifted by its own random semitone shift that keeps its pitches inside vocab.

    The augmentation of the ONE_TRANSPOSITION datasets: uniform over the shifts that keep the measure's lowest and
    highest onset in vocab.pitch_low..pitch_high (a measure with no onset is returned as it is).

    Args:
        tokens: int array (B, ticks), ids of vocab.
        rng: numpy generator (seeded by the caller, so a resumed run draws the same shifts).

    Returns:
        int64 array (B, ticks).
    """
    out = np.asarray(tokens, dtype=np.int64).copy()
    pitched = out >= FIRST_PITCH_TOKEN
    any_pitch = pitched.any(axis=1)
    lo = np.where(pitched, out, np.iinfo(np.int64).max).min(axis=1)
    hi = np.where(pitched, out, np.iinfo(np.int64).min).max(axis=1)
    down = np.where(any_pitch, FIRST_PITCH_TOKEN - lo, 0)  # <= 0
    up = np.where(any_pitch, vocab.size - 1 - hi, 0)  # >= 0
    shift = np.floor(down + rng.random(len(out)) * (up - down + 1)).astype(np.int64)
    out += np.where(pitched, shift[:, None], 0)
    return out


def _parse_all(
    sources: list[PieceSource], name: str, workers: int, progress: bool, grid: Grid = SIMPLE
) -> list[tuple[str, Melody | str]]:
    """(name, Melody or skip reason) per source, on the grid, parsed by `workers` processes, in order."""
    import functools

    from tqdm import tqdm

    bar = dict(total=len(sources), desc=f"parsing {name}", unit="piece", disable=not progress)
    process = functools.partial(_process, grid=grid)  # picklable: a module-level function and a frozen Grid
    if workers == 1:
        return [process(s) for s in tqdm(sources, **bar)]
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return list(tqdm(pool.imap(process, sources, chunksize=4), **bar))


def _keep_melodies(
    results: list[tuple[str, Melody | str]], vocab: Vocabulary, skipped: Counter[str]
) -> tuple[list[str], list[Melody], Counter[str], dict[str, str]]:
    """The parsed melodies worth keeping: (names, melodies, meters kept, duplicates: piece -> the earlier piece with
    the same melody). Adds each skip reason to skipped."""
    names: list[str] = []
    melodies: list[Melody] = []
    meters: Counter[str] = Counter()
    seen: dict[bytes, str] = {}
    duplicates: dict[str, str] = {}
    for piece_name, result in results:
        if isinstance(result, str):
            skipped[result] += 1
            continue
        key = _melody_key(result)
        if key in seen:
            skipped[SKIP_DUPLICATE_MELODY] += 1
            duplicates[piece_name] = seen[key]
            continue
        if not len(transpositions(result.pitch_low, result.pitch_high, vocab)):
            skipped[SKIP_RANGE] += 1
            continue
        seen[key] = piece_name
        names.append(piece_name)
        melodies.append(result)
        meters[result.meter] += 1
    return names, melodies, meters, duplicates


def _measure_rows(
    melodies: list[Melody], vocab: Vocabulary, one: bool, ticks: int = SIMPLE.ticks
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Every kept measure of every melody in every in-range transposition (one, the centred one, when `one`):
    (tokens (N, ticks), piece index (N,), shift (N,), measures before transposition, silent measures dropped)."""
    rows_tokens, rows_piece, rows_shift = [], [], []
    n_untransposed = n_silent = 0
    for i, melody in enumerate(melodies):
        keep = ~silent_measures(melody.tokens)
        n_silent += int((~keep).sum())
        wide = melody.tokens[keep]
        n_untransposed += len(wide)
        shifts = transpositions(melody.pitch_low, melody.pitch_high, vocab)
        if one:
            shifts = [shifts[len(shifts) // 2]]  # centred: random_transpose reaches the rest during training
        for shift in shifts:
            rows_tokens.append(transpose_tokens(wide, shift, vocab))
            rows_piece.append(np.full(len(wide), i, dtype=np.int64))
            rows_shift.append(np.full(len(wide), shift, dtype=np.int64))
    tokens = np.concatenate(rows_tokens) if rows_tokens else np.zeros((0, ticks), dtype=np.int64)
    piece = np.concatenate(rows_piece) if rows_piece else np.zeros(0, dtype=np.int64)
    shift = np.concatenate(rows_shift) if rows_shift else np.zeros(0, dtype=np.int64)
    return tokens, piece, shift, n_untransposed, n_silent


def cache_key(name: str, vocab: Vocabulary, limit: int | None) -> str:
    """File stem of a dataset's cache, e.g. "bach_p55-84_all_v1"."""
    return f"{name}_p{vocab.pitch_low}-{vocab.pitch_high}_{'all' if limit is None else f'n{limit}'}_v{DATA_VERSION}"


def save_dataset(ds: MeasureDataset, path: Path) -> Path:
    """Write a dataset as one .npz (tokens as uint8) and its summary next to it as .json, each atomically.

    Returns:
        The .npz path.
    """
    path = Path(path)
    with atomic_open(path) as f:  # a file object, so numpy does not append ".npz" to the temp name
        np.savez(
            f,
            tokens=ds.tokens.astype(np.uint8),  # ids < 256 for any vocabulary; 8x smaller, loads as fast
            piece=ds.piece,
            transpose=ds.transpose.astype(np.int8),
            split=ds.split,
            pieces=np.array(ds.pieces, dtype=str),
            vocab=np.array([ds.vocab.pitch_low, ds.vocab.pitch_high]),
            summary=np.array(json.dumps(ds.summary)),
        )
    write_atomic(path.with_suffix(".json"), (json.dumps(ds.summary, indent=2) + "\n").encode())
    return path


def read_dataset(path: Path) -> MeasureDataset:
    """Read a dataset written by `save_dataset`.

    Raises:
        ConfigError: the file is not a readable dataset cache (use --rebuild).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            low, high = (int(v) for v in z["vocab"])
            return MeasureDataset(
                tokens=z["tokens"].astype(np.int64),
                piece=z["piece"].astype(np.int64),
                transpose=z["transpose"].astype(np.int64),
                split=z["split"].astype(np.int8),
                pieces=[str(s) for s in z["pieces"]],
                vocab=Vocabulary(low, high),
                summary=json.loads(str(z["summary"])),
            )
    except (OSError, KeyError, ValueError) as err:
        raise ConfigError(f"cannot read dataset cache {path}: {err}; rebuild it with --rebuild") from err


def load_dataset(
    name: str,
    cache_dir: Path = Path("data_cache"),
    vocab: Vocabulary = Vocabulary(),  # noqa: B008 - frozen dataclass, safe as a default
    rebuild: bool = False,
    limit: int | None = None,
    progress: bool = True,
    workers: int = 1,
) -> MeasureDataset:
    """The dataset `name`, from its cache when there is one, else built (see `build_dataset`) and cached.

    Args:
        name: one of training.corpora.DATASETS (see `build_dataset`).
        cache_dir: folder of the cache files (created if missing).
        vocab: target vocabulary; part of the cache key.
        rebuild: build even when a cache exists, and overwrite it.
        limit: only the first `limit` pieces (>= 1); part of the cache key.
        progress: show a progress bar while building.
        workers: parsing processes when building, >= 1.

    Returns:
        The dataset; `summary["from_cache"]` says whether it was read from the cache.

    Raises:
        ConfigError: unknown name, bad limit or workers, unreadable cache.
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    path = Path(cache_dir) / f"{cache_key(name, vocab, limit)}.npz"
    if path.exists() and not rebuild:
        ds = read_dataset(path)
        ds.summary["from_cache"] = True
        log.info("%s: loaded %d measures from %s", name, len(ds), path)
        return ds
    ds = build_dataset(name, vocab=vocab, limit=limit, progress=progress, workers=workers)
    save_dataset(ds, path)
    ds.summary["from_cache"] = False
    log.info("%s: cached at %s", name, path)
    return ds


__all__ = [
    "DATA_VERSION",
    "MeasureDataset",
    "Melody",
    "PieceSkipped",
    "SKIP_METER",
    "SPLITS",
    "build_dataset",
    "cache_key",
    "load_dataset",
    "measure_keys",
    "novel_mask",
    "random_transpose",
]
