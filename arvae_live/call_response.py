"""Call and response over MIDI ports: the clock follower, phrase recorder, CC map and player, as one state machine.

A performer plays a phrase (the *call*) into the input port; when they stop, the phrase is regenerated with the
current attribute targets and the result (the *response*) is played on the output port, starting on the next bar
line and in time with the clock. In the spirit of magenta's MIDI interface (magenta/interfaces/midi).

Time is counted in beats (quarter notes) on one of two clocks:
  * MIDI clock (the default): 24 pulses per beat, with Start, Stop, Continue and Song Position Pointer. Bar lines
    fall every measure of the meter's grid from the song start: 96 pulses in 4/4, 72 in 3/4, 144 in 12/8 (6/8 and
    2/4 bars in pairs, a measure each). Every tick of every grid falls on a whole pulse (0, 6, 8, 12, 16, 18 pulses
    into a quarter beat; every 6 pulses in a dotted-quarter beat), so response notes are sent on the very pulse they
    belong to.
  * A fixed tempo (`tempo_bpm`): the first note of each call is beat 0, the downbeat of its first bar.

The meter (`CallSettings.meter`, serve's --meter, default 4/4) picks the grid (core/meters.py) and so the model: a
call is put on that grid, and a model of another grid is refused in one line. "Bars" below (max_bars, call lengths)
are measures of the grid: a 4/4, 3/4 or 12/8 bar, or two 2/4 or 6/8 bars.

A call begins at the bar line of the bar holding its first note (a note up to `early_beats` before a bar line
counts as on it). It ends when no key has been held for `end_silence_beats`, when it reaches `max_bars`, or on the
"regenerate" CC; its length is the whole bars up to the end of its last note (a key released less than a 16th
after a bar line adds no bar). The response starts at the first bar line after the call ended and the engine
finished, with a pulse to spare. A note played during a response cuts the response off and begins the next call.

CCs (numbers 0..119 as sent, channel: any unless set) set attribute targets (value/127 = normalised 0..1 target),
the temperature (value/127 * 2.0), "regenerate now" (a rising edge through 64: ends the call being played, or
regenerates the last call again with the current targets and a new seed) and "reset targets" (rising edge:
every attribute keeps its input value again). Defaults in `DEFAULT_ATTRIBUTE_CCS` and `CCMap`.

The machine owns no ports and no threads: `handle(msg, now)` and `tick(now)` return the messages to send, with
`now` from a monotonic clock the caller passes in, so tests drive it with an injected clock. `run_loop` is the
driver that polls a mido input port and sends on a mido output port.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import mido
import numpy as np

from arvae_live.core.meters import SIMPLE, SUPPORTED_TEXT, Grid, grid_for_meter, meter_numbers
from arvae_live.core.notes import carried_notes
from arvae_live.core.representation import (
    Note,
    Vocabulary,
    beats_to_ticks,
    notes_to_tokens,
)
from arvae_live.errors import ConfigError

log = logging.getLogger(__name__)

PULSES_PER_BEAT = 24  # MIDI clock resolution (24 ppqn)
PULSES_PER_SONGPOS = 6  # one Song Position Pointer unit is a 16th note
# Default CC numbers, chosen in the "undefined" ranges 20..31 and 85..90 of the MIDI spec so they clash with nothing
# a synth listens to. Attribute names not in DEFAULT_ATTRIBUTE_CCS take SPARE_CCS in order.
DEFAULT_ATTRIBUTE_CCS = {"rhythmic_complexity": 21, "pitch_range": 22, "note_density": 23, "contour": 24}
DEFAULT_TEMPERATURE_CC = 25
DEFAULT_REGENERATE_CC = 26
DEFAULT_RESET_CC = 27
SPARE_CCS = (28, 29, 30, 31, 85, 86, 87, 88, 89, 90)
CONTROLS = ("temperature", "regenerate", "reset")  # the CC targets that are not attributes
TEMPERATURE_MAX = 2.0  # temperature at CC value 127
BUTTON_THRESHOLD = 64  # a button CC is "pressed" when it rises from below to at least this value
MAX_CC_NUMBER = 119  # 120..127 are channel mode messages (all notes off, ...)
LATE_RELEASE_BEATS = 0.25  # a key released up to a 16th after a bar line ends its note on that bar line
_EPS = 1e-6  # beats; float slack when comparing positions


class Regenerator(Protocol):
    """What the machine needs of the engine (arvae_live.engine.LiveModel fits)."""

    vocab: Vocabulary
    attribute_names: list[str]

    def regenerate(
        self,
        tokens: np.ndarray,
        targets: dict[str, float],
        variations: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        closed_loop: bool = True,
    ) -> Any:  # an engine.Regeneration; only .tokens (V, M, 24) and .engine_ms are read
        ...


@dataclass(frozen=True)
class CCMap:
    """Which MIDI CC number drives which control.

    Attributes:
        attributes: attribute name -> CC number 0..119 (value/127 is the normalised 0..1 target).
        temperature: CC number of the temperature (value/127 * TEMPERATURE_MAX), or None for none.
        regenerate: CC number of "regenerate now" (rising edge through 64), or None.
        reset: CC number of "reset targets" (rising edge through 64), or None.
        channel: MIDI channel 0..15 the CCs are read on, or None for any channel.
    """

    attributes: dict[str, int]
    temperature: int | None = DEFAULT_TEMPERATURE_CC
    regenerate: int | None = DEFAULT_REGENERATE_CC
    reset: int | None = DEFAULT_RESET_CC
    channel: int | None = None

    def __post_init__(self) -> None:
        numbers = [*self.attributes.values(), self.temperature, self.regenerate, self.reset]
        used = [n for n in numbers if n is not None]
        for n in used:
            if not (isinstance(n, int) and 0 <= n <= MAX_CC_NUMBER):
                raise ConfigError(f"CC numbers must be in range 0..{MAX_CC_NUMBER}, got {n!r}")
        dupes = sorted({n for n in used if used.count(n) > 1})
        if dupes:
            raise ConfigError(f"CC number(s) {dupes} assigned to more than one control: {self.describe()}")
        if self.channel is not None and not 0 <= self.channel <= 15:
            raise ConfigError(f"CC channel must be in range 0..15, got {self.channel}")

    @classmethod
    def for_attributes(
        cls, attribute_names: Sequence[str], overrides: Sequence[str] = (), channel: int | None = None
    ) -> CCMap:
        """The default map for a model's attributes, with "name=NUMBER" or "name=off" overrides applied.

        Args:
            attribute_names: the model's attribute names, in its order.
            overrides: e.g. ["note_density=74", "regenerate=64", "reset=off"]; names are attribute names or
                temperature, regenerate, reset.
            channel: MIDI channel 0..15 to read CCs on, None for any.

        Returns:
            The CCMap.

        Raises:
            ConfigError: malformed override, unknown name, number outside 0..119, or a number used twice.
        """
        spare = iter(n for n in SPARE_CCS if n not in DEFAULT_ATTRIBUTE_CCS.values())
        attrs: dict[str, int | None] = {
            name: DEFAULT_ATTRIBUTE_CCS[name] if name in DEFAULT_ATTRIBUTE_CCS else next(spare, None)
            for name in attribute_names
        }
        controls: dict[str, int | None] = {
            "temperature": DEFAULT_TEMPERATURE_CC,
            "regenerate": DEFAULT_REGENERATE_CC,
            "reset": DEFAULT_RESET_CC,
        }
        for item in overrides:
            name, sep, value = item.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not name or not value:
                raise ConfigError(f"CC override {item!r} must look like NAME=NUMBER or NAME=off")
            if value.lower() == "off":
                number = None
            else:
                try:
                    number = int(value)
                except ValueError:
                    raise ConfigError(f"CC override {item!r}: {value!r} is not a number 0..{MAX_CC_NUMBER}") from None
            if name in attrs:
                attrs[name] = number
            elif name in controls:
                controls[name] = number
            else:
                raise ConfigError(
                    f"CC override {item!r}: unknown control {name!r}; known: {', '.join([*attrs, *CONTROLS])}"
                )
        return cls(
            attributes={k: v for k, v in attrs.items() if v is not None},
            temperature=controls["temperature"],
            regenerate=controls["regenerate"],
            reset=controls["reset"],
            channel=channel,
        )

    def describe(self) -> str:
        """One line: "rhythmic_complexity=CC21, ..., temperature=CC25, ..." (off for unmapped controls)."""
        parts = [f"{k}=CC{v}" for k, v in self.attributes.items()]
        for name in CONTROLS:
            number = getattr(self, name)
            parts.append(f"{name}={'off' if number is None else f'CC{number}'}")
        return ", ".join(parts)

    def lookup(self, number: int) -> str | None:
        """The control (attribute name or one of CONTROLS) on CC number, or None."""
        for name, n in self.attributes.items():
            if n == number:
                return name
        for name in CONTROLS:
            if getattr(self, name) == number:
                return name
        return None


class ClockFollower:
    """Follows incoming MIDI clock: the position in pulses and the pulse length.

    After Start the next Clock is pulse 0, the song's first downbeat; Song Position Pointer sets the pulse the next
    Clock is (6 pulses per unit); Continue resumes there. Clock that arrives before any Start, Stop or Continue
    (the daemon joined a running song) counts from the first pulse.
    """

    def __init__(self) -> None:
        self.running = False
        self.next_pulse = 0  # index the next Clock message will have
        self.pulse: int | None = None  # index of the last Clock received, None since the last Start/Continue/SPP
        self.pulse_time: float | None = None  # monotonic seconds of that Clock
        self.pulse_sec: float | None = None  # seconds per pulse, None until two pulses were seen
        self._intervals: deque[float] = deque(maxlen=PULSES_PER_BEAT)  # the last beat's pulse intervals, seconds
        self._transport_seen = False

    def feed(self, msg: mido.Message, now: float) -> str | None:
        """Take one message; returns "pulse" for a Clock that advanced the position, the message type for a
        transport message (start, stop, continue, songpos), None for anything else."""
        kind = msg.type
        if kind == "clock":
            if not self.running:
                if self._transport_seen:  # stopped: some hosts keep sending clock
                    return None
                log.info("MIDI clock without Start: counting bars from the first pulse")
                self._transport_seen = self.running = True
            if self.pulse is not None and self.pulse_time is not None:
                dt = now - self.pulse_time
                if dt < 1.0:  # a pause in the clock is not a tempo
                    # The median of the last beat's intervals: pulses read in a burst (after the engine held the
                    # loop) have near-zero intervals that must not make the tempo look huge.
                    self._intervals.append(dt)
                    self.pulse_sec = float(np.median(self._intervals)) or None
            self.pulse, self.pulse_time = self.next_pulse, now
            self.next_pulse += 1
            return "pulse"
        if kind in ("start", "continue"):
            self._transport_seen = self.running = True
            if kind == "start":
                self.next_pulse = 0
            self.pulse = self.pulse_time = None
            return kind
        if kind == "stop":
            self._transport_seen, self.running = True, False
            return kind
        if kind == "songpos":
            self.next_pulse = msg.pos * PULSES_PER_SONGPOS
            self.pulse = self.pulse_time = None
            return kind
        return None

    def position_beats(self, now: float) -> float | None:
        """Position in beats at monotonic time now, between pulses interpolated with the pulse length; None while
        the clock is stopped."""
        if not self.running:
            return None
        if self.pulse is None or self.pulse_time is None:
            return self.next_pulse / PULSES_PER_BEAT
        frac = 0.0
        if self.pulse_sec:
            frac = min(max((now - self.pulse_time) / self.pulse_sec, 0.0), 0.999)
        return (self.pulse + frac) / PULSES_PER_BEAT

    @property
    def bpm(self) -> float | None:
        """Tempo estimated from the pulse length, in beats per minute; None until two pulses were seen."""
        return 60.0 / (self.pulse_sec * PULSES_PER_BEAT) if self.pulse_sec else None


@dataclass
class _Call:
    """A call being recorded; positions in absolute beats on the machine's clock."""

    start_beats: float  # the bar line the call begins on
    last_activity_beats: float  # last note-on or note-off
    notes: list[tuple[int, float, float, int]] = field(default_factory=list)  # (pitch, start, end, velocity)
    held: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)  # (channel, pitch) -> (start, vel)


@dataclass(frozen=True)
class Response:
    """A regenerated call, scheduled for playback.

    Attributes:
        start_beats: absolute position of the bar line it starts on, in beats.
        call_tokens: the call as token measures (M, 24), what the engine was given.
        notes: the response's notes, times in beats from start_beats.
        targets: normalised attribute targets it was regenerated with (attributes not named kept their input value).
        temperature: sampling temperature used.
        seed: seed used.
        engine_ms: time the engine took, in milliseconds.
    """

    start_beats: float
    call_tokens: np.ndarray
    notes: list[Note]
    targets: dict[str, float]
    temperature: float
    seed: int
    engine_ms: float


@dataclass(frozen=True)
class CallSettings:
    """How a CallResponse listens and answers (serve's MIDI-port options).

    Attributes:
        tempo_bpm: follow this fixed tempo (20..400 bpm) instead of incoming MIDI clock; None follows the clock.
        max_bars: longest call, 1..64 bars; a call reaching it ends on that bar line.
        end_silence_beats: beats without a held key that end a call, > 0.
        early_beats: a call's first note up to this many beats before a bar line starts the call on that bar line.
        in_channel: read notes on this MIDI channel 0..15 only; None for any.
        out_channel: MIDI channel 0..15 the response is played on.
        temperature: temperature until the temperature CC moves, >= 0.
        seed: seed of the first regeneration; each later one adds 1, so repeats differ at temperature > 0.
        meter: "num/den" the performer plays in: 4/4, 2/2, 2/4 (simple grid), 3/4 (triple), 12/8, 6/8 (compound).

    Raises:
        ConfigError: a value out of its range, naming it.
    """

    tempo_bpm: float | None = None
    max_bars: int = 8
    end_silence_beats: float = 2.0
    early_beats: float = 0.25
    in_channel: int | None = None
    out_channel: int = 0
    temperature: float = 0.0
    seed: int = 0
    meter: str = "4/4"

    @property
    def grid(self) -> Grid:
        """The grid the meter picks (checked in __post_init__)."""
        return parse_meter(self.meter)

    def __post_init__(self) -> None:
        measure = self.grid.measure_quarters  # ConfigError first for a meter no grid serves
        if self.tempo_bpm is not None and not 20.0 <= self.tempo_bpm <= 400.0:
            raise ConfigError(f"tempo must be in range 20..400 bpm, got {self.tempo_bpm}")
        if not 1 <= self.max_bars <= 64:
            raise ConfigError(f"max_bars must be in range 1..64, got {self.max_bars}")
        if not self.end_silence_beats > 0:
            raise ConfigError(f"end_silence_beats must be > 0, got {self.end_silence_beats}")
        if not 0 <= self.early_beats < measure:
            raise ConfigError(f"early_beats must be in range 0..{measure:g}, got {self.early_beats}")
        for name, ch in (("in_channel", self.in_channel), ("out_channel", self.out_channel)):
            if ch is not None and not 0 <= ch <= 15:
                raise ConfigError(f"{name} must be in range 0..15, got {ch}")
        if not self.temperature >= 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")


def parse_meter(meter: str) -> Grid:
    """The grid of a meter written "num/den" (serve's --meter).

    Raises:
        ConfigError: not num/den, or a meter no grid serves; the message names the meters that are served.
    """
    numbers = meter_numbers(meter)
    grid = None if numbers is None else grid_for_meter(*numbers)
    if grid is None:
        raise ConfigError(f"meter {meter!r} is not served; arvae-live reads {SUPPORTED_TEXT}")
    return grid


def check_engine_grid(engine: Any, grid: Grid, meter: str) -> None:
    """ConfigError unless the engine's model (its .grid; simple when it has none) serves the meter's grid."""
    have = getattr(engine, "grid", SIMPLE)
    if have is not grid:
        name = getattr(engine, "model_id", None) or "the model"
        raise ConfigError(
            f"meter {meter} ({grid.name} grid) is not served by {name}, which reads {have.meters_text}; "
            f"pass a model of the {grid.name} grid or leave out --model"
        )


class CallResponse:
    """The call-and-response state machine; see the module docstring for the musical behaviour.

    Args:
        engine: the model side, e.g. an arvae_live.engine.LiveModel.
        cc_map: which CCs drive targets, temperature, regenerate and reset; defaults for the engine's attributes.
        settings: tempo, call length, channels, temperature and seed (CallSettings).
    """

    def __init__(self, engine: Regenerator, cc_map: CCMap | None = None, settings: CallSettings | None = None) -> None:
        settings = settings if settings is not None else CallSettings()
        self.engine = engine
        self.grid = settings.grid
        check_engine_grid(engine, self.grid, settings.meter)
        self.cc_map = cc_map if cc_map is not None else CCMap.for_attributes(engine.attribute_names)
        unknown = [a for a in self.cc_map.attributes if a not in engine.attribute_names]
        if unknown:
            raise ConfigError(f"CC map names attribute(s) {unknown} the model lacks; it has {engine.attribute_names}")
        self.tempo_bpm = settings.tempo_bpm
        self.max_bars = settings.max_bars
        self.end_silence_beats = settings.end_silence_beats
        self.early_beats = settings.early_beats
        self.in_channel = settings.in_channel
        self.out_channel = settings.out_channel
        self.temperature = float(settings.temperature)  # the temperature CC changes it
        self.seed = settings.seed  # each regeneration adds 1
        self.targets: dict[str, float] = {}  # attribute -> normalised 0..1 target, set by CCs
        self.clock = ClockFollower()
        self.anchor_time: float | None = None  # fixed-tempo mode: monotonic seconds of beat 0
        self.last_call: tuple[np.ndarray, list[Note]] | None = None  # (tokens (M, T), notes) of the latest call
        self.last_response: Response | None = None
        self._call: _Call | None = None
        self._events: deque[tuple[float, int, mido.Message]] = deque()  # (beats, 0 off / 1 on, msg), sorted
        self._sounding: set[int] = set()  # pitches the response holds down on the output
        self._ignored_keys: set[tuple[int, int]] = set()  # keys held over the end of a call
        self._buttons: dict[int, int] = {}  # CC number -> last value, for rising edges
        self._n_regenerations = 0

    # ---------------------------------------------------------------- public interface

    @property
    def state(self) -> str:
        """The state: "recording" (a call is played), "responding" (a response pending or playing) or "idle"."""
        if self._call is not None:
            return "recording"
        return "responding" if self._events or self._sounding else "idle"

    def position_beats(self, now: float) -> float | None:
        """Position in beats at monotonic time now on the machine's clock; None when unknown (clock stopped, or no
        call yet at a fixed tempo)."""
        if self.tempo_bpm is None:
            return self.clock.position_beats(now)
        if self.anchor_time is None:
            return None
        return (now - self.anchor_time) * self.tempo_bpm / 60.0

    def handle(self, msg: mido.Message, now: float) -> list[mido.Message]:
        """Take one incoming message at monotonic time now (seconds); returns the messages to send now."""
        kind = msg.type
        if kind in ("clock", "start", "stop", "continue", "songpos"):
            return self._transport(msg, now) if self.tempo_bpm is None else []
        if kind in ("note_on", "note_off"):
            if self.in_channel is not None and msg.channel != self.in_channel:
                return []
            if kind == "note_on" and msg.velocity > 0:
                return self._note_on(msg, now)
            return self._note_off(msg, now)
        if kind == "control_change":
            return self._control(msg, now)
        return []

    def tick(self, now: float) -> list[mido.Message]:
        """At a fixed tempo: the events due at monotonic time now, and the end of a call that fell silent. Under
        MIDI clock everything happens on pulses, so this returns []."""
        if self.tempo_bpm is None:
            return []
        pos = self.position_beats(now)
        if pos is None:
            return []
        out = self._due(pos)
        out += self._check_call_end(pos, now)
        return out

    def seconds_until_next(self, now: float) -> float | None:
        """At a fixed tempo, seconds from now until the next event or call-end check (>= 0); None when nothing is
        pending or under MIDI clock (which drives everything through pulses)."""
        if self.tempo_bpm is None or self.anchor_time is None:
            return None
        times = []
        if self._events:
            times.append(self._time_of(self._events[0][0]))
        if self._call is not None:
            end = self._call.start_beats + self.max_bars * self.grid.measure_quarters
            if not self._call.held:
                end = min(end, self._call.last_activity_beats + self.end_silence_beats)
            times.append(self._time_of(end))
        return max(0.0, min(times) - now) if times else None

    def all_notes_off(self) -> list[mido.Message]:
        """Note-offs for every note the response holds down, and drop the pending response (for stop and exit)."""
        self._events.clear()
        out = [mido.Message("note_off", channel=self.out_channel, note=p, velocity=0) for p in sorted(self._sounding)]
        self._sounding.clear()
        return out

    # ---------------------------------------------------------------- clock and transport

    def _time_of(self, beats: float) -> float:
        assert self.tempo_bpm is not None and self.anchor_time is not None
        return self.anchor_time + beats * 60.0 / self.tempo_bpm

    def _transport(self, msg: mido.Message, now: float) -> list[mido.Message]:
        event = self.clock.feed(msg, now)
        if event == "pulse":
            pos = self.clock.pulse / PULSES_PER_BEAT
            return self._due(pos) + self._check_call_end(pos, now)
        if event in ("start", "songpos", "stop"):
            # The position jumped or froze: a half-recorded call and a scheduled response no longer fit the bars.
            if self._call is not None:
                log.info("transport %s: call being recorded dropped", event)
            self._call = None
            self._ignored_keys.clear()
            return self.all_notes_off()
        return []

    def _due(self, pos: float) -> list[mido.Message]:
        """Pop and apply the events at or before position pos (beats)."""
        out = []
        while self._events and self._events[0][0] <= pos + _EPS:
            _, _, msg = self._events.popleft()
            if msg.type == "note_on":
                self._sounding.add(msg.note)
            else:
                self._sounding.discard(msg.note)
            out.append(msg)
        return out

    # ---------------------------------------------------------------- recording the call

    def _note_on(self, msg: mido.Message, now: float) -> list[mido.Message]:
        out: list[mido.Message] = []
        if self._call is None:
            if self.tempo_bpm is not None:
                self.anchor_time = now  # the first note of a call is beat 0
            pos = self.position_beats(now)
            if pos is None:
                log.debug("note %d ignored: MIDI clock is not running", msg.note)
                return []
            if self._events or self._sounding:
                log.info("new call: response cut off")
                out = self.all_notes_off()
            bar = self.grid.measure_quarters
            self._call = _Call(start_beats=math.floor((pos + self.early_beats) / bar) * bar, last_activity_beats=pos)
            log.debug("call begins at bar %d", self._call.start_beats // bar + 1)
        pos = self.position_beats(now)
        assert pos is not None
        call = self._call
        key = (msg.channel, msg.note)
        if key in call.held:  # a repeated note-on without note-off: the first note ends here
            start, vel = call.held.pop(key)
            call.notes.append((msg.note, start, pos, vel))
        self._ignored_keys.discard(key)
        call.held[key] = (max(pos, call.start_beats), msg.velocity)
        call.last_activity_beats = pos
        return out

    def _note_off(self, msg: mido.Message, now: float) -> list[mido.Message]:
        key = (msg.channel, msg.note)
        if key in self._ignored_keys:
            self._ignored_keys.discard(key)
            return []
        call = self._call
        if call is None or key not in call.held:
            return []
        pos = self.position_beats(now)
        if pos is None:
            return []
        start, vel = call.held.pop(key)
        call.notes.append((msg.note, start, max(pos, start), vel))
        call.last_activity_beats = pos
        return []

    def _check_call_end(self, pos: float, now: float) -> list[mido.Message]:
        call = self._call
        if call is None:
            return []
        limit = call.start_beats + self.max_bars * self.grid.measure_quarters
        if pos >= limit - _EPS:
            log.info("call reached %d bars", self.max_bars)
            return self._end_call(limit)
        if not call.held and pos - call.last_activity_beats >= self.end_silence_beats - _EPS:
            return self._end_call(pos)
        return []

    def _end_call(self, pos: float) -> list[mido.Message]:
        """Finish the call at position pos (beats), regenerate it and schedule the response."""
        call = self._call
        assert call is not None
        self._call = None
        bar = self.grid.measure_quarters
        limit = call.start_beats + self.max_bars * bar
        notes_abs = list(call.notes)
        for (channel, pitch), (start, vel) in call.held.items():  # keys still down: cut here, ignore their release
            notes_abs.append((pitch, start, min(pos, limit), vel))
            self._ignored_keys.add((channel, pitch))
        notes = []
        for pitch, start, end, vel in sorted(notes_abs, key=lambda n: n[1]):
            rel_start = min(max(start - call.start_beats, 0.0), self.max_bars * bar)
            rel_end = min(end - call.start_beats, self.max_bars * bar)
            if rel_start >= self.max_bars * bar - _EPS:
                continue
            # A key released on the pulse it was struck still sounds for a moment: give it the shortest grid step.
            notes.append(Note(pitch, rel_start, max(rel_end - rel_start, 1 / 12), vel))
        if not notes:
            return []
        # Whole bars up to the last onset's bar, and further only for a note held more than a 16th into a bar: a
        # last key released just after the bar line must not add an empty bar to the call.
        onset_bars = max(int(beats_to_ticks(n.start_beats, self.grid)) // self.grid.ticks for n in notes) + 1
        end_bars = math.ceil((max(n.end_beats for n in notes) - LATE_RELEASE_BEATS) / bar - _EPS)
        n_measures = min(max(onset_bars, end_bars), self.max_bars)
        tokens, adjustments = notes_to_tokens(notes, n_measures, self.engine.vocab, self.grid)
        for adj in adjustments:
            log.debug("call %s", adj.message)
        self.last_call = (tokens, notes)
        log.info("call of %d bar(s), %d note(s) from bar %d", n_measures, len(notes), call.start_beats // bar + 1)
        return self._respond(pos)

    # ---------------------------------------------------------------- responding

    def _respond(self, pos: float) -> list[mido.Message]:
        """Regenerate the last call and schedule it from the first bar line after pos (beats)."""
        assert self.last_call is not None
        tokens, call_notes = self.last_call
        seed = self.seed + self._n_regenerations
        self._n_regenerations += 1
        targets = dict(self.targets)
        try:
            res = self.engine.regenerate(
                tokens, targets, variations=1, temperature=self.temperature, seed=seed, closed_loop=True
            )
            out_tokens = np.asarray(res.tokens)[0]  # (M, T), the only variation
            # the protocol's rule: velocity of the nearest call note
            notes = carried_notes(out_tokens, self.engine.vocab, call_notes, grid=self.grid)
        except Exception:  # a failing regeneration must not stop the MIDI loop; the performer plays on
            log.exception("regeneration failed; no response to this call")
            return []
        bar = self.grid.measure_quarters
        engine_ms = float(getattr(res, "engine_ms", 0.0))
        # The music went on while the engine ran (clock pulses wait in the port meanwhile): if it ran past the next bar
        # line, start a bar later rather than play the first notes late. Plus one pulse of slack to send on time.
        bpm = self.tempo_bpm or self.clock.bpm or 0.0
        ready = pos + engine_ms / 1000.0 * bpm / 60.0 + 1.0 / PULSES_PER_BEAT
        start = (math.floor(ready / bar + _EPS) + 1) * bar
        response = Response(start, tokens, notes, targets, self.temperature, seed, engine_ms)
        self.last_response = response
        out = self.all_notes_off()
        events = []
        for n in notes:
            on = mido.Message("note_on", channel=self.out_channel, note=n.pitch, velocity=n.velocity)
            off = mido.Message("note_off", channel=self.out_channel, note=n.pitch, velocity=0)
            events.append((start + n.start_beats, 1, on))
            events.append((start + n.end_beats, 0, off))
        events.sort(key=lambda e: (e[0], e[1]))
        self._events.extend(events)
        log.info(
            "response of %d note(s) at bar %d (engine %.1f ms, temperature %.2f, targets %s)",
            len(notes), start // bar + 1, response.engine_ms, self.temperature,
            {k: round(v, 3) for k, v in targets.items()} or "none",
        )  # fmt: skip
        return out

    # ---------------------------------------------------------------- controls

    def _control(self, msg: mido.Message, now: float) -> list[mido.Message]:
        if self.cc_map.channel is not None and msg.channel != self.cc_map.channel:
            return []
        name = self.cc_map.lookup(msg.control)
        if name is None:
            return []
        value = msg.value
        if name in ("regenerate", "reset"):
            pressed = value >= BUTTON_THRESHOLD and self._buttons.get(msg.control, 0) < BUTTON_THRESHOLD
            self._buttons[msg.control] = value
            if not pressed:
                return []
            if name == "reset":
                self.targets.clear()
                log.info("targets reset: attributes keep their input values")
                return []
            return self._regenerate_now(now)
        if name == "temperature":
            self.temperature = value / 127 * TEMPERATURE_MAX
            log.debug("temperature %.3f", self.temperature)
        else:
            self.targets[name] = value / 127
            log.debug("target %s %.3f", name, self.targets[name])
        return []

    def _regenerate_now(self, now: float) -> list[mido.Message]:
        pos = self.position_beats(now)
        if pos is None:
            log.info("regenerate ignored: %s", "no call yet" if self.tempo_bpm else "MIDI clock is not running")
            return []
        if self._call is not None:
            return self._end_call(pos)
        if self.last_call is None:
            log.info("regenerate ignored: no call recorded yet")
            return []
        return self._respond(pos)


def pump(inport: Any, outport: Any, machine: CallResponse, clock: Callable[[], float]) -> None:
    """Hand every pending message of inport to the machine, then its due events, sending what it returns on
    outport. Each message is stamped with clock() when it is read."""
    for msg in inport.iter_pending():
        for out in machine.handle(msg, clock()):
            outport.send(out)
    for out in machine.tick(clock()):
        outport.send(out)


def run_loop(
    inport: Any,
    outport: Any,
    machine: CallResponse,
    *,
    should_stop: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], Any] = time.sleep,
    poll_sec: float = 0.001,
) -> None:
    """Drive the machine from inport to outport until should_stop() is true; all response notes off at the end.

    Polls the input every poll_sec seconds (1 ms by default: incoming MIDI is time-stamped and clock pulses answered
    within about a millisecond, for a few percent of one core), and sooner when a fixed-tempo event falls due.

    Args:
        inport: a mido input port (or anything with iter_pending()).
        outport: a mido output port (or anything with send(msg)).
        machine: the CallResponse.
        should_stop: called once per poll; the loop ends when it returns True.
        clock: monotonic seconds; injected by tests.
        wait: sleeps for the given seconds (a threading.Event's wait, so stopping is immediate); injected by tests.
        poll_sec: longest wait between polls, in seconds, > 0.
    """
    try:
        while not should_stop():
            pump(inport, outport, machine, clock)
            due = machine.seconds_until_next(clock())
            wait(poll_sec if due is None else min(poll_sec, due))
    finally:
        for out in machine.all_notes_off():
            outport.send(out)
