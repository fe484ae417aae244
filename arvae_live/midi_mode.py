"""MIDI-port mode: call and response on two MIDI ports, on its own thread, beside (or without) the OSC daemon.

`serve --midi-in NAME --midi-out NAME` (its options are defined in commands/serve.py) builds a `CallResponse`
machine with `build_machine`, opens the ports with `MidiMode.open` before the OSC daemon starts, and starts the MIDI
thread once the daemon runs. When the ports cannot be opened (no MIDI system, no such port) serve exits with the
one-line error listing the ports, or, with --midi-optional, says so and serves OSC only. `run_midi_mode` is the same
without OSC, for scripts.

The MIDI thread calls the engine directly, not through the daemon's job queue, so that a queue of OSC requests
never holds up the clock. A LiveModel serves one caller at a time, so both threads take the daemon's engine lock
(`SharedEngine`); a response is decided at least a pulse before the bar line it starts on, and the lock is held for
one regeneration at most (milliseconds), so the MIDI side loses no pulses, it only answers them a little later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# The MIDI and engine modules load only when MIDI mode runs, so importing this module is cheap.
if TYPE_CHECKING:
    from arvae_live.call_response import CallResponse, Regenerator

log = logging.getLogger(__name__)


class SharedEngine:
    """The current model of a model holder, one caller at a time: what the MIDI thread regenerates with.

    Args:
        current: returns the model to use now (e.g. `lambda: model_host.current`), so switching models over OSC
            switches the MIDI side too.
        lock: the lock the OSC engine thread holds while it runs a job.
        budget_ms: closed-loop time budget per regeneration (LiveModel.regenerate's), None for none.
    """

    def __init__(
        self, current: Callable[[], Regenerator], lock: threading.Lock, budget_ms: float | None = None
    ) -> None:
        self._current = current
        self.lock = lock
        self.budget_ms = budget_ms

    @property
    def vocab(self):
        return self._current().vocab

    @property
    def attribute_names(self) -> list[str]:
        return list(self._current().attribute_names)

    @property
    def grid(self):
        """The current model's grid (core/meters.py): which meters it serves."""
        return self._current().grid

    @property
    def model_id(self) -> str | None:
        return getattr(self._current(), "model_id", None)

    def regenerate(self, tokens, targets, variations=1, temperature=0.0, seed=0, closed_loop=True) -> Any:
        with self.lock:
            lm = self._current()
            known = set(lm.attribute_names)  # after a model switch, dials for attributes it lacks are dropped
            targets = {k: v for k, v in targets.items() if k in known}
            extra = {} if self.budget_ms is None else {"budget_ms": self.budget_ms}
            return lm.regenerate(
                tokens, targets, variations=variations, temperature=temperature, seed=seed, closed_loop=closed_loop,
                **extra,
            )  # fmt: skip


class MidiMode:
    """A CallResponse machine driven on its own thread between an open input and output port.

    Use `MidiMode.open(...)` to open the ports by name; `start()` runs the loop, `stop()` ends it (all response
    notes off) and closes the ports; stopping twice is harmless.
    """

    def __init__(self, machine: CallResponse, inport: Any, outport: Any, threads: int | None = None) -> None:
        self.machine = machine
        self.inport = inport
        self.outport = outport
        self.threads = threads
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        machine: CallResponse,
        midi_in: str,
        midi_out: str,
        *,
        virtual: bool = False,
        backend: Any = None,
        threads: int | None = None,
    ) -> MidiMode:
        """Open the named ports (see arvae_live.midi_ports) for machine.

        Raises:
            MidiPortError: no MIDI system, no such port (the message lists the ports), or the port cannot be opened.
        """
        from arvae_live.midi_ports import open_pair

        return cls(machine, *open_pair(midi_in, midi_out, virtual=virtual, backend=backend), threads)

    def start(self) -> MidiMode:
        self._thread = threading.Thread(target=self._run, name="arvae-midi", daemon=True)
        self._thread.start()
        clock = f"{self.machine.tempo_bpm:g} bpm" if self.machine.tempo_bpm else "incoming MIDI clock"
        log.info(
            "MIDI call and response: in %r, out %r, following %s; CCs %s",
            self.inport.name, self.outport.name, clock, self.machine.cc_map.describe(),
        )  # fmt: skip
        return self

    def _run(self) -> None:
        from arvae_live.call_response import run_loop

        if self.threads:  # intra-op threads are set per thread
            import torch

            torch.set_num_threads(self.threads)
        try:
            run_loop(self.inport, self.outport, self.machine, should_stop=self._stop.is_set, wait=self._stop.wait)
        except Exception:  # a port that vanished (device unplugged): log it, the OSC side goes on
            log.exception("MIDI loop stopped")

    def stop(self) -> None:
        """End the loop (sending note-offs for sounding response notes) and close the ports."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.outport.close()
        self.inport.close()

    def __enter__(self) -> MidiMode:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def build_machine(
    engine: Regenerator,
    *,
    tempo: float | None = None,
    midi_cc: tuple[str, ...] = (),
    midi_channel: int | None = None,
    midi_out_channel: int = 1,
    max_bars: int = 8,
    end_silence: float = 2.0,
    meter: str = "4/4",
) -> CallResponse:
    """The CallResponse machine for MIDI-port mode, with the values of serve's options of the same names.

    Args:
        engine: a LiveModel or SharedEngine.
        tempo: a fixed tempo in bpm (20..400), None to follow incoming MIDI clock.
        midi_cc: "NAME=NUMBER" or "NAME=off" CC overrides.
        midi_channel: the channel (1..16, as a performer counts) to read notes and CCs on, None for any.
        midi_out_channel: the channel (1..16) the response is played on.
        max_bars: the longest call, in bars (1..64).
        end_silence: beats with no key held that end a call.
        meter: the meter played, "num/den" (--meter): picks the grid; the engine's model must serve it.

    Raises:
        ConfigError: a bad --midi-cc override or setting, a meter no grid serves, or one the model does not serve.
    """
    from arvae_live.call_response import CallResponse, CallSettings, CCMap

    in_channel = None if midi_channel is None else midi_channel - 1
    cc_map = CCMap.for_attributes(engine.attribute_names, midi_cc, channel=in_channel)
    settings = CallSettings(
        tempo_bpm=tempo,
        max_bars=max_bars,
        end_silence_beats=end_silence,
        in_channel=in_channel,
        out_channel=midi_out_channel - 1,
        meter=meter,
    )
    return CallResponse(engine, cc_map, settings)


def run_midi_mode(
    engine: Regenerator,
    midi_in: str,
    midi_out: str,
    *,
    virtual: bool = False,
    stop_event: threading.Event | None = None,
    backend: Any = None,
    **options: Any,
) -> None:
    """Run MIDI-port call and response until stop_event is set or Ctrl-C, without the OSC daemon.

    Args:
        engine: a LiveModel (or SharedEngine).
        midi_in, midi_out: port names or unique parts of them.
        virtual: create virtual ports with these names instead.
        stop_event: set it from another thread to stop; None runs until KeyboardInterrupt.
        backend: a mido Backend; mido's default when None.
        **options: `build_machine`'s keywords (tempo, midi_cc, midi_channel, midi_out_channel, max_bars,
            end_silence, meter); any other is a TypeError.

    Raises:
        MidiPortError: ports cannot be opened (the message lists the ports).
        ConfigError: bad options.
    """
    machine = build_machine(engine, **options)
    stop_event = stop_event or threading.Event()
    with MidiMode.open(machine, midi_in, midi_out, virtual=virtual, backend=backend):
        try:
            while not stop_event.wait(0.2):
                pass
        except KeyboardInterrupt:
            log.info("interrupted")
