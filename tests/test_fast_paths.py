"""The fast hot paths give exactly what their straightforward, note-by-note definitions give.

Each reference below is the plain loop the fast code replaced, kept here as the definition. Outputs are compared
with == on Note dataclasses, so pitches, velocities and the float times must be the same bits, not just close.
"""

from __future__ import annotations

import bisect
import struct

import numpy as np
import pytest

from arvae_live.core.representation import (
    HOLD,
    REST,
    TICKS_PER_MEASURE,
    Note,
    Vocabulary,
    ticks_to_beats,
    tokens_to_notes,
)
from arvae_live.engine import carry_velocities
from arvae_live.osc_bridge import MessageTemplate, encode_message


def reference_tokens_to_notes(tokens: np.ndarray, vocab: Vocabulary, velocity: int = 100) -> list[Note]:
    """Walk the ticks one by one: a non-HOLD tick closes the open note; a pitch token opens one."""
    flat = np.asarray(tokens, dtype=np.int64).reshape(-1)
    notes: list[Note] = []
    onset = pitch = None
    for t, tok in enumerate(flat.tolist() + [REST]):  # a REST past the end closes the last note
        if tok == HOLD:
            continue
        if pitch is not None:
            start = float(ticks_to_beats(onset))
            notes.append(Note(pitch, start, float(ticks_to_beats(t)) - start, velocity))
        onset, pitch = (None, None) if tok == REST else (t, vocab.token_to_pitch(tok))
    return notes


def reference_carry_velocities(notes: list[Note], source: list[Note], default: int = 100) -> list[Note]:
    """Note by note, binary search of the sorted input onsets; the earlier neighbour wins a tie in distance.

    Among input notes with equal onsets (stable order), the one met first from the note's side is taken: the last
    of an earlier group, the first of a later one, as the engine always did.
    """
    if not source:
        return [Note(n.pitch, n.start_beats, n.dur_beats, default) for n in notes]
    order = sorted(range(len(source)), key=lambda k: source[k].start_beats)  # stable
    starts = [source[k].start_beats for k in order]
    out = []
    for n in notes:
        i = bisect.bisect_left(starts, n.start_beats)
        if i == len(starts) or (i > 0 and n.start_beats - starts[i - 1] <= starts[i] - n.start_beats):
            i -= 1
        out.append(Note(n.pitch, n.start_beats, n.dur_beats, source[order[i]].velocity))
    return out


def random_tokens(rng: np.random.Generator, vocab: Vocabulary, n_measures: int) -> np.ndarray:
    """Random measures with plenty of HOLDs, rests and pitches, including a HOLD at the very start sometimes."""
    kinds = rng.choice(3, size=(n_measures, TICKS_PER_MEASURE), p=[0.55, 0.15, 0.30])
    pitches = rng.integers(2, vocab.size, size=kinds.shape)
    return np.where(kinds == 0, HOLD, np.where(kinds == 1, REST, pitches)).astype(np.int64)


@pytest.mark.parametrize("seed", range(4))
def test_tokens_to_notes_matches_the_tick_walk(seed):
    rng = np.random.default_rng(seed)
    vocab = Vocabulary(48, 72) if seed % 2 else Vocabulary()
    for n_measures in (0, 1, 2, 5, 17):
        tokens = random_tokens(rng, vocab, n_measures)
        velocity = int(rng.integers(1, 128))
        assert tokens_to_notes(tokens, vocab, velocity) == reference_tokens_to_notes(tokens, vocab, velocity)
        assert tokens_to_notes(tokens.reshape(-1), vocab) == reference_tokens_to_notes(tokens, vocab)


def test_tokens_to_notes_edge_cases_by_hand(vocab):
    p60 = 2 + 60 - 55
    assert tokens_to_notes(np.full((2, 24), HOLD), vocab) == []  # nothing to continue: silence
    assert tokens_to_notes(np.full((1, 24), REST), vocab) == []
    # one note held over the barline to the end of bar 2: 8 beats from beat 0
    one = np.full((2, 24), HOLD)
    one[0, 0] = p60
    assert tokens_to_notes(one, vocab) == [Note(60, 0.0, 8.0)]
    # last tick only: starts on the last 16th of beat 4 (3.75) and lasts to the bar end
    last = np.full((1, 24), HOLD)
    last[0, 23] = p60
    assert tokens_to_notes(last, vocab, 7) == [Note(60, 3.75, 0.25, 7)]


@pytest.mark.parametrize("seed", range(4))
def test_carry_velocities_matches_the_nearest_onset_scan(seed):
    rng = np.random.default_rng(100 + seed)
    for n_src, n_out in ((0, 5), (1, 6), (7, 0), (9, 30), (40, 40)):
        # onsets on a coarse grid so that exact ties (equal distance to two inputs, equal onsets) happen often
        src = [Note(60, float(rng.integers(0, 32)) / 4, 0.25, int(rng.integers(1, 128))) for _ in range(n_src)]
        out = [Note(62, float(rng.integers(0, 36)) / 8, 0.5) for _ in range(n_out)]
        assert carry_velocities(out, src) == reference_carry_velocities(out, src)
        assert carry_velocities(iter(out), tuple(src), default=9) == reference_carry_velocities(out, src, 9)


def reference_encode(address: str, *args) -> bytes:
    """OSC 1.0 by the spec: padded address, padded type tags, then big-endian int32 / float32 / padded strings."""

    def pad(b: bytes) -> bytes:
        b += b"\0"
        return b + b"\0" * (-len(b) % 4)

    tags, body = ",", b""
    for a in args:
        if isinstance(a, (int, np.integer)):
            tags, body = tags + "i", body + struct.pack(">i", int(a))
        elif isinstance(a, (float, np.floating)):
            tags, body = tags + "f", body + struct.pack(">f", float(a))
        else:
            tags, body = tags + "s", body + pad(a.encode())
    return pad(address.encode()) + pad(tags.encode()) + body


def test_encode_message_and_templates_match_the_spec_encoding():
    rng = np.random.default_rng(7)
    template = MessageTemplate("/arvae/result/note", "iiiiffi")
    for _ in range(200):
        ints = [int(x) for x in rng.integers(-(2**31), 2**31, size=5)]
        floats = [float(x) for x in rng.normal(0, 100, size=2)]
        args = (ints[0], ints[1], ints[2], ints[3], floats[0], floats[1], ints[4])
        want = reference_encode("/arvae/result/note", *args)
        assert encode_message("/arvae/result/note", *args) == want
        assert template.encode(*args) == want
    mixed = ("name", np.int64(3), np.float32(0.5), 7, 2.25, "é", np.float64(-1e3))
    assert encode_message("/x", *mixed) == reference_encode("/x", *mixed)
    for bad in (True, None, b"bytes", [1]):
        with pytest.raises(ValueError):
            encode_message("/x", 1, bad)
    with pytest.raises(ValueError):
        MessageTemplate("/x", "is")  # strings have no fixed size


def reference_melody_chunk(clip, notes) -> bytes:
    """The melody track re-encoded event by event: kept events and new notes, sorted, with running status."""
    tpb = clip.ticks_per_beat
    events, end_of_track, now = [], 0, 0
    for seq, msg in enumerate(clip.midi.tracks[clip.track]):
        now += msg.time
        if msg.type == "end_of_track":
            end_of_track = now
        elif not (msg.type in ("note_on", "note_off") and msg.channel == clip.channel):
            raw = bytes(msg.bytes()) if msg.type != "sysex" else b"\xf0" + bytes([len(msg.data) + 1, *msg.data, 0xF7])
            events.append((now, 1, seq, raw))
    seq = len(events) + 1
    for n in notes:
        on = round(n.start_beats * tpb)
        off = max(round(n.end_beats * tpb), on + 1)
        events.append((on, 2, seq, bytes((0x90 | clip.channel, n.pitch, n.velocity))))
        events.append((off, 0, seq, bytes((0x80 | clip.channel, n.pitch, 0))))
        seq += 1
    events.sort(key=lambda e: e[:3])
    data, last, running = b"", 0, None
    for tick, _, _, raw in events:
        delta = tick - last
        var = [delta & 0x7F]
        while delta > 0x7F:
            delta >>= 7
            var.insert(0, 0x80 | (delta & 0x7F))
        data += bytes(var) + (raw[1:] if raw[0] == running else raw)
        running = raw[0] if raw[0] < 0xF0 else None
        last = tick
    tail = max(end_of_track, last) - last
    assert tail < 0x80  # the test file ends right after its last event
    data += bytes((tail,)) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">L", len(data)) + data


def _test_midi_file(tmp_path):
    """A one-track file: tempo, meter, program change, sysex, a 40-quarter melody on channel 0, bass on channel 1."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    track += [
        mido.MetaMessage("set_tempo", tempo=500000, time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.Message("program_change", program=5, channel=0, time=0),
        mido.Message("sysex", data=[1, 2, 3], time=0),
    ]
    for k in range(40):  # melody on channel 0 (quarters), a bass note on channel 1 every bar, a controller
        track.append(mido.Message("note_on", note=60 + k % 12, velocity=90, channel=0, time=0))
        if k % 4 == 0:
            track.append(mido.Message("note_on", note=40, velocity=70, channel=1, time=0))
            track.append(mido.Message("control_change", control=7, value=k, channel=0, time=0))
        track.append(mido.Message("note_off", note=60 + k % 12, velocity=0, channel=0, time=480))
        if k % 4 == 3:
            track.append(mido.Message("note_off", note=40, velocity=0, channel=1, time=0))
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(track)
    path = tmp_path / "in.mid"
    mid.save(path)
    return path


def test_melody_chunk_matches_the_event_by_event_encoding(tmp_path):
    from arvae_live.midi_files import melody_chunk, read_midi

    clip = read_midi(_test_midi_file(tmp_path), track=0)
    rng = np.random.default_rng(3)
    for n_notes in (0, 1, 50, 300):
        starts = np.sort(rng.integers(0, 40 * 24, size=n_notes)) / 6.0  # beats, on and off the file's grid
        notes = [Note(int(rng.integers(30, 100)), float(s), float(rng.choice([1 / 3, 0.25, 1.0, 1e-4, 300.0])),
                      int(rng.integers(1, 128))) for s in starts]  # fmt: skip
        assert melody_chunk(clip, notes) == reference_melody_chunk(clip, notes)


def test_melody_with_is_splice_of_carried_token_notes(tmp_path):
    from arvae_live.batch import melody_with
    from arvae_live.midi_files import read_midi, splice_notes

    clip = read_midi(_test_midi_file(tmp_path), track=0)
    vocab = Vocabulary()
    rng = np.random.default_rng(5)
    for start, stop in ((0, clip.n_measures), (2, 5), (9, 10)):
        tokens = random_tokens(rng, vocab, stop - start)
        want = splice_notes(clip.notes, reference_carry_velocities(reference_tokens_to_notes(
            np.concatenate([np.full((start, 24), HOLD), tokens]), vocab), list(clip.notes)), start, stop)  # fmt: skip
        assert melody_with(clip, tokens, vocab, start, stop) == want


def test_result_notes_are_the_carried_token_notes_cut_to_the_clip_length():
    from arvae_live.osc_bridge import result_notes

    def reference(tokens, vocab, source, length):
        out = []
        for n in reference_carry_velocities(reference_tokens_to_notes(tokens, vocab), list(source)):
            if n.start_beats >= length - 1e-9:
                continue
            dur = min(n.dur_beats, length - n.start_beats)
            out.append(Note(n.pitch, n.start_beats, dur, n.velocity))
        return out

    vocab = Vocabulary()
    rng = np.random.default_rng(11)
    for n_measures in (1, 3, 8):
        tokens = random_tokens(rng, vocab, n_measures)
        source = [Note(60, float(rng.integers(0, 96)) / 3, 0.5, int(rng.integers(1, 128))) for _ in range(9)]
        for length in (4.0 * n_measures, 4.0 * n_measures - 1.3, 2.5, 0.1):
            for src in (source, ()):
                got = [Note(*f) for f in zip(*result_notes(tokens, vocab, src, length), strict=True)]
                assert got == reference(tokens, vocab, src, length)
