"""The fast hot paths give exactly what independent definitions give.

Tokens to notes against a tick-by-tick walk, carried velocities against a brute-force nearest-onset search, the OSC
encoder against python-osc's message builder, the MIDI track encoder against mido reading the bytes back. Notes are
compared with == on Note dataclasses, so pitches, velocities and the float times must be the same bits, not just close.
"""

from __future__ import annotations

import io
import struct

import mido
import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from arvae_live.core.notes import DEFAULT_VELOCITY, carried_note_fields, carried_notes
from arvae_live.core.representation import (
    HOLD,
    REST,
    TICKS_PER_MEASURE,
    Note,
    Vocabulary,
    ticks_to_beats,
    tokens_to_notes,
)
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


def brute_force_velocity(start: float, source: list[Note]) -> int:
    """The velocity of the source note nearest in onset to start, searched over all of them: on equal distance the
    earlier onset wins; among source notes with the same onset (in their given order) the last one when that onset
    is before start, the first one otherwise (the one a sweep from start's side meets first)."""
    if not source:
        return DEFAULT_VELOCITY
    dist = min(abs(s.start_beats - start) for s in source)
    onset = min(s.start_beats for s in source if abs(s.start_beats - start) == dist)
    group = [s for s in source if s.start_beats == onset]
    return (group[-1] if onset < start else group[0]).velocity


def reference_carried(tokens: np.ndarray, vocab: Vocabulary, source: list[Note], length: float | None = None):
    """Tick-walk notes, cut to length (notes starting at or after it dropped, the last one cut there), with the
    brute-force velocities."""
    out = []
    for n in reference_tokens_to_notes(tokens, vocab):
        if length is not None and n.start_beats >= length - 1e-9:
            continue
        dur = n.dur_beats if length is None else min(n.dur_beats, length - n.start_beats)
        out.append(Note(n.pitch, n.start_beats, dur, brute_force_velocity(n.start_beats, source)))
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


def test_carried_notes_take_the_nearest_input_onset_by_hand(vocab):
    p = 2 - 55  # token of MIDI pitch p is p + this
    tokens = np.full((3, 24), HOLD)
    for tick, pitch in ((0, 60), (5, 62), (6, 64), (21, 65), (54, 67), (71, 69)):  # beats 0, 0.75, 1, 3.5, 9, 11.75
        tokens.flat[tick] = pitch + p
    src = [Note(60, 0.0, 1.0, 30), Note(62, 2.0, 1.0, 90), Note(63, 2.0, 1.0, 91), Note(64, 3.0, 1.0, 120)]
    notes = carried_notes(tokens, vocab, src)
    assert [n.pitch for n in notes] == [60, 62, 64, 65, 67, 69]
    # 1.0 is as far from 0.0 as from 2.0: the earlier wins; 3.5 and later: the last input note
    assert [n.velocity for n in notes] == [30, 30, 30, 120, 120, 120]
    assert [n.velocity for n in carried_notes(tokens, vocab, [])] == [DEFAULT_VELOCITY] * 6
    # two input notes at beat 2: from before (1.5) the first of them, from after (2.5) the last
    at_2 = np.full((1, 24), HOLD)
    at_2[0, 9], at_2[0, 15] = 60 + p, 62 + p
    assert [n.velocity for n in carried_notes(at_2, vocab, src)] == [90, 91]
    fields = carried_note_fields(tokens, vocab, src, length_beats=9.5)
    assert fields == (
        [60, 62, 64, 65, 67],
        [0.0, 0.75, 1.0, 3.5, 9.0],
        [0.75, 0.25, 2.5, 5.5, 0.5],  # the last one cut at 9.5
        [30] * 3 + [120] * 2,
    )


@pytest.mark.parametrize("seed", range(4))
def test_carried_notes_match_the_tick_walk_and_the_brute_force_velocities(seed):
    rng = np.random.default_rng(100 + seed)
    vocab = Vocabulary()
    for n_src, n_measures in ((0, 2), (1, 1), (7, 0), (9, 3), (40, 6)):
        # onsets on a coarse grid so that exact ties (equal distance to two inputs, equal onsets) happen often
        src = [Note(60, float(rng.integers(0, 32)) / 4, 0.25, int(rng.integers(1, 128))) for _ in range(n_src)]
        tokens = random_tokens(rng, vocab, n_measures)
        assert carried_notes(tokens, vocab, src) == reference_carried(tokens, vocab, src)
        assert carried_notes(tokens, vocab, tuple(src)) == reference_carried(tokens, vocab, src)


def test_carried_note_fields_cut_to_the_clip_length():
    vocab = Vocabulary()
    rng = np.random.default_rng(11)
    for n_measures in (1, 3, 8):
        tokens = random_tokens(rng, vocab, n_measures)
        source = [Note(60, float(rng.integers(0, 96)) / 3, 0.5, int(rng.integers(1, 128))) for _ in range(9)]
        for length in (4.0 * n_measures, 4.0 * n_measures - 1.3, 2.5, 0.1):
            for src in (source, []):
                got = [Note(*f) for f in zip(*carried_note_fields(tokens, vocab, src, length), strict=True)]
                assert got == reference_carried(tokens, vocab, src, length)
                assert got == carried_notes(tokens, vocab, src, length)


def python_osc(address: str, *args) -> bytes:
    """The datagram python-osc's builder makes, each argument typed as the protocol sends it."""
    builder = OscMessageBuilder(address)
    for a in args:
        if isinstance(a, (int, np.integer)):
            builder.add_arg(int(a), OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(a, (float, np.floating)):
            builder.add_arg(float(a), OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            builder.add_arg(a, OscMessageBuilder.ARG_TYPE_STRING)
    return builder.build().dgram


def test_encode_message_and_templates_match_python_osc():
    rng = np.random.default_rng(7)
    template = MessageTemplate("/arvae/result/note", "iiiiffi")
    for _ in range(200):
        ints = [int(x) for x in rng.integers(-(2**31), 2**31, size=5)]
        floats = [float(x) for x in rng.normal(0, 100, size=2)]
        args = (ints[0], ints[1], ints[2], ints[3], floats[0], floats[1], ints[4])
        want = python_osc("/arvae/result/note", *args)
        assert encode_message("/arvae/result/note", *args) == want
        assert template.encode(*args) == want
    mixed = ("name", np.int64(3), np.float32(0.5), 7, 2.25, "é", np.float64(-1e3))
    assert encode_message("/x", *mixed) == python_osc("/x", *mixed)
    for bad in (True, None, b"bytes", [1]):
        with pytest.raises(ValueError):
            encode_message("/x", 1, bad)
    with pytest.raises(ValueError):
        MessageTemplate("/x", "is")  # strings have no fixed size


def read_back(clip, chunk: bytes) -> list[tuple[int, mido.Message]]:
    """(absolute tick, message) of a track chunk, as mido reads it in a file of its own."""
    header = b"MThd" + struct.pack(">LHHH", 6, 0, 1, clip.ticks_per_beat)
    events, now = [], 0
    for msg in mido.MidiFile(file=io.BytesIO(header + chunk)).tracks[0]:
        now += msg.time
        events.append((now, msg.copy(time=0)))
    return events


def expected_events(clip, notes) -> list[tuple[int, mido.Message]]:
    """What the melody chunk must hold, by the rules melody_chunk states: every event of the track but the melody
    channel's notes, at its tick and in its order; each new note from round(beats x ticks per beat), at least one
    tick long; at one tick new note-offs first, then kept events, then new note-ons; end_of_track last, at its old
    tick or the last event's, whichever is later."""
    tpb = clip.ticks_per_beat
    events, end_of_track, now = [], 0, 0
    for seq, msg in enumerate(clip.midi.tracks[clip.track]):
        now += msg.time
        if msg.type == "end_of_track":
            end_of_track = now
        elif not (msg.type in ("note_on", "note_off") and msg.channel == clip.channel):
            events.append((now, 1, seq, msg.copy(time=0)))
    seq = len(events) + 1
    for n in notes:
        on = round(n.start_beats * tpb)
        off = max(round(n.end_beats * tpb), on + 1)
        events.append((on, 2, seq, mido.Message("note_on", channel=clip.channel, note=n.pitch, velocity=n.velocity)))
        events.append((off, 0, seq, mido.Message("note_off", channel=clip.channel, note=n.pitch, velocity=0)))
        seq += 1
    events.sort(key=lambda e: e[:3])
    last = events[-1][0] if events else 0
    return [(tick, msg) for tick, _, _, msg in events] + [(max(end_of_track, last), mido.MetaMessage("end_of_track"))]


def _test_midi_file(tmp_path):
    """A one-track file: tempo, meter, program change, sysex, a 40-quarter melody on channel 0, bass on channel 1."""
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


def test_melody_chunk_reads_back_in_mido_as_the_expected_events(tmp_path):
    from arvae_live.midi_files import melody_chunk, read_midi

    clip = read_midi(_test_midi_file(tmp_path), track=0)
    rng = np.random.default_rng(3)
    for n_notes in (0, 1, 50, 300):
        starts = np.sort(rng.integers(0, 40 * 24, size=n_notes)) / 6.0  # beats, on and off the file's grid
        durs = rng.choice([1 / 3, 0.25, 1.0, 1e-4, 300.0], size=n_notes)
        pitches, vels = rng.integers(30, 100, size=n_notes), rng.integers(1, 128, size=n_notes)
        notes = [Note(int(p), float(s), float(d), int(v)) for p, s, d, v in zip(pitches, starts, durs, vels)]
        assert read_back(clip, melody_chunk(clip, notes)) == expected_events(clip, notes)


def test_melody_with_is_splice_of_carried_token_notes(tmp_path):
    from arvae_live.batch import melody_with
    from arvae_live.midi_files import read_midi, splice_notes

    clip = read_midi(_test_midi_file(tmp_path), track=0)
    vocab = Vocabulary()
    rng = np.random.default_rng(5)
    for start, stop in ((0, clip.n_measures), (2, 5), (9, 10)):
        tokens = random_tokens(rng, vocab, stop - start)
        padded = np.concatenate([np.full((start, 24), HOLD), tokens])
        want = splice_notes(clip.notes, reference_carried(padded, vocab, list(clip.notes)), start, stop)
        assert melody_with(clip, tokens, vocab, start, stop) == want
