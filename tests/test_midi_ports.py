"""MIDI ports: name matching, errors that list the ports, closing, `arvae-live ports`, and real rtmidi ports where
the machine has a MIDI system (skipped, with the reason, where it does not)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import mido
import pytest
import rtmidi

from arvae_live import midi_ports
from arvae_live.call_response import CallResponse, run_loop
from arvae_live.core.attributes import PAPER_ATTRIBUTES
from arvae_live.core.representation import FIRST_PITCH_TOKEN, Vocabulary
from arvae_live.errors import MidiPortError
from arvae_live.midi_ports import open_input, open_output, open_ports, port_names, resolve_port_name

REPO = Path(__file__).resolve().parents[1]
INPUTS = ["Midi Through:Midi Through Port-0 14:0", "IAC Driver Bus 1", "loopMIDI Port 1", "loopMIDI Port 2"]
OUTPUTS = ["Midi Through:Midi Through Port-0 14:0", "IAC Driver Bus 1", "Synth Out"]


class FakeBackend:
    """A mido Backend's port functions over fixed names; opening gives in-memory mido ports; errors on request."""

    def __init__(self, list_error: Exception | None = None, open_error: dict[str, Exception] | None = None) -> None:
        self.list_error = list_error
        self.open_error = open_error or {}
        self.opened: list[mido.ports.BasePort] = []

    def get_input_names(self) -> list[str]:
        if self.list_error:
            raise self.list_error
        return list(INPUTS)

    def get_output_names(self) -> list[str]:
        if self.list_error:
            raise self.list_error
        return list(OUTPUTS)

    def _open(self, cls, name, virtual):
        if name in self.open_error:
            raise self.open_error[name]
        port = cls(name)
        port.virtual = virtual
        self.opened.append(port)
        return port

    def open_input(self, name, virtual=False, **kwargs):
        return self._open(mido.ports.BaseInput, name, virtual)

    def open_output(self, name, virtual=False, **kwargs):
        return self._open(mido.ports.BaseOutput, name, virtual)


@pytest.mark.parametrize(
    "typed, want",
    [
        ("IAC Driver Bus 1", "IAC Driver Bus 1"),  # exact
        ("iac", "IAC Driver Bus 1"),  # unique, case-insensitive part
        ("midi through", "Midi Through:Midi Through Port-0 14:0"),  # ALSA client:port numbers need not be typed
        ("loopMIDI Port 2", "loopMIDI Port 2"),
    ],
)
def test_resolve_port_name_exact_then_unique_part(typed, want):
    assert resolve_port_name(typed, INPUTS, "input") == want


def test_unknown_or_ambiguous_names_list_the_ports():
    with pytest.raises(MidiPortError, match="no MIDI input port named 'Live Out'") as err:
        resolve_port_name("Live Out", INPUTS, "input")
    assert all(repr(p) in str(err.value) for p in INPUTS) and "\n" not in str(err.value)
    with pytest.raises(MidiPortError, match="matches 2 ports"):
        resolve_port_name("loopmidi", INPUTS, "input")
    with pytest.raises(MidiPortError, match="Output ports: none"):
        resolve_port_name("x", [], "output")


def test_open_resolves_names_and_ports_close_twice_harmlessly():
    backend = FakeBackend()
    with open_ports("iac", "synth", backend=backend) as (inport, outport):
        assert (inport.name, outport.name) == ("IAC Driver Bus 1", "Synth Out")
        assert inport.is_input and outport.is_output and not inport.closed
    assert inport.closed and outport.closed
    inport.close()  # closing again is harmless
    virtual = open_output("arvae out", virtual=True, backend=backend)  # virtual: the name is created, not looked up
    assert virtual.name == "arvae out" and virtual.virtual


def test_no_midi_system_is_one_line_naming_the_cause_with_the_rtmidi_error_chained():
    cause = rtmidi.SystemError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")
    backend = FakeBackend(list_error=cause)
    with pytest.raises(MidiPortError, match="no MIDI system available .*ALSA sequencer client") as err:
        port_names(backend)
    assert err.value.__cause__ is cause and "\n" not in str(err.value)
    with pytest.raises(MidiPortError, match="no MIDI system"):
        open_input("iac", backend=backend)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or mido.backend.name != "mido.backends.rtmidi",
    reason="the ALSA sequencer is Linux's, and asked for through rtmidi",
)
def test_no_alsa_sequencer_is_said_without_asking_rtmidi(monkeypatch):
    monkeypatch.setattr(midi_ports, "_ALSA_SEQUENCER", "/nonexistent/snd/seq")
    monkeypatch.setattr(mido.backend, "api", None)
    with pytest.raises(MidiPortError, match=r"no MIDI system available \(/nonexistent/snd/seq does not exist\)"):
        port_names()
    with pytest.raises(MidiPortError, match="no MIDI system available"):
        open_output("arvae out", virtual=True)


def test_open_failure_is_wrapped_and_the_input_is_closed_when_the_output_fails():
    cause = rtmidi.SystemError("MidiOutAlsa::openPort: error creating ALSA sequencer port.")
    backend = FakeBackend(open_error={"Synth Out": cause})
    with pytest.raises(MidiPortError, match="could not open MIDI output 'Synth Out'") as err:
        with open_ports("iac", "synth", backend=backend):
            pytest.fail("must not get here")
    assert err.value.__cause__ is cause
    assert [p.name for p in backend.opened] == ["IAC Driver Bus 1"] and backend.opened[0].closed
    with pytest.raises(MidiPortError, match="Windows has no virtual ports"):
        open_input("x", virtual=True, backend=FakeBackend(open_error={"x": NotImplementedError()}))


def _this_machines_ports() -> tuple[list[str], list[str]] | None:
    try:
        return port_names()
    except MidiPortError:
        return None


def test_ports_command_lists_ports_or_says_in_one_line_there_is_no_midi_system():
    proc = subprocess.run(
        [sys.executable, "-m", "arvae_live", "ports"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    if _this_machines_ports() is None:
        assert proc.returncode == 1
        # One line: on Linux without /dev/snd/seq, rtmidi is not asked, so the ALSA C library prints nothing first.
        (line,) = proc.stderr.splitlines()
        assert line.startswith("Error: no MIDI system available (")
    else:
        assert proc.returncode == 0, proc.stderr
        assert "inputs (--midi-in):" in proc.stdout and "outputs (--midi-out):" in proc.stdout


class _Transposer:
    vocab = Vocabulary()
    attribute_names = list(PAPER_ATTRIBUTES)

    def regenerate(self, tokens, targets, variations=1, temperature=0.0, seed=0, closed_loop=True):
        out = tokens.copy()
        out[out >= FIRST_PITCH_TOKEN] += 2
        return SimpleNamespace(tokens=out[None], engine_ms=0.0)


def test_real_rtmidi_ports_carry_a_call_and_its_response():
    """Through real virtual rtmidi ports: a player port sends clock and a call, a listener port hears the response."""
    try:
        port_names()
    except MidiPortError as err:
        pytest.skip(f"no real MIDI ports on this machine: {err}")
    pulse_sec = 60 / (480 * 24)  # a fast 480 bpm keeps the test short: a bar is 0.5 s
    with (
        mido.open_output("arvae-test-player", virtual=True) as player,
        mido.open_input("arvae-test-listener", virtual=True) as listener,
        open_ports("arvae-test-player", "arvae-test-listener") as (inport, outport),
    ):
        stop = threading.Event()
        loop = threading.Thread(
            target=run_loop,
            args=(inport, outport, CallResponse(_Transposer())),
            kwargs={"should_stop": stop.is_set, "wait": stop.wait},
        )
        loop.start()
        try:
            player.send(mido.Message("start"))
            script = {96: [mido.Message("note_on", note=60, velocity=90)], 120: [mido.Message("note_off", note=60)]}
            t0 = time.monotonic()
            for p in range(400):  # the response (bar 4) is on pulses 288..311
                time.sleep(max(0.0, t0 + p * pulse_sec - time.monotonic()))
                player.send(mido.Message("clock"))
                for msg in script.get(p, []):
                    player.send(msg)
            time.sleep(0.05)
        finally:
            stop.set()
            loop.join(5)
        heard = [(m.type, m.note) for m in listener.iter_pending() if m.type in ("note_on", "note_off")]
    assert heard == [("note_on", 62), ("note_off", 62)]
