"""Where the training melodies come from: the corpora that ship inside the music21 package (nothing downloads).

A corpus is listed as `PieceSource`s, small picklable records (a corpus path or the text of one ABC tune) that a
worker process turns into a music21 score with `parse_source`. Listing is cheap; parsing is the slow part.

- ``bach``: the Bach chorales of `music21.corpus.chorales.Iterator` (Riemenschneider numbering, 371 files).
- ``folk``: the ABC tunes of the ``essenFolksong``, ``oneills1850`` and ``ryansMammoth`` folders. An ABC file may hold
  many tunes (music21 would make it an `Opus`); we split the text into tunes ourselves so that each tune is one task
  for a worker, and read each tune's ``M:`` header so that tunes in meters we do not use are never parsed. O'Neill's
  folder holds overlapping files (two transcriptions of tunes 732-758, three files for 1556-1624, ...): a tune number
  seen before is a duplicate, and so is any tune whose music text equals an earlier one's.
- ``general``: everything melodic we train the default model on: the Bach chorale sopranos, the folk folders above, and
  the ABC tunes of ``miscFolk`` (an American fife book, Northumbrian minstrelsy) and ``nottingham-dataset``.
- ``airds``: Aird's Airs (``airdsAirs``, six books of Scottish and Irish airs, marches and dances), kept out of every
  training set on purpose: the out-of-domain test collection (docs/data.md).
- ``triple`` and ``compound``: the collections of ``general`` (Bach chorales and the ABC folders), keeping the pieces
  in 3/4 (the triple grid) or in 6/8 and 12/8 (the compound grid; core/meters.py) instead of 4/4, 2/2 and 2/4.
  ``airds-triple`` and ``airds-compound`` are Aird's Airs in those meters: the out-of-domain sets of those grids.

Every dataset is on one grid (DATASET_GRIDS); a tune in a meter its grid does not serve (9/8, 3/8, 5/4, ...) is
dropped and counted under SKIP_METER, a tune that changes meter under SKIP_METER_CHANGE.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from arvae_live.core.meters import GRIDS, Grid
from arvae_live.errors import ConfigError

log = logging.getLogger(__name__)

DATASETS = ("bach", "folk", "general", "airds", "triple", "compound", "airds-triple", "airds-compound")
# The measure grid (core/meters.py) each dataset is on: its meters are the ones kept, its ticks the token columns.
DATASET_GRIDS = {
    "bach": "simple",
    "folk": "simple",
    "general": "simple",
    "airds": "simple",
    "triple": "triple",
    "compound": "compound",
    "airds-triple": "triple",
    "airds-compound": "compound",
}
# The out-of-domain collection (Aird's Airs) of each grid, for `arvae-train evaluate --ood`.
OOD_DATASETS = {"simple": "airds", "triple": "airds-triple", "compound": "airds-compound"}
FOLK_FOLDERS = ("essenFolksong", "oneills1850", "ryansMammoth")
# ABC folders of the general dataset beside the Bach chorales.
GENERAL_FOLDERS = (*FOLK_FOLDERS, "miscFolk", "nottingham-dataset")
# The out-of-domain collection: never in any training set, so that "on tunes no model was trained on" means something.
HELD_OUT_FOLDERS = ("airdsAirs",)
# Datasets that are only ever tested on (every piece in the test split).
TEST_ONLY_DATASETS = ("airds", "airds-triple", "airds-compound")


# Skip reasons found while listing, before any parsing (the other reasons are in training/data.py).
SKIP_METER = "meter not 4/4, 2/2 or 2/4"  # the simple grid's datasets; see skip_meter_reason for the others
SKIP_METER_CHANGE = "meter changes"
SKIP_DUPLICATE = "duplicate tune"
METER_CHANGES = "changes"  # the meter split_abc_tunes gives a tune that changes meter

_X_LINE = re.compile(r"^X:\s*(\d*)")
# A meter field in a tune's body: a line "M:..." or an inline field "[M:...]". music21's ABC reader ignores both
# (it keeps the header meter), so a tune that changes meter has to be found in its text.
_BODY_METER = re.compile(r"^M:(.*)$|\[M:([^\]]*)\]", re.MULTILINE)
_FIELD_LINE = re.compile(r"^([A-Za-z]):(.*)$")


@dataclass(frozen=True)
class PieceSource:
    """One piece to parse, picklable so that worker processes can take it.

    Attributes:
        name: unique, readable id, e.g. "bach/bwv269" or "oneills1850/0001-0050.abc#7".
        corpus_path: a music21 corpus path for `corpus.parse` (Bach), or "" when abc_text is given.
        abc_text: the text of exactly one ABC tune, with its file's header lines (folk), or "".
        melody_part: index of the part holding the melody (Bach soprano: 0).
        n_parts: the number of parts the score must have (Bach: 4, so that parts[0] is the soprano), or None.
    """

    name: str
    corpus_path: str = ""
    abc_text: str = ""
    melody_part: int = 0
    n_parts: int | None = None


def normalise_meter(text: str) -> str:
    """An ABC M: value as "num/den": "C" -> "4/4", "C|" -> "2/2", "none"/"" -> "none", others as written."""
    text = text.strip().split("%")[0].strip()
    if text == "C":
        return "4/4"
    if text == "C|":
        return "2/2"
    return text.replace(" ", "") or "none"


def split_abc_tunes(text: str) -> list[tuple[str, str, str]]:
    """Split the text of an ABC file into tunes.

    Args:
        text: the whole file.

    Returns:
        (reference number, header meter, tune text) per tune in file order. The reference number is the X: value
        ("" if missing); the header meter is the first M: field before K:, normalised ("none" if absent); the tune
        text starts with the file header (the lines before the first X:, where global fields live).
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _X_LINE.match(line)]
    if not starts:
        return []
    file_header = [line for line in lines[: starts[0]] if _FIELD_LINE.match(line)]
    tunes = []
    for a, b in zip(starts, [*starts[1:], len(lines)]):
        body = lines[a:b]
        number = _X_LINE.match(body[0]).group(1)
        meter = "none"
        k = len(body)
        for i, line in enumerate(body[1:], start=1):
            m = _FIELD_LINE.match(line)
            if m and m.group(1) == "K":
                k = i
                break
            if m and m.group(1) == "M" and meter == "none":
                meter = normalise_meter(m.group(2))
        for m in _BODY_METER.finditer("\n".join(body[k + 1 :])):
            if normalise_meter(m.group(1) or m.group(2) or "") != meter:
                meter = METER_CHANGES
                break
        tunes.append((number, meter, "\n".join([*file_header, *body]) + "\n"))
    return tunes


def _music_key(tune_text: str) -> str:
    """A hash of a tune's music (the lines after K:, whitespace removed), to find the same tune copied twice."""
    lines = tune_text.splitlines()
    k = next((i for i, line in enumerate(lines) if line.startswith("K:")), len(lines))
    music = "".join("".join(line.split()) for line in lines[k + 1 :] if not _FIELD_LINE.match(line))
    return hashlib.sha1(music.encode()).hexdigest()


def corpus_root() -> Path:
    """The folder of the corpus that ships inside the installed music21 package."""
    import music21.corpus

    return Path(music21.corpus.__file__).parent


def dataset_grid(dataset: str) -> Grid:
    """The measure grid of a dataset (DATASET_GRIDS); ConfigError naming the datasets for an unknown one."""
    if dataset not in DATASET_GRIDS:
        raise ConfigError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    return GRIDS[DATASET_GRIDS[dataset]]


def skip_meter_reason(grid: Grid) -> str:
    """The skip reason of a piece in a meter the grid does not serve: "meter not 4/4, 2/2 or 2/4" for simple (the
    text the existing caches' summaries hold), "meter not 3/4" for triple, "meter not 12/8 or 6/8" for compound."""
    meters = list(grid.meters)
    return f"meter not {', '.join(meters[:-1])} or {meters[-1]}" if len(meters) > 1 else f"meter not {meters[0]}"


def list_sources(dataset: str) -> tuple[list[PieceSource], Counter[str], Counter[str]]:
    """Every piece of a dataset, in a fixed order, with the pieces skipped before parsing.

    Args:
        dataset: one of DATASETS; only ABC tunes in the meters of its grid (dataset_grid) are listed.

    Returns:
        (sources, skipped, meters): the pieces to parse; skip reason -> count for pieces dropped while listing
        (meter from the ABC header, duplicate tunes or files); header meter -> count over all folk tunes listed
        (empty for Bach, whose meters are only known after parsing).

    Raises:
        ConfigError: unknown dataset name.
    """
    grid = dataset_grid(dataset)
    if dataset == "bach":
        return _list_bach()
    if dataset == "folk":
        return _list_abc(FOLK_FOLDERS, grid)
    if dataset in ("general", "triple", "compound"):
        # Bach's meters are only known after parsing (a few chorales are in 3/4): data.melody_notes sorts them.
        bach, bach_skipped, _ = _list_bach()
        abc, abc_skipped, meters = _list_abc(GENERAL_FOLDERS, grid)
        return bach + abc, bach_skipped + abc_skipped, meters
    return _list_abc(HELD_OUT_FOLDERS, grid)  # airds, airds-triple, airds-compound


def _list_bach() -> tuple[list[PieceSource], Counter[str], Counter[str]]:
    from music21 import corpus

    # The Riemenschneider numbering lists some chorales twice (the same file under two numbers).
    paths = list(corpus.chorales.Iterator(returnType="filename"))
    unique = list(dict.fromkeys(paths))
    skipped = Counter({SKIP_DUPLICATE: len(paths) - len(unique)} if len(unique) < len(paths) else {})
    return [PieceSource(name=p, corpus_path=p, n_parts=4) for p in unique], skipped, Counter()


def _list_abc(folders: tuple[str, ...], grid: Grid) -> tuple[list[PieceSource], Counter[str], Counter[str]]:
    root = corpus_root()
    sources: list[PieceSource] = []
    skipped: Counter[str] = Counter()
    meters: Counter[str] = Counter()
    seen_music: set[str] = set()
    seen_numbers: set[tuple[str, str]] = set()
    for folder in folders:
        for path in sorted((root / folder).glob("*.abc")):
            text = path.read_text(encoding="utf-8", errors="replace")
            for number, meter, tune in split_abc_tunes(text):
                meters[meter] += 1
                key = _music_key(tune)
                # O'Neill's numbers its tunes across files; the same number twice is the same tune transcribed twice.
                numbered = (folder, number) if folder == "oneills1850" and number else None
                if key in seen_music or (numbered and numbered in seen_numbers):
                    skipped[SKIP_DUPLICATE] += 1
                    continue
                seen_music.add(key)
                if numbered:
                    seen_numbers.add(numbered)
                if meter == METER_CHANGES:
                    skipped[SKIP_METER_CHANGE] += 1
                    continue
                if meter not in grid.meters:  # "num/den", after normalising ABC's C and C|
                    skipped[skip_meter_reason(grid)] += 1
                    continue
                sources.append(PieceSource(name=f"{folder}/{path.name}#{number}", abc_text=tune))
    log.info("%s: %d tunes listed, %d to parse", "+".join(folders), sum(meters.values()), len(sources))
    return sources, skipped, meters


def parse_source(source: PieceSource):
    """Parse one piece with music21.

    Args:
        source: the piece.

    Returns:
        A `music21.stream.Score`. An ABC text that music21 reads as an `Opus` of one tune gives that tune's score.

    Raises:
        Whatever music21 raises on a file it cannot read; callers count it as a parse failure.
    """
    from music21 import converter, corpus, stream

    if source.corpus_path:
        parsed = corpus.parse(source.corpus_path)
    else:
        parsed = converter.parseData(source.abc_text, format="abc")
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if len(scores) != 1:
            raise ValueError(f"{source.name}: expected one tune, music21 read {len(scores)}")
        parsed = scores[0]
    return parsed
