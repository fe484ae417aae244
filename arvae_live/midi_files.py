"""Standard MIDI files: read a file's melody as notes in beats, and write regenerated notes back into a copy.

Reading (`read_midi`) finds the melody *part*, a (track, channel) pair, by this rule:

1. Candidates are the (track, channel) pairs that hold notes, leaving out channel 10 (index 9, General MIDI drums).
   With ``track=N`` only the pairs of track N (0-based, as stored in the file; track 0 of a type-1 file is usually
   the tempo track) are candidates.
2. A part is *mostly monophonic* when at most 10% of its notes start while another of its notes still sounds (by
   more than 1/8 beat, so that legato overlaps of a performance do not count).
3. The melody is the mostly-monophonic candidate with the most notes; when none is mostly monophonic, the candidate
   with the most notes (its chords then reduce to their top line, which notes_to_tokens reports). Ties go to the
   lower track, then the lower channel.

Meter: arvae-live works on 4/4 measures counted from the start of the file. 4/4 and 2/2 bars are one measure each;
2/4 bars are read in pairs as one 4/4 measure. Any other meter, or a change of bar length (4/4 <-> 2/4) that does
not fall on a 4/4 barline, raises MidiFileError naming the meter and the bar. A file without a time signature is 4/4
(the MIDI default). A pickup written as the first notes of the file (as music21 writes one) shifts the grid:
measures are counted from the file start, not from the first full bar.

Writing (`write_midi`) copies the input byte for byte except the melody track's chunk, which is re-encoded with the
melody part's note events replaced; every other event of that track (tempo, meter, controllers, program changes,
the notes of its other channels, meta events) keeps its absolute time and order. Writes are atomic: a temporary
file beside the target, then os.replace. The input file is only read.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from arvae_live.core.atomic import write_atomic
from arvae_live.core.representation import BEATS_PER_MEASURE, Note, n_measures_for
from arvae_live.errors import MidiFileError

log = logging.getLogger(__name__)

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
MONOPHONIC_MAX_OVERLAP = 0.10  # a part is mostly monophonic when at most this fraction of its notes overlap another
_OVERLAP_TOL_BEATS = 1 / 8  # overlaps shorter than this are legato, not polyphony
# Meters read as 4/4 measures: (numerator, denominator) -> bar length in quarter notes.
SUPPORTED_METERS = {(4, 4): 4.0, (2, 2): 4.0, (2, 4): 2.0}


@dataclass(frozen=True)
class MidiPart:
    """The notes of one channel of one track.

    Attributes:
        track: track index in the file, 0-based.
        channel: MIDI channel, 0..15 (9 is drums).
        notes: the part's notes in onset order, times in beats (quarter notes) from the file start.
        overlap_fraction: fraction of notes that start while another note of the part sounds, 0..1.
    """

    track: int
    channel: int
    notes: tuple[Note, ...]
    overlap_fraction: float

    @property
    def mostly_monophonic(self) -> bool:
        return self.overlap_fraction <= MONOPHONIC_MAX_OVERLAP


@dataclass(frozen=True)
class MidiClip:
    """A MIDI file read for regeneration: its melody part, meter, tempo and what is needed to write it back.

    Attributes:
        path: the file read.
        ticks_per_beat: the file's resolution, ticks per quarter note, >= 1.
        track: index of the melody track, 0-based.
        channel: MIDI channel of the melody, 0..15.
        notes: melody notes in onset order, times in beats (quarter notes) from the file start.
        n_measures: number of 4/4 measures holding the melody (a partial last bar counts), >= 1.
        tempos: (beat, beats per minute) of each tempo change, in time order; empty means 120 bpm.
        time_signatures: (beat, numerator, denominator) of each time signature, in time order.
        parts: every candidate part (track, channel) that holds notes, drums included, for messages and reports.
        source: the file's bytes, so that untouched tracks are written back byte for byte.
        track_spans: (start, end) byte offsets of each track chunk in source.
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


# ---- reading -------------------------------------------------------------------------------------------------------


def _load(path: Path) -> tuple[bytes, mido.MidiFile, tuple[tuple[int, int], ...]]:
    """The file's bytes, its mido parse and the byte span of each track chunk; MidiFileError on any failure."""
    if not path.exists():
        raise MidiFileError(f"{path}: no such file")
    if path.is_dir():
        raise MidiFileError(f"{path}: is a folder, not a MIDI file")
    try:
        source = path.read_bytes()
    except OSError as err:
        raise MidiFileError(f"{path}: cannot read ({err.strerror or err})") from err
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
            parts.append(MidiPart(t, ch, notes, overlaps / len(notes)))
    return parts


def choose_melody(parts: Sequence[MidiPart], track: int | None, path: Path, n_tracks: int) -> MidiPart:
    """The melody part by the rule in the module docstring.

    Args:
        parts: every part with notes (from the file).
        track: only consider this track (0-based), or None for all.
        path: the file, for messages.
        n_tracks: number of tracks in the file, for messages.

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
    mono = [p for p in candidates if p.mostly_monophonic]
    pool = mono or candidates
    best = max(pool, key=lambda p: (len(p.notes), -p.track, -p.channel))
    if not mono:
        log.warning(
            "%s: no mostly monophonic part; using track %d channel %d (%.0f%% of its notes overlap), chords reduce "
            "to their top line",
            path,
            best.track,
            best.channel + 1,
            100 * best.overlap_fraction,
        )
    return best


def _meta_events(midi: mido.MidiFile, kind: str) -> list[tuple[int, mido.MetaMessage]]:
    """(absolute tick, message) of every meta message of one type, all tracks merged, in time order."""
    found = [(now, msg) for track in midi.tracks for now, msg in _absolute(track) if msg.type == kind]
    return sorted(found, key=lambda e: e[0])


def _check_meters(path: Path, signatures: list[tuple[float, int, int]]) -> None:
    """MidiFileError unless every meter is supported and every change of bar length falls on a 4/4 barline.

    A time signature that restates the bar length in force (4/4 again, as music21 writes after a pickup) changes
    nothing on the grid, wherever it falls.
    """
    bar, bar_start, bar_len = 1, 0.0, 4.0  # file bar number at bar_start (in beats), the bar length in force
    for beat, num, den in signatures:
        bar += round((beat - bar_start) / bar_len)
        bar_start = beat
        if (num, den) not in SUPPORTED_METERS:
            raise MidiFileError(
                f"{path}: meter {num}/{den} at bar {bar} is not supported; arvae-live reads 4/4 measures "
                "(2/2 as 4/4, 2/4 in pairs)"
            )
        changes_length = SUPPORTED_METERS[(num, den)] != bar_len
        if changes_length and abs(beat / BEATS_PER_MEASURE - round(beat / BEATS_PER_MEASURE)) > 1e-6:
            raise MidiFileError(
                f"{path}: meter change to {num}/{den} at bar {bar} does not fall on a 4/4 barline "
                f"(beat {beat:g}); arvae-live reads 4/4 measures counted from the file start"
            )
        bar_len = SUPPORTED_METERS[(num, den)]


def read_midi(path: str | os.PathLike, track: int | None = None) -> MidiClip:
    """Read a MIDI file's melody for regeneration.

    Args:
        path: a type-0 or type-1 standard MIDI file.
        track: take the melody from this track (0-based index in the file), or None to choose by the rule in the
            module docstring.

    Returns:
        The clip: melody notes in beats, 4/4 measure count, tempo and meter, and the file for writing back.

    Raises:
        MidiFileError: missing file, not a MIDI file, truncated or corrupt file, SMPTE timing, type-2 file, no notes
            (or none in the named track), an unsupported meter or a meter change off a 4/4 barline.
    """
    path = Path(path)
    source, midi, spans = _load(path)
    tpb = midi.ticks_per_beat
    signatures = [(now / tpb, m.numerator, m.denominator) for now, m in _meta_events(midi, "time_signature")]
    _check_meters(path, signatures)
    parts = _parts(midi)
    melody = choose_melody(parts, track, path, len(midi.tracks))
    tempos = tuple((now / tpb, round(mido.tempo2bpm(m.tempo), 6)) for now, m in _meta_events(midi, "set_tempo"))
    return MidiClip(
        path=path,
        ticks_per_beat=tpb,
        track=melody.track,
        channel=melody.channel,
        notes=melody.notes,
        n_measures=max(1, n_measures_for(max(n.end_beats for n in melody.notes))),
        tempos=tempos,
        time_signatures=tuple(signatures),
        parts=tuple(parts),
        source=source,
        track_spans=spans,
        midi=midi,
    )


# ---- bar selection and note splicing -------------------------------------------------------------------------------


def parse_bars(spec: str | None, n_measures: int) -> tuple[int, int]:
    """A bar selection "A:B" (1-based, inclusive; either side may be left out) as a 0-based half-open range.

    Args:
        spec: "A:B", "A:", ":B", "A" (one bar), or None / "" for every bar.
        n_measures: the clip's length in measures, >= 1.

    Returns:
        (start, stop): measures start..stop-1, 0 <= start < stop <= n_measures.

    Raises:
        MidiFileError: malformed spec, or a range outside 1..n_measures.
    """
    if not spec:
        return 0, n_measures
    first, sep, last = spec.partition(":")
    try:
        a = int(first) if first.strip() else 1
        b = (int(last) if last.strip() else n_measures) if sep else a
    except ValueError:
        raise MidiFileError(f"--bars {spec!r}: expected A:B with bar numbers counted from 1, e.g. 3:6") from None
    if a > n_measures:
        raise MidiFileError(f"--bars {spec!r}: the melody has only {n_measures} bar(s)")
    if not 1 <= a <= b:
        raise MidiFileError(f"--bars {spec!r}: need 1 <= A <= B")
    return a - 1, min(b, n_measures)


def splice_notes(old: Iterable[Note], new: Iterable[Note], start_measure: int, stop_measure: int) -> list[Note]:
    """The old notes outside measures start..stop-1 plus the new notes inside them.

    An old note that starts before the window and sounds into it is cut at the window start; old notes starting
    inside the window are replaced. New notes are in beats from the file start and must lie inside the window.

    Args:
        old: the input melody, beats from the file start.
        new: the regenerated notes for the window, beats from the file start.
        start_measure, stop_measure: the window, 0-based half-open, in 4/4 measures.

    Returns:
        The melody to write, in onset order.
    """
    lo, hi = start_measure * BEATS_PER_MEASURE, stop_measure * BEATS_PER_MEASURE
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


def melody_chunk(clip: MidiClip, notes: Iterable[Note]) -> bytes:
    """The melody track's MTrk chunk with the melody channel's note events replaced by notes.

    Every other event keeps its absolute tick and its order. At one tick, new note-offs come first, then the kept
    events, then new note-ons, so a controller or program change set at a note's onset still precedes it. The
    end_of_track moves later if a new note ends after it. Encoded here rather than through mido.Message objects,
    whose validation made writing cost as much as the engine (benchmarks/regenerate_throughput.py); the encoding
    is mido's (running status for channel messages, none across meta and sysex), so mido reads it back.

    Args:
        clip: the clip read from the file.
        notes: the melody to write, beats from the file start.

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
    for n in notes:
        start = n.start_beats
        on, off = round(start * tpb), round((start + n.dur_beats) * tpb)  # start + dur is n.end_beats
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
    parts.append(_varint(max(end_of_track, last) - last) + b"\xff\x2f\x00")
    data = b"".join(parts)
    return b"MTrk" + struct.pack(">L", len(data)) + data


def midi_bytes(clip: MidiClip, notes: Iterable[Note]) -> bytes:
    """The bytes of the output file: the input's bytes with only the melody track's chunk re-encoded."""
    start, end = clip.track_spans[clip.track]
    return clip.source[:start] + melody_chunk(clip, notes) + clip.source[end:]


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
    """The output path, refused when it is the clip's input file or a link to it (inputs are never overwritten).

    Raises:
        MidiFileError: path is the input file.
    """
    path = Path(path)
    # samefile (device and inode, through links) costs two stats; resolve() on both walked every path component
    try:
        same = os.path.samefile(path, clip.path)
    except OSError:  # the output does not exist yet (or the input is gone): nothing to overwrite
        same = False
    if same:
        raise MidiFileError(f"{path}: refusing to overwrite the input file; choose another output")
    return path
