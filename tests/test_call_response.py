"""Call and response: clock follower, CC map, the state machine under MIDI clock and a fixed tempo, and the whole
loop through in-memory mido ports with an injected clock.

Most tests answer calls with `TransposingEngine`, a stand-in for the engine that returns each call two semitones up,
so that where every response note must be played can be worked out by hand; `test_real_engine_*` runs the real
LiveModel on the tiny checkpoint. Expected pulses are written out: at 24 pulses per beat a bar is 96 pulses, and the
grid's ticks fall 0, 6, 8, 12, 16, 18 pulses into a beat.
"""

from __future__ import annotations

from types import SimpleNamespace

import mido
import numpy as np
import pytest

from arvae_live.call_response import CallResponse, CallSettings, CCMap, ClockFollower, run_loop
from arvae_live.core.attributes import PAPER_ATTRIBUTES
from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD, REST, Vocabulary, tokens_to_notes
from arvae_live.errors import ConfigError

BPM = 120.0
PULSE_SEC = 60.0 / (BPM * 24)  # 1/48 s
T0 = 100.0  # monotonic time of pulse 0


class TransposingEngine:
    """Stand-in for LiveModel.regenerate: every note of the call comes back 2 semitones higher; records each call."""

    def __init__(self, engine_ms: float = 0.1) -> None:
        self.vocab = Vocabulary()
        self.attribute_names = list(PAPER_ATTRIBUTES)
        self.engine_ms = engine_ms  # what it reports as its run time
        self.calls: list[dict] = []

    def regenerate(self, tokens, targets, variations=1, temperature=0.0, seed=0, closed_loop=True):
        self.calls.append({"tokens": tokens.copy(), "targets": dict(targets), "temperature": temperature, "seed": seed})
        out = tokens.copy()
        out[out >= FIRST_PITCH_TOKEN] += 2
        return SimpleNamespace(tokens=out[None], engine_ms=self.engine_ms)


class MemoryInput(mido.ports.BaseInput):
    """An in-memory input port: messages fed to it are received in order."""

    def feed(self, *msgs: mido.Message) -> None:
        self._messages.extend(msgs)


class RecordingOutput(mido.ports.BaseOutput):
    """An in-memory output port that records (clock(), message) for everything sent."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, mido.Message]] = []
        super().__init__("recorder")

    def _send(self, msg: mido.Message) -> None:
        self.sent.append((self.clock(), msg))


def on(note: int, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def off(note: int, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", note=note, velocity=0, channel=channel)


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=control, value=value, channel=channel)


def drive_clock(machine: CallResponse, n_pulses: int, events: dict[float, list[mido.Message]], start: bool = True):
    """Start (optionally), then pulses 0..n_pulses-1 at 120 bpm; events[p] are sent at pulse position p (a float
    between pulses is sent that far between two clocks). Returns [(pulse, message sent by the machine)]."""
    out = []
    if start:
        out += [(-1, m) for m in machine.handle(mido.Message("start"), T0 - 0.001)]
    pending = sorted(events.items())
    for p in range(n_pulses):
        out += [(p, m) for m in machine.handle(mido.Message("clock"), T0 + p * PULSE_SEC)]
        while pending and pending[0][0] < p + 1:
            at, msgs = pending.pop(0)
            for msg in msgs:
                out += [(p, m) for m in machine.handle(msg, T0 + at * PULSE_SEC)]
    return out


def summary(out) -> list[tuple[int, str, int, int]]:
    """(pulse, on/off, note, velocity) of the note messages sent."""
    return [
        (p, "on" if m.type == "note_on" else "off", m.note, m.velocity) for p, m in out if m.type.startswith("note")
    ]


# ---------------------------------------------------------------- clock follower


def test_clock_follower_counts_pulses_from_start_and_songpos_and_interpolates():
    clock = ClockFollower()
    assert clock.position_beats(0.0) is None  # nothing received: not running
    assert clock.feed(mido.Message("start"), 0.0) == "start"
    assert clock.position_beats(0.0) == 0.0  # between Start and the first clock: the downbeat
    for k in range(5):
        assert clock.feed(mido.Message("clock"), 1.0 + 0.02 * k) == "pulse"
    assert clock.pulse == 4 and clock.pulse_sec == pytest.approx(0.02)
    assert clock.bpm == pytest.approx(125.0)  # 60 / (0.02 * 24)
    assert clock.position_beats(1.08 + 0.01) == pytest.approx(4.5 / 24)  # half way to pulse 5
    assert clock.position_beats(1.08 + 5.0) == pytest.approx(4.999 / 24)  # a stalled clock never runs past a pulse
    assert clock.feed(mido.Message("stop"), 2.0) == "stop"
    assert clock.position_beats(2.0) is None
    assert clock.feed(mido.Message("clock"), 2.02) is None  # clock while stopped moves nothing
    clock.feed(mido.Message("songpos", pos=8), 3.0)  # 8 sixteenths = 2 beats
    clock.feed(mido.Message("continue"), 3.0)
    assert clock.position_beats(3.0) == 2.0
    clock.feed(mido.Message("clock"), 3.1)
    assert clock.pulse == 48


def test_clock_without_transport_counts_from_the_first_pulse():
    clock = ClockFollower()
    assert clock.feed(mido.Message("clock"), 5.0) == "pulse"
    assert clock.running and clock.pulse == 0


# ---------------------------------------------------------------- CC map


def test_cc_map_defaults_and_overrides():
    default = CCMap.for_attributes(PAPER_ATTRIBUTES)
    assert default.attributes == {"rhythmic_complexity": 21, "pitch_range": 22, "note_density": 23, "contour": 24}
    assert (default.temperature, default.regenerate, default.reset) == (25, 26, 27)
    assert default.lookup(23) == "note_density" and default.lookup(26) == "regenerate" and default.lookup(1) is None
    custom = CCMap.for_attributes(PAPER_ATTRIBUTES, ["note_density=74", "reset=off", "contour=off", "regenerate=64"])
    assert custom.describe() == (
        "rhythmic_complexity=CC21, pitch_range=CC22, note_density=CC74, temperature=CC25, regenerate=CC64, reset=off"
    )


@pytest.mark.parametrize(
    "override, match",
    [
        ("tempo=3", "unknown control 'tempo'"),
        ("note_density=120", r"0\.\.119"),
        ("note_density=x", "not a number"),
        ("contour=21", "more than one"),
        ("note_density", "NAME=NUMBER"),
    ],
)
def test_cc_map_refuses_bad_overrides(override, match):
    with pytest.raises(ConfigError, match=match):
        CCMap.for_attributes(PAPER_ATTRIBUTES, [override])


# ---------------------------------------------------------------- the machine under MIDI clock

# A one-bar call in bar 2 (pulses 96..191): a quarter, a triplet of 8ths, a half note.
CALL = {
    96: [on(60, 90)],
    120: [off(60), on(62, 80)],
    128: [off(62), on(64, 70)],
    136: [off(64), on(65, 60)],
    144: [off(65), on(67, 100)],
    192: [off(67)],
}
# The same bar as tokens, worked out by hand: token = 2 + pitch - 55; ticks 0, 6, 8, 10, 12.
CALL_TOKENS = [7, 0, 0, 0, 0, 0, 9, 0, 11, 0, 12, 0, 14] + [HOLD] * 11


def test_clock_mode_plays_the_response_on_the_next_bar_on_the_right_pulses():
    engine = TransposingEngine()
    machine = CallResponse(engine)
    out = drive_clock(machine, 400, CALL)
    # The last key is released on beat 8 (pulse 192); 2 silent beats end the call at pulse 240 (beat 10), and the
    # response starts on the next bar line, beat 12 = pulse 288, two semitones up, velocities carried over.
    assert summary(out) == [
        (288, "on", 62, 90),
        (312, "off", 62, 0), (312, "on", 64, 80),
        (320, "off", 64, 0), (320, "on", 66, 70),
        (328, "off", 66, 0), (328, "on", 67, 60),
        (336, "off", 67, 0), (336, "on", 69, 100),
        (384, "off", 69, 0),
    ]  # fmt: skip
    assert len(engine.calls) == 1
    assert engine.calls[0]["tokens"].tolist() == [CALL_TOKENS]
    assert engine.calls[0]["targets"] == {} and engine.calls[0]["temperature"] == 0.0
    assert machine.last_response.start_beats == 12.0 and machine.state == "idle"


def test_call_state_changes_on_the_pulse_the_silence_ends():
    machine = CallResponse(TransposingEngine())
    drive_clock(machine, 240, CALL)  # pulses 0..239
    assert machine.state == "recording"
    machine.handle(mido.Message("clock"), T0 + 240 * PULSE_SEC)
    assert machine.state == "responding"


def test_a_response_the_engine_cannot_have_ready_by_the_next_bar_line_starts_a_bar_later():
    # The call ends on beat 10; at 120 bpm an engine taking 990 ms ends at beat 11.98, 970 ms at 11.94: one pulse
    # of slack must remain before beat 12.
    slow = drive_clock(CallResponse(TransposingEngine(engine_ms=990.0)), 400, CALL)
    assert summary(slow)[0] == (384, "on", 62, 90)  # beat 16
    quick = drive_clock(CallResponse(TransposingEngine(engine_ms=970.0)), 400, CALL)
    assert summary(quick)[0] == (288, "on", 62, 90)  # beat 12


def test_a_note_just_before_a_bar_line_starts_the_call_on_that_bar():
    engine = TransposingEngine()
    machine = CallResponse(engine)
    # 60 struck half a pulse before beat 4 (3.98 beats), released at beat 4.5; 62 from 4.5 to 5.
    out = drive_clock(machine, 300, {95.5: [on(60)], 108: [off(60), on(62)], 120: [off(62)]})
    expected = [7, 0, 0, 9, 0, 0, REST] + [HOLD] * 17  # 60 on tick 0, 62 on tick 3, rest from tick 6
    assert engine.calls[0]["tokens"].tolist() == [expected]
    # Silence from beat 5 ends the call at beat 7; the response starts on beat 8 (pulse 192).
    assert summary(out)[0] == (192, "on", 62, 100)


def test_a_last_key_released_just_after_the_bar_line_adds_no_bar():
    engine = TransposingEngine()
    machine = CallResponse(engine)
    out = drive_clock(machine, 300, {**CALL, 192: [], 194: [off(67)]})  # released 2 pulses into bar 3
    assert engine.calls[0]["tokens"].tolist() == [CALL_TOKENS]
    assert summary(out)[0] == (288, "on", 62, 90)


def test_a_call_reaching_max_bars_ends_on_that_bar_line_and_held_keys_are_cut():
    engine = TransposingEngine()
    machine = CallResponse(engine, settings=CallSettings(max_bars=1))
    out = drive_clock(machine, 320, {96: [on(70)], 250: [off(70)]})  # held for more than a bar
    assert engine.calls[0]["tokens"].tolist() == [[17] + [HOLD] * 23]  # the whole bar, cut at its end
    # The call ended on the bar line at beat 8 (pulse 192), so the response starts one bar later, pulse 288.
    assert summary(out) == [(288, "on", 72, 100)]
    assert machine.state == "responding"  # the key's release at pulse 250 neither ended nor started anything


def test_cc_targets_and_temperature_reach_the_engine_and_regenerate_replays_with_a_new_seed():
    engine = TransposingEngine()
    machine = CallResponse(engine)
    events = {
        10: [cc(23, 127), cc(25, 127), cc(21, 0)],  # note_density 1.0, temperature 2.0, rhythmic_complexity 0.0
        **CALL,
        300: [cc(26, 127)],  # regenerate: replaces the response playing, from the next bar line (pulse 384)
        301: [cc(26, 127)],  # still held: not a new press
        302: [cc(26, 0), cc(27, 127)],  # release; reset targets
        490: [cc(26, 100)],  # press again: regenerated with no targets, played from beat 24 (pulse 576)
    }
    out = drive_clock(machine, 700, events)
    assert [c["seed"] for c in engine.calls] == [0, 1, 2]
    assert engine.calls[0]["targets"] == {"note_density": 1.0, "rhythmic_complexity": 0.0}
    assert engine.calls[1]["targets"] == {"note_density": 1.0, "rhythmic_complexity": 0.0}
    assert engine.calls[2]["targets"] == {}
    assert [c["temperature"] for c in engine.calls] == [2.0, 2.0, 2.0]
    assert all(c["tokens"].tolist() == [CALL_TOKENS] for c in engine.calls)
    note_ons = [p for p, kind, *_ in summary(out) if kind == "on"]
    assert note_ons == [288, 384, 408, 416, 424, 432, 576, 600, 608, 616, 624]
    assert (300, "off", 62, 0) in summary(out)  # the first response was cut when regenerate was pressed


def test_cc_channel_filter_and_unmapped_ccs():
    engine = TransposingEngine()
    machine = CallResponse(engine, CCMap.for_attributes(PAPER_ATTRIBUTES, channel=3))
    machine.handle(cc(23, 127, channel=0), 0.0)
    machine.handle(cc(7, 127, channel=3), 0.0)  # volume: not ours
    assert machine.targets == {}
    machine.handle(cc(23, 127, channel=3), 0.0)
    assert machine.targets == {"note_density": 1.0}


def test_regenerate_cc_ends_the_call_being_played():
    engine = TransposingEngine()
    machine = CallResponse(engine)
    out = drive_clock(machine, 300, {96: [on(60)], 132: [cc(26, 127)], 140: [off(60)]})
    # Cut at 132/24 = 5.5 beats, 1.5 beats into the call: the note ends on tick 9, then a rest.
    assert engine.calls[0]["tokens"].tolist() == [[7] + [HOLD] * 8 + [REST] + [HOLD] * 14]
    assert summary(out) == [(192, "on", 62, 100), (228, "off", 62, 0)]  # from beat 8, 1.5 beats long


def test_a_new_call_cuts_the_response_off():
    machine = CallResponse(TransposingEngine())
    out = drive_clock(machine, 330, {**CALL, 316: [on(72)]})
    # Response note 64 sounds from pulse 312; the player's note at 316 silences it at once and nothing more plays.
    assert summary(out) == [(288, "on", 62, 90), (312, "off", 62, 0), (312, "on", 64, 80), (316, "off", 64, 0)]
    assert machine.state == "recording"


def test_stop_silences_the_response_and_start_drops_a_half_recorded_call():
    machine = CallResponse(TransposingEngine())
    out = drive_clock(machine, 300, {**CALL, 290: [mido.Message("stop")]})
    assert summary(out) == [(288, "on", 62, 90), (290, "off", 62, 0)]
    assert machine.state == "idle"
    machine.handle(mido.Message("start"), 0.0)
    machine.handle(mido.Message("clock"), 0.0)
    machine.handle(on(60), 0.001)
    assert machine.state == "recording"
    machine.handle(mido.Message("start"), 1.0)
    assert machine.state == "idle"


def test_notes_while_the_clock_is_stopped_are_ignored_and_in_channel_filters():
    machine = CallResponse(TransposingEngine(), settings=CallSettings(in_channel=1))
    machine.handle(mido.Message("stop"), 0.0)
    assert machine.handle(on(60, channel=1), 0.1) == [] and machine.state == "idle"
    machine.handle(mido.Message("continue"), 0.2)
    machine.handle(on(60, channel=0), 0.3)
    assert machine.state == "idle"
    machine.handle(on(60, channel=1), 0.3)
    assert machine.state == "recording"


def test_machine_refuses_bad_settings():
    engine = TransposingEngine()
    with pytest.raises(ConfigError, match="tempo"):
        CallSettings(tempo_bpm=1000)
    with pytest.raises(ConfigError, match="max_bars"):
        CallSettings(max_bars=65)
    with pytest.raises(ConfigError, match="lacks"):
        CallResponse(engine, CCMap({"no_such_attr": 30}))


# ---------------------------------------------------------------- the whole loop, injected clock, in-memory ports


class Simulation:
    """Simulated time for run_loop: wait() advances the clock and delivers the input timeline as it falls due."""

    def __init__(self, timeline: list[tuple[float, mido.Message]], end: float) -> None:
        self.t = 0.0
        self.timeline = sorted(timeline, key=lambda e: e[0])
        self.end = end
        self.inport = MemoryInput("player")
        self.outport = RecordingOutput(self.clock)
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.t

    def wait(self, dt: float) -> None:
        assert dt >= 0
        self.waits.append(dt)
        self.t += dt
        while self.timeline and self.timeline[0][0] <= self.t:
            self.inport.feed(self.timeline.pop(0)[1])

    def should_stop(self) -> bool:
        return self.t >= self.end


def test_whole_loop_under_midi_clock_sends_each_note_within_a_poll_of_its_pulse():
    timeline = [(T0 - 0.5, mido.Message("start"))]
    timeline += [(T0 + p * PULSE_SEC, mido.Message("clock")) for p in range(400)]
    for p, msgs in CALL.items():
        timeline += [(T0 + p * PULSE_SEC + 1e-4, m) for m in msgs]  # just after the pulse, as a player would
    sim = Simulation(timeline, end=T0 + 400 * PULSE_SEC)
    sim.t = T0 - 1.0
    run_loop(sim.inport, sim.outport, CallResponse(TransposingEngine()), should_stop=sim.should_stop,
             clock=sim.clock, wait=sim.wait)  # fmt: skip
    sent = [(t, m.note) for t, m in sim.outport.sent if m.type == "note_on"]
    assert [n for _, n in sent] == [62, 64, 66, 67, 69]
    for (t, _), pulse in zip(sent, [288, 312, 320, 328, 336]):
        assert 0.0 <= t - (T0 + pulse * PULSE_SEC) <= 0.001 + 1e-9  # the 1 ms poll is the only delay
    assert max(sim.waits) == pytest.approx(0.001)


def test_whole_loop_at_a_fixed_tempo_plays_on_time_and_silences_at_exit():
    # 120 bpm, 0.5 s per beat; the first note (t = 1.0) is beat 0. Four quarters, then silence.
    notes = [(60, 1.0, 1.5), (62, 1.5, 2.0), (64, 2.0, 2.5), (65, 2.5, 3.0)]
    timeline = []
    for pitch, t_on, t_off in notes:
        timeline += [(t_on, on(pitch)), (t_off - 0.01, off(pitch))]  # released 20 ms early
    # Stop while the last response note still sounds: run_loop must send its note-off on the way out.
    sim = Simulation(timeline, end=6.75)
    engine = TransposingEngine()
    machine = CallResponse(engine, settings=CallSettings(tempo_bpm=120.0))
    run_loop(sim.inport, sim.outport, machine, should_stop=sim.should_stop, clock=sim.clock, wait=sim.wait)
    anchor = machine.anchor_time
    assert 1.0 <= anchor <= 1.0 + 0.001 + 1e-9  # read at the first poll after it arrived
    assert engine.calls[0]["tokens"].tolist() == [
        [7] + [HOLD] * 5 + [9] + [HOLD] * 5 + [11] + [HOLD] * 5 + [12] + [HOLD] * 5
    ]
    # The call ends 2 beats after the last release (beat 3.98), at beat 5.98; the response starts at beat 8.
    got = [(round(t - anchor, 6), m.type, m.note) for t, m in sim.outport.sent]
    assert got == [
        (4.0, "note_on", 62),
        (4.5, "note_off", 62), (4.5, "note_on", 64),
        (5.0, "note_off", 64), (5.0, "note_on", 66),
        (5.5, "note_off", 66), (5.5, "note_on", 67),
        (round(sim.t - anchor, 6), "note_off", 67),  # at exit, before its due time (anchor + 6.0)
    ]  # fmt: skip


# ---------------------------------------------------------------- the real engine


def test_real_engine_response_is_the_engines_regeneration_of_the_call(tiny_ckpt):
    from arvae_live.engine import LiveModel

    lm = LiveModel.from_checkpoint(tiny_ckpt)
    machine = CallResponse(lm)
    out = drive_clock(machine, 500, {10: [cc(23, 127), cc(22, 0)], **CALL})
    # Independent route: regenerate the hand-written call tokens directly, with the targets the CCs stand for.
    want = lm.regenerate(np.array([CALL_TOKENS]), {"note_density": 1.0, "pitch_range": 0.0}, temperature=0.0, seed=0)
    want_notes = tokens_to_notes(want.tokens[0], lm.vocab)
    assert want_notes, "the tiny model answered with silence; the comparison would be empty"
    expected_ons = [(288 + round(n.start_beats * 24), n.pitch) for n in want_notes]
    assert [(p, m.note) for p, m in out if m.type == "note_on"] == expected_ons
    assert machine.last_response.targets == {"note_density": 1.0, "pitch_range": 0.0}
