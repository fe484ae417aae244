"""Standard MIDI files: read a file's melody as notes in beats, and write regenerated notes back into a copy.

Reading (`read_midi`) finds the melody *part*, a (track, channel) pair, by this rule:

1. Candidates are the (track, channel) pairs that hold notes, leaving out channel 10 (index 9, General MIDI drums).
   With ``track=N`` only the pairs of track N (0-based, as stored in the file; track 0 of a type-1 file is usually
   the tempo track) are candidates.
2. A part whose track is named like a melody ("melody", "soprano", "lead", "vocal", "voice", "cantus", "treble",
   "right hand", ...; `MELODY_NAME`) is preferred; among the rest, *mostly monophonic* parts are: at most 10% of
   their notes start while another of their notes still sounds (by more than 1/8 beat, so that legato overlaps of a
   performance do not count).
3. Among the preferred parts that hold at least a quarter as many notes as the largest of them, the melody is the
   *top part*: the highest median pitch (the soprano of a chorale, the right hand of a piano piece); ties go to more
   notes, then the lower track and channel. A polyphonic melody reduces to its top line (notes_to_tokens reports it).

The choice and its reason are in MidiClip.track, .channel, .track_name and .reason, for messages and reports.

Meter and bars: arvae-live works on the measures of a grid (core/meters.py), and a file's meter picks the grid:
simple (24 ticks; 4/4 and 2/2 bars are one measure each, 2/4 bars are read in pairs), triple (18 ticks; a 3/4 bar is
one measure) and compound (24 ticks of 16ths over 4 dotted quarters; a 12/8 bar is one measure, 6/8 bars are read
in pairs). MidiClip.grid says which; times stay in quarter notes whatever the grid. The bar lines are the score's,
found from the time signatures:

- A *pickup* (anacrusis) is a first bar shorter than the meter. A file shows one by a time signature that starts the
  next bar early (4/4 at 0, 4/4 again at beat 1: a one-beat pickup; a restated meter at beat 7 puts the bar lines at
  beats 3, 7, ...), or by a partial-bar time signature (1/4 at 0, then 4/4 at beat 1). The pickup bar becomes
  measure 0, right-aligned (padded with rest at its start), so the first full bar starts measure 1 and the model sees
  each rhythm where the score has it; bar numbers follow the score (the pickup is bar 0, the first full bar bar 1).
  A file that does not mark its pickup (music21 writes none) is read from its first note as if it had none, unless
  the caller gives the pickup length (``pickup=``, `--pickup BEATS`).
- Any other meter (9/8, 5/4, 3/8 ...), or a change of bar length that does not fall on a measure line, raises
  MidiFileError naming the meter, the bar and the meters that are read. A time signature that restates the bar
  length in force is harmless anywhere. A file without a time signature is 4/4 (the MIDI default).
- A file is read on one grid. A meter change inside a grid (4/4 to 2/4, 12/8 to 6/8) is read as above; a change to
  a meter of another grid (4/4 to 3/4, 3/4 to 6/8) is refused in one line naming the bar, since a model serves one
  grid and the bars on either side would need two models (split the file there). The meter of a partial-bar pickup
  signature (3/8 before 6/8, 1/4 before 3/4) does not count.

Note-offs a tick or two before a grid point (DAW exports end notes early so that they never overlap the next) count
as on the grid when the melody is put on the grid (`clip_tokens`); the notes themselves stay exact, so bars outside
a selection are written back unchanged.

Limits: files over MAX_FILE_BYTES and melodies over MAX_MEASURES bars are refused before anything the size of the
piece is allocated (a single huge delta time would otherwise ask for gigabytes). Only regular files are opened.

Writing (`write_midi`) copies the input byte for byte except the melody track's chunk, which is re-encoded with the
melody part's note events replaced; every other event of that track (tempo, meter, controllers, program changes,
the notes of its other channels, meta events) keeps its absolute time and order. Writes are atomic: a temporary
file beside the target, then os.replace. The input file is only read.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import stat
import struct
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from arvae_live.core.atomic import write_atomic
from arvae_live.core.meters import SIMPLE, SUPPORTED_TEXT, Grid, bar_beats, grid_for_meter
from arvae_live.core.representation import (
    Adjustment,
    Note,
    Vocabulary,
    n_measures_for,
    notes_to_tokens,
)
from arvae_live.errors import MidiFileError
from arvae_live.paths import file_kind, read_regular

log = logging.getLogger(__name__)

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
MONOPHONIC_MAX_OVERLAP = 0.10  # a part is mostly monophonic when at most this fraction of its notes overlap another
_OVERLAP_TOL_BEATS = 1 / 8  # overlaps shorter than this are legato, not polyphony
MIN_NOTE_SHARE = 0.25  # a melody candidate holds at least this share of the notes of the largest candidate
# Track names that say "this is the melody" (whole words, any case); names that say accompaniment win over them.
MELODY_NAME = re.compile(
    r"\b(melod(y|ie|ia)|sopran[oi]?|lead|vocals?|voice|voix|singer|sing|cantus|treble|tune|right hand|r\.?h\.?)\b", re.I
)
ACCOMPANIMENT_NAME = re.compile(r"\b(back(ing)?|bass|harmony|pad|chords?|comp|left hand|l\.?h\.?)\b", re.I)
MAX_FILE_BYTES = 16 << 20  # 16 MiB: a long orchestral MIDI file is under 1 MiB
MAX_MEASURES = 4096  # bars of melody read at most (4096 bars of 4/4 at 120 bpm last 2 h 16 min)
# A note-off this early before a grid point (in beats, or 2 ticks when a tick is longer) is read as on it.
EARLY_NOTE_OFF_BEATS = 1 / 100
_EPS = 1e-6


@dataclass(frozen=True)
class MidiPart:
    """The notes of one channel of one track.

    Attributes:
        track: track index in the file, 0-based.
        channel: MIDI channel, 0..15 (9 is drums).
        notes: the part's notes in onset order, times in beats (quarter notes) from the file start.
        overlap_fraction: fraction of notes that start while another note of the part sounds, 0..1.
        name: the track's name (its first track_name or instrument_name meta event), "" when it has none.
    """

    track: int
    channel: int
    notes: tuple[Note, ...]
    overlap_fraction: float
    name: str = ""

    @property
    def mostly_monophonic(self) -> bool:
        return self.overlap_fraction <= MONOPHONIC_MAX_OVERLAP

    @property
    def median_pitch(self) -> float:
        return float(np.median([n.pitch for n in self.notes]))

    @property
    def named_like_melody(self) -> bool:
        return bool(MELODY_NAME.search(self.name)) and not ACCOMPANIMENT_NAME.search(self.name)


@dataclass(frozen=True)
class MidiClip:
    """A MIDI file read for regeneration: its melody part, meter, tempo and what is needed to write it back.

    Attributes:
        path: the file read.
        ticks_per_beat: the file's resolution, ticks per quarter note, >= 1.
        track: index of the melody track, 0-based.
        channel: MIDI channel of the melody, 0..15.
        notes: melody notes in onset order, times in *grid beats*: quarter notes from the start of measure 0, which
            is the file start, or pickup_pad beats before it when the file starts with a pickup.
        n_measures: number of measures of the grid holding the melody (the pickup and a partial last bar count),
            >= 1.
        tempos: (file beat, beats per minute) of each tempo change, in time order; empty means 120 bpm.
        time_signatures: (file beat, numerator, denominator) of each time signature, in time order.
        parts: every candidate part (track, channel) that holds notes, drums included, for messages and reports.
        source: the file's bytes, so that untouched tracks are written back byte for byte.
        track_spans: (start, end) byte offsets of each track chunk in source.
        midi: the mido parse of source.
        pickup_beats: length of the pickup bar in quarter notes, 0 when the file starts on a full bar.
        track_name: the melody track's name, "" when it has none.
        reason: why this part is the melody, e.g. "the top part" or "named like a melody".
        grid: the measure grid the file's meter picks (core/meters.py): simple, triple or compound.
    """

    path: Path
    ticks_per_beat: int
    track: int
    channel: int
    notes: tuple[Note, ...]
    n_measures: int
    tempos: tuple[tuple[float, float], ...]
    time_signatures: tuple[tuple[float, int, int], ...]
    parts: tuple[MidiPart, ...]
    source: bytes
    track_spans: tuple[tuple[int, int], ...]
    midi: mido.MidiFile
    pickup_beats: float = 0.0
    track_name: str = ""
    reason: str = ""
    grid: Grid = SIMPLE

    @property
    def pickup_pad(self) -> float:
        """Quarter notes of rest before the pickup that fill measure 0: grid beat = file beat + pickup_pad."""
        length = self.grid.measure_quarters
        return (length - self.pickup_beats) % length

    @property
    def meter(self) -> str:
        """The file's meter as "num/den": the first full bar's (after a partial-bar pickup signature)."""
        return _main_meter(self.time_signatures)

    @property
    def first_bar(self) -> int:
        """The score's number of measure 0: 0 for a pickup bar, else 1."""
        return 0 if self.pickup_beats > 0 else 1

    def describe_part(self) -> str:
        """The melody part in words: 'track 1 "Soprano" channel 1 (the top part)'."""
        name = f' "{self.track_name}"' if self.track_name else ""
        return f"track {self.track}{name} channel {self.channel + 1} ({self.reason})"


# ---- reading -------------------------------------------------------------------------------------------------------


def _load(path: Path) -> tuple[bytes, mido.MidiFile, tuple[tuple[int, int], ...]]:
    """The file's bytes, its mido parse and the byte span of each track chunk; MidiFileError on any failure."""
    source = read_regular(path, MAX_FILE_BYTES, MidiFileError, "MIDI file")
    if source[:4] != b"MThd":
        raise MidiFileError(f"{path}: not a MIDI file (no MThd header)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(source))
    except EOFError as err:
        raise MidiFileError(f"{path}: truncated MIDI file (it ends inside a track)") from err
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:  # mido's ways of saying "corrupt"
        raise MidiFileError(f"{path}: corrupt MIDI file ({err})") from err
    if midi.ticks_per_beat <= 0:
        raise MidiFileError(f"{path}: SMPTE time division is not supported; save the file with ticks per beat")
    if midi.type == 2:
        raise MidiFileError(f"{path}: type-2 MIDI files (independent patterns) are not supported")
    # The same walk over chunk headers as mido's reader, which has just succeeded, so the spans are valid.
    (header_len,) = struct.unpack(">L", source[4:8])
    pos = 8 + header_len
    spans = []
    for _ in midi.tracks:
        (size,) = struct.unpack(">L", source[pos + 4 : pos + 8])
        spans.append((pos, pos + 8 + size))
        pos += 8 + size
    return source, midi, tuple(spans)


def _absolute(track: mido.MidiTrack) -> list[tuple[int, mido.Message]]:
    """(absolute tick, message) for each message of a track."""
    out, now = [], 0
    for msg in track:
        now += msg.time
        out.append((now, msg))
    return out


def _is_note(msg: mido.Message) -> bool:
    return msg.type in ("note_on", "note_off")


def _track_name(track: mido.MidiTrack) -> str:
    """The first track_name (else instrument_name) of a track, stripped; "" when it has none."""
    names = {m.type: m.name.strip() for m in reversed(track) if m.type in ("track_name", "instrument_name")}
    return names.get("track_name") or names.get("instrument_name") or ""


def _parts(midi: mido.MidiFile) -> list[MidiPart]:
    """Every (track, channel) with notes. Note-offs close the earliest open note of their pitch (first in, first out);
    zero-length notes are dropped, notes never closed end at their track's last event."""
    tpb = midi.ticks_per_beat
    parts = []
    for t, track in enumerate(midi.tracks):
        events = _absolute(track)
        track_end = events[-1][0] if events else 0
        open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = defaultdict(deque)  # (ch, pitch) -> (tick, vel)
        spans: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)  # ch -> (on, off, pitch, vel)
        for now, msg in events:
            if not _is_note(msg):
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes[key].append((now, msg.velocity))
            elif open_notes[key]:
                on, vel = open_notes[key].popleft()
                spans[msg.channel].append((on, now, msg.note, vel))
        for (ch, pitch), pending in open_notes.items():
            for on, vel in pending:
                spans[ch].append((on, max(track_end, on), pitch, vel))
        name = _track_name(track)
        for ch, chan_spans in sorted(spans.items()):
            chan_spans = sorted(s for s in chan_spans if s[1] > s[0])
            if not chan_spans:
                continue
            notes = tuple(Note(p, on / tpb, (off - on) / tpb, v) for on, off, p, v in chan_spans)
            overlaps, latest_end = 0, -1.0
            for n in notes:
                if n.start_beats < latest_end - _OVERLAP_TOL_BEATS:
                    overlaps += 1
                latest_end = max(latest_end, n.end_beats)
            parts.append(MidiPart(t, ch, notes, overlaps / len(notes), name))
    return parts


def choose_melody(parts: Sequence[MidiPart], track: int | None, path: Path, n_tracks: int) -> tuple[MidiPart, str]:
    """The melody part by the rule in the module docstring, and the reason in words.

    Args:
        parts: every part with notes (from the file).
        track: only consider this track (0-based), or None for all.
        path: the file, for messages.
        n_tracks: number of tracks in the file, for messages.

    Returns:
        (part, reason): reason is e.g. "the top part", "named like a melody", "--track 2".

    Raises:
        MidiFileError: no track, or the named track, holds non-drum notes; the track index is out of range.
    """
    if track is not None and not 0 <= track < n_tracks:
        raise MidiFileError(f"{path}: --track {track} does not exist; the file has tracks 0..{n_tracks - 1}")
    pitched = [p for p in parts if p.channel != DRUM_CHANNEL]
    candidates = [p for p in pitched if track is None or p.track == track]
    if not candidates:
        with_notes = ", ".join(str(t) for t in sorted({p.track for p in pitched})) or "none"
        if track is None:
            what = "only drum notes (channel 10)" if parts else "no notes"
            raise MidiFileError(f"{path}: {what}; nothing to read as a melody")
        raise MidiFileError(f"{path}: track {track} has no pitched notes; tracks with notes: {with_notes}")
    named = [p for p in candidates if p.named_like_melody]
    mono = [p for p in candidates if p.mostly_monophonic]
    if named:
        pool, why = named, "named like a melody"
    elif mono:
        pool, why = mono, "the top part" if len(candidates) > 1 else "the only part"
    else:
        pool, why = candidates, "the top part; no part is mostly monophonic, chords reduce to their top line"
    most = max(len(p.notes) for p in pool)
    pool = [p for p in pool if len(p.notes) >= MIN_NOTE_SHARE * most]
    best = max(pool, key=lambda p: (p.median_pitch, len(p.notes), -p.track, -p.channel))
    return best, (f"--track {track}" + (f", {why}" if len(candidates) > 1 else "") if track is not None else why)


def _meta_events(midi: mido.MidiFile, kind: str) -> list[tuple[int, mido.MetaMessage]]:
    """(absolute tick, message) of every meta message of one type, all tracks merged, in time order."""
    found = [(now, msg) for track in midi.tracks for now, msg in _absolute(track) if msg.type == kind]
    return sorted(found, key=lambda e: e[0])


def _on_multiple(x: float, step: float) -> bool:
    return abs(x / step - round(x / step)) < _EPS


def _partial_first(sigs: Sequence[tuple[float, int, int]]) -> bool:
    """True when the first of the merged time signatures is a partial-bar signature for a pickup: it lasts exactly
    one bar of itself and a longer meter follows (1/4 then 4/4, 3/8 then 6/8)."""
    if len(sigs) < 2:
        return False
    (_, n0, d0), (b1, n1, d1) = sigs[0], sigs[1]
    first = bar_beats(n0, d0)
    return abs(b1 - first) < _EPS and first < bar_beats(n1, d1) - _EPS


def _main_meter(signatures: Sequence[tuple[float, int, int]]) -> str:
    """The meter of the first full bar, "num/den": the first time signature, or the second after a partial-bar
    pickup signature; "4/4" without any."""
    sigs = _merged(signatures)
    _, num, den = sigs[1] if _partial_first(sigs) else sigs[0]
    return f"{num}/{den}"


def file_grid(path: Path, signatures: Sequence[tuple[float, int, int]]) -> Grid:
    """The grid the meter of a file's first full bar picks (see the module docstring).

    Raises:
        MidiFileError: that meter is served by no grid; the message names it, the bar and the meters read.
    """
    sigs = _merged(signatures)
    partial = _partial_first(sigs)
    _, num, den = sigs[1] if partial else sigs[0]
    grid = grid_for_meter(num, den)
    if grid is None:
        raise MidiFileError(
            f"{path}: meter {num}/{den} at bar {1 if partial or len(sigs) < 2 else _first_bar_number(sigs)} is "
            f"not supported; arvae-live reads {SUPPORTED_TEXT}"
        )
    return grid


def _first_bar_number(sigs: Sequence[tuple[float, int, int]]) -> int:
    """The bar number of the first meter: 0 when the next signature cuts the first bar short (a pickup), else 1."""
    (_, n0, d0), (b1, _, _) = sigs[0], sigs[1]
    return 0 if b1 < bar_beats(n0, d0) - _EPS else 1


def find_pickup(signatures: Sequence[tuple[float, int, int]], grid: Grid = SIMPLE) -> float:
    """The length in quarter notes of the pickup bar the time signatures mark (0 when none); see the module docstring.

    Args:
        signatures: (file beat, numerator, denominator) in time order.
        grid: the file's grid (a pickup is shorter than one of its measures).
    """
    sigs = _merged(signatures)
    if len(sigs) < 2:
        return 0.0
    (_, n0, d0), (b1, n1, d1) = sigs[0], sigs[1]
    first, second = bar_beats(n0, d0), bar_beats(n1, d1)
    if b1 < first - _EPS:
        return b1  # the first bar is cut short by the next time signature
    if abs(b1 - first) < _EPS and first < second - _EPS and b1 < grid.measure_quarters:
        return b1  # a partial-bar time signature (1/4, 3/8, 2/4, 3/4 ...) before the meter
    if abs(first - second) < _EPS and not _on_multiple(b1, first):
        return b1 % first  # the meter restated on a bar line that the first bar did not reach
    return 0.0


def _merged(signatures: Sequence[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    """Time signatures with the default 4/4 at beat 0 when the first comes later, one per beat (the last wins)."""
    by_beat: dict[float, tuple[float, int, int]] = {}
    for beat, num, den in signatures:
        by_beat[round(beat, 6)] = (beat, num, den)
    sigs = sorted(by_beat.values())
    if not sigs or sigs[0][0] > _EPS:
        sigs.insert(0, (0.0, 4, 4))
    return sigs


def _check_meters(path: Path, signatures: list[tuple[float, int, int]], pickup: float, grid: Grid = SIMPLE) -> None:
    """MidiFileError unless every meter is one the grid serves and every change of bar length falls on a measure
    line.

    Measure lines are every grid.measure_quarters from the end of the pickup bar. A partial-bar time signature for
    the pickup itself may be any meter. A time signature that restates the bar length in force changes nothing,
    wherever it falls.
    """
    sigs = _merged(signatures)
    if pickup > 0 and len(sigs) > 1 and abs(sigs[1][0] - pickup) < _EPS:
        sigs = sigs[1:]  # the pickup bar's own time signature, whatever its meter
    measure = grid.measure_quarters
    whole = next(m for m, n in grid.meters.items() if n == 1)  # the meter one measure is a bar of: 4/4, 3/4, 12/8
    bar, anchor, bar_len = 1, pickup, bar_beats(*sigs[0][1:])  # bar 1 starts at the end of the pickup bar (0)
    meter_in_force = f"{sigs[0][1]}/{sigs[0][2]}"
    for beat, num, den in sigs:
        here = 0 if beat < anchor - _EPS else bar + math.floor((beat - anchor) / bar_len + _EPS)
        if beat > anchor + _EPS:
            bar, anchor = here, beat
        other = grid_for_meter(num, den)
        if other is None:
            raise MidiFileError(
                f"{path}: meter {num}/{den} at bar {here} is not supported; arvae-live reads {SUPPORTED_TEXT}"
            )
        if other is not grid:
            raise MidiFileError(
                f"{path}: meter change from {meter_in_force} ({grid.name} grid) to {num}/{den} ({other.name} grid) "
                f"at bar {here}; arvae-live reads a file on one grid: split the file at bar {here}"
            )
        length = bar_beats(num, den)
        if abs(length - bar_len) > _EPS and not _on_multiple(beat - pickup, measure):
            raise MidiFileError(
                f"{path}: meter change to {num}/{den} at bar {here} does not fall on a {whole} barline "
                f"(beat {beat:g}); arvae-live reads {whole} measures counted from the first full bar"
            )
        bar_len, meter_in_force = length, f"{num}/{den}"


def _on_grid_ends(notes: Sequence[Note], tick_beats: float, grid: Grid = SIMPLE) -> list[Note]:
    """Notes whose end lies just before a grid point (by at most EARLY_NOTE_OFF_BEATS, or 2 ticks of the file)
    ended on it instead: a DAW's note-off one tick early is not a rhythm to snap and warn about."""
    tol = max(EARLY_NOTE_OFF_BEATS, 2 * tick_beats)
    measure = grid.measure_quarters
    points = np.array([*grid.tick_quarters, measure])  # a measure's ticks and the next downbeat, quarter notes
    out = []
    for n in notes:
        end = n.end_beats
        frac = end - math.floor(end / measure) * measure
        gap = float(points[np.searchsorted(points, frac - _EPS)]) - frac  # to the grid point at or after the end
        out.append(Note(n.pitch, n.start_beats, n.dur_beats + gap, n.velocity) if _EPS < gap <= tol else n)
    return out


def clip_tokens(clip: MidiClip, vocab: Vocabulary) -> tuple[np.ndarray, list[Adjustment]]:
    """The clip's melody on its grid: int64 tokens (n_measures, clip.grid.ticks) and the changes made
    (notes_to_tokens), with early note-offs read as on the grid (see the module docstring)."""
    notes = _on_grid_ends(clip.notes, 1 / clip.ticks_per_beat, clip.grid)
    return notes_to_tokens(notes, clip.n_measures, vocab, clip.grid)


def read_meter(path: str | os.PathLike) -> tuple[str, Grid]:
    """A file's meter ("num/den", the first full bar's) and the grid it picks, from its time signatures only: how a
    batch picks each file's model before reading it (read_midi checks the rest).

    Raises:
        MidiFileError: the file cannot be read as MIDI, or its meter is served by no grid.
    """
    path = Path(path)
    _, midi, _ = _load(path)
    tpb = midi.ticks_per_beat
    signatures = [(now / tpb, m.numerator, m.denominator) for now, m in _meta_events(midi, "time_signature")]
    return _main_meter(signatures), file_grid(path, signatures)


def read_midi(path: str | os.PathLike, track: int | None = None, pickup: float | None = None) -> MidiClip:
    """Read a MIDI file's melody for regeneration.

    Args:
        path: a type-0 or type-1 standard MIDI file (a regular file of at most MAX_FILE_BYTES).
        track: take the melody from this track (0-based index in the file), or None to choose by the rule in the
            module docstring.
        pickup: the pickup bar's length in quarter notes (0 for none, less than one measure of the file's grid), or
            None to find it from the time signatures.

    Returns:
        The clip: melody notes in grid beats, measure count, tempo and meter, and the file for writing back.

    Raises:
        MidiFileError: missing file, not a regular file, not a MIDI file, too large, truncated or corrupt file,
            SMPTE timing, type-2 file, no notes (or none in the named track), an unsupported meter, a change to
            a meter of another grid, a meter change off a measure line, a melody longer than MAX_MEASURES.
    """
    path = Path(path)
    source, midi, spans = _load(path)
    tpb = midi.ticks_per_beat
    signatures = [(now / tpb, m.numerator, m.denominator) for now, m in _meta_events(midi, "time_signature")]
    grid = file_grid(path, signatures)
    measure = grid.measure_quarters
    if pickup is None:
        pickup = find_pickup(signatures, grid)
    elif not 0 <= pickup < measure:
        raise MidiFileError(
            f"{path}: pickup must be in range 0..{measure:g} beats (exclusive; one {grid.name} measure), got {pickup}"
        )
    _check_meters(path, signatures, pickup, grid)
    parts = _parts(midi)
    melody, reason = choose_melody(parts, track, path, len(midi.tracks))
    pad = (measure - pickup) % measure
    end = max(n.end_beats for n in melody.notes) + pad
    n_measures = max(1, n_measures_for(end, grid))
    if n_measures > MAX_MEASURES:  # checked before any per-measure array exists
        raise MidiFileError(
            f"{path}: the melody is {n_measures:,} bars long (its last note ends at beat {end:,.0f}); "
            f"arvae-live reads at most {MAX_MEASURES} bars: a corrupt delta time, or select a track with --track"
        )
    notes = melody.notes if not pad else tuple(Note(n.pitch, n.start_beats + pad, n.dur_beats, n.velocity)
                                               for n in melody.notes)  # fmt: skip
    tempos = tuple((now / tpb, round(mido.tempo2bpm(m.tempo), 6)) for now, m in _meta_events(midi, "set_tempo"))
    return MidiClip(
        path=path,
        ticks_per_beat=tpb,
        track=melody.track,
        channel=melody.channel,
        notes=notes,
        n_measures=n_measures,
        tempos=tempos,
        time_signatures=tuple(signatures),
        parts=tuple(parts),
        source=source,
        track_spans=spans,
        midi=midi,
        pickup_beats=float(pickup),
        track_name=melody.name,
        reason=reason,
        grid=grid,
    )


# ---- bar selection and note splicing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BarRange:
    """A bar selection as measure indices.

    Attributes:
        start, stop: measures start..stop-1 (0-based, half-open), 0 <= start < stop <= n_measures.
        clamped: a one-line note when the selection asked for bars past the end and was cut, else None.
    """

    start: int
    stop: int
    clamped: str | None = None


def parse_bars(spec: str | None, n_measures: int, first_bar: int = 1) -> BarRange:
    """A bar selection "A:B" (score bar numbers, inclusive; either side may be left out) as measure indices.

    Args:
        spec: "A:B", "A:", ":B", "A" (one bar), or None / "" for every bar.
        n_measures: the clip's length in measures, >= 1.
        first_bar: the score's number of measure 0: 1, or 0 when the clip starts with a pickup bar.

    Returns:
        The range; a B past the last bar is cut there and says so in .clamped.

    Raises:
        MidiFileError: malformed spec, A > B, or A outside the clip's bars.
    """
    last_bar = first_bar + n_measures - 1
    if not spec:
        return BarRange(0, n_measures)
    first, sep, last = spec.partition(":")
    try:
        a = int(first) if first.strip() else first_bar
        b = (int(last) if last.strip() else last_bar) if sep else a
    except ValueError:
        raise MidiFileError(f"--bars {spec!r}: expected A:B with bar numbers counted from 1, e.g. 3:6") from None
    have = f"bars {first_bar}..{last_bar}" + (" (bar 0 is the pickup)" if first_bar == 0 else "")
    if a > last_bar:
        raise MidiFileError(f"--bars {spec!r}: the melody has only {have}")
    if not first_bar <= a <= b:
        raise MidiFileError(f"--bars {spec!r}: need {first_bar} <= A <= B; the melody has {have}")
    clamped = f"--bars {spec}: the melody has {have}; using {a}:{last_bar}" if b > last_bar else None
    return BarRange(a - first_bar, min(b, last_bar) - first_bar + 1, clamped)


def splice_notes(
    old: Iterable[Note], new: Iterable[Note], start_measure: int, stop_measure: int, grid: Grid = SIMPLE
) -> list[Note]:
    """The old notes outside measures start..stop-1 plus the new notes inside them.

    An old note that starts before the window and sounds into it is cut at the window start; old notes starting
    inside the window are replaced. New notes are in grid beats (as MidiClip.notes) and must lie inside the window.

    Args:
        old: the input melody, grid beats.
        new: the regenerated notes for the window, grid beats.
        start_measure, stop_measure: the window, 0-based half-open, in measures of the grid.
        grid: the clip's grid (its measure length in quarter notes).

    Returns:
        The melody to write, in onset order.
    """
    lo, hi = start_measure * grid.measure_quarters, stop_measure * grid.measure_quarters
    eps = 1e-9
    out = []
    for n in old:
        if n.start_beats < lo - eps:
            if n.end_beats > lo + eps:
                n = Note(n.pitch, n.start_beats, lo - n.start_beats, n.velocity)
            out.append(n)
        elif n.start_beats >= hi - eps:
            out.append(n)
    for n in new:
        assert lo - eps <= n.start_beats and n.end_beats <= hi + eps, f"new note {n} outside beats {lo}..{hi}"
        out.append(n)
    return sorted(out, key=lambda n: (n.start_beats, -n.pitch))


# ---- writing -------------------------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits per byte, most significant first, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


_ONE_BYTE_VARINTS = [bytes((v,)) for v in range(0x80)]  # delta times below 128 ticks, the common case


def _file_bytes(msg: mido.Message | mido.MetaMessage) -> bytes:
    """A message as it is stored in a track chunk (after its delta time)."""
    if msg.type == "sysex":  # stored as F0 <length> <data> F7, unlike on the wire
        return b"\xf0" + _varint(len(msg.data) + 1) + bytes(msg.data) + b"\xf7"
    return bytes(msg.bytes())


def melody_chunk(clip: MidiClip, notes: Iterable[Note], tag: bytes | None = None) -> bytes:
    """The melody track's MTrk chunk with the melody channel's note events replaced by notes.

    Every other event keeps its absolute tick and its order. At one tick, new note-offs come first, then the kept
    events, then new note-ons, so a controller or program change set at a note's onset still precedes it. The
    end_of_track moves later if a new note ends after it. Encoded here rather than through mido.Message objects,
    whose validation made writing cost as much as the engine (benchmarks/regenerate_throughput.py); the encoding
    is mido's (running status for channel messages, none across meta and sysex), so mido reads it back.

    Args:
        clip: the clip read from the file.
        notes: the melody to write, grid beats (as clip.notes). Notes in the rest that pads a pickup bar (before
            the file start) are dropped, and a note sounding from there into the file starts at the file start.
        tag: data of a sequencer-specific meta event to add at the end of the track (see options_tag), or None.

    Returns:
        The chunk bytes, header included; the clip is not modified.
    """
    tpb = clip.ticks_per_beat
    events: list[tuple[int, int, int, bytes]] = []  # (tick, rank, sequence, message bytes)
    end_of_track = 0
    for seq, (now, msg) in enumerate(_absolute(clip.midi.tracks[clip.track])):
        if msg.type == "end_of_track":
            end_of_track = now
        elif not (_is_note(msg) and msg.channel == clip.channel):
            events.append((now, 1, seq, _file_bytes(msg)))
    seq = len(events) + 1
    note_on, note_off = 0x90 | clip.channel, 0x80 | clip.channel
    pad = clip.pickup_pad
    for n in notes:
        start = n.start_beats - pad
        on, off = round(start * tpb), round((start + n.dur_beats) * tpb)  # start + dur is n.end_beats
        if off <= 0:
            continue  # wholly in the pickup's padding, which the file does not have
        on = max(on, 0)
        if off <= on:
            off = on + 1  # a note never shrinks to nothing on a coarse file grid
        events.append((on, 2, seq, bytes((note_on, n.pitch, n.velocity))))
        events.append((off, 0, seq, bytes((note_off, n.pitch, 0))))
        seq += 1
    events.sort()  # by (tick, rank, sequence): sequence numbers are unique, so the bytes are never compared
    parts, last, running = [], 0, None
    one_byte = _ONE_BYTE_VARINTS
    for now, _, _, raw in events:
        delta = now - last
        parts.append(one_byte[delta] if delta < 0x80 else _varint(delta))
        last = now
        status = raw[0]
        parts.append(raw[1:] if status == running else raw)
        running = status if status < 0xF0 else None  # meta (FF) and sysex (F0) cancel running status
    if tag is not None:
        parts.append(b"\x00\xff\x7f" + _varint(len(tag)) + tag)
    parts.append(_varint(max(end_of_track, last) - last) + b"\xff\x2f\x00")
    data = b"".join(parts)
    return b"MTrk" + struct.pack(">L", len(data)) + data


def midi_bytes(clip: MidiClip, notes: Iterable[Note], tag: bytes | None = None) -> bytes:
    """The bytes of the output file: the input's bytes with only the melody track's chunk re-encoded (and tagged)."""
    start, end = clip.track_spans[clip.track]
    return clip.source[:start] + melody_chunk(clip, notes, tag) + clip.source[end:]


# A sequencer-specific meta event (FF 7F) whose data starts with manufacturer id 7D (non-commercial use) and this
# marker; DAWs and mido keep and ignore it. It carries the digest of what made an output (batch.options_digest).
_TAG_MARKER = b"\x7darvae-live options "
_TAG_DIGITS = 16


def options_tag(digest: str) -> bytes:
    """The data of the meta event that marks an output with the digest of its options (16 hex digits)."""
    assert len(digest) == _TAG_DIGITS and all(c in "0123456789abcdef" for c in digest), digest
    return _TAG_MARKER + digest.encode()


def read_options_tag(path: str | os.PathLike) -> str | None:
    """The options digest an output file was tagged with, or None when it has none (or is not a regular file).

    A byte search, not a parse: only our own outputs are read this way, and a file without the marker is simply
    not ours (or from before tagging).
    """
    try:
        data = read_regular(path, MAX_FILE_BYTES, MidiFileError, "MIDI file")
    except MidiFileError:
        return None
    i = data.rfind(_TAG_MARKER)
    if i < 0:
        return None
    digest = data[i + len(_TAG_MARKER) : i + len(_TAG_MARKER) + _TAG_DIGITS].decode("ascii", "replace")
    return digest if len(digest) == _TAG_DIGITS else None


def write_midi(clip: MidiClip, notes: Iterable[Note], path: str | os.PathLike) -> Path:
    """Write the clip's file with its melody replaced by notes, atomically.

    Args:
        clip: the clip read from the input file.
        notes: the whole melody to write (see splice_notes), beats from the file start.
        path: the output file; must not be the input file.

    Returns:
        The path written.

    Raises:
        MidiFileError: path is the input file (inputs are never overwritten).
    """
    path = check_output(clip, path)
    return write_atomic(path, midi_bytes(clip, notes))


def check_output(clip: MidiClip, path: str | os.PathLike) -> Path:
    """The output path, refused when it is the clip's input file or a link to it (inputs are never overwritten), or
    something other than a regular file (a folder, a FIFO).

    Raises:
        MidiFileError: path is the input file, or exists and is not a regular file.
    """
    path = Path(path)
    # samefile (device and inode, through links) costs two stats; resolve() on both walked every path component
    try:
        same = os.path.samefile(path, clip.path)
    except OSError:  # the output does not exist yet (or the input is gone): nothing to overwrite
        same = False
    if same:
        raise MidiFileError(f"{path}: refusing to overwrite the input file; choose another output")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return path
    if not stat.S_ISREG(mode):
        raise MidiFileError(f"{path}: the output path is {file_kind(mode)}; refusing to replace it")
    return path
