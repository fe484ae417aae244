"""MIDI ports: the one place arvae-live lists and opens hardware and virtual MIDI ports (mido over python-rtmidi).

Everything else takes mido port objects, so tests pass in-memory ports and never need a MIDI system. Ports returned
here are mido ports: context managers whose `close()` may be called twice.

Port names are matched exactly first, then as a case-insensitive substring when that picks exactly one port: ALSA
names carry client:port numbers that change between boots ("loopback:in 20:0"), and Windows appends an index
("loopMIDI Port 1"), so `--midi-in loopmidi` is what a performer wants to type. An unknown or ambiguous name raises
`MidiPortError` listing the ports that exist; errors from rtmidi are re-raised as `MidiPortError` ``from err``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from arvae_live.errors import MidiPortError

log = logging.getLogger(__name__)

# What each operating system calls the loopback driver a performer routes Live through (for error messages).
_ROUTING_HINT = "route MIDI through a virtual port (macOS: IAC Driver, Windows: loopMIDI, Linux: ALSA virtual ports)"


_NO_MIDI_SYSTEM = (
    "on Linux the ALSA sequencer (/dev/snd/seq, module snd-seq) must be present, elsewhere install python-rtmidi; "
    "the OSC interface works without MIDI"
)
_ALSA_SEQUENCER = "/dev/snd/seq"


def _default_backend() -> Any:
    """mido's default backend (python-rtmidi unless MIDO_BACKEND says otherwise), imported on first use.

    Raises:
        MidiPortError: it would use the ALSA sequencer of a Linux machine that has none. rtmidi would fail too, but
            the ALSA C library first prints its own line on stderr, so the failure would show twice. (JACK without
            ALSA: set MIDO_BACKEND=mido.backends.rtmidi/UNIX_JACK.)
    """
    import mido

    backend = mido.backend
    alsa = backend.name == "mido.backends.rtmidi" and backend.api in (None, "LINUX_ALSA")
    if alsa and sys.platform.startswith("linux") and not os.path.exists(_ALSA_SEQUENCER):
        raise MidiPortError(f"no MIDI system available ({_ALSA_SEQUENCER} does not exist); {_NO_MIDI_SYSTEM}")
    return backend


def _backend_errors() -> tuple[type[BaseException], ...]:
    """The exception types a MIDI backend raises when the MIDI system or a port is unusable."""
    errors: tuple[type[BaseException], ...] = (OSError, RuntimeError, ValueError, ImportError, NotImplementedError)
    try:
        import rtmidi

        errors += (rtmidi.RtMidiError,)
    except ImportError:  # another mido backend; its errors are among the builtins above
        pass
    return errors


def port_names(backend: Any = None) -> tuple[list[str], list[str]]:
    """The MIDI ports that exist now.

    Args:
        backend: a mido Backend (anything with get_input_names/get_output_names); mido's default when None.

    Returns:
        (input names, output names), each in the order the MIDI system lists them.

    Raises:
        MidiPortError: there is no usable MIDI system (no ALSA sequencer, no backend module).
    """
    backend = backend if backend is not None else _default_backend()
    try:
        return list(backend.get_input_names()), list(backend.get_output_names())
    except _backend_errors() as err:
        raise MidiPortError(f"no MIDI system available ({_one_line(err)}); {_NO_MIDI_SYSTEM}") from err


def resolve_port_name(name: str, available: list[str], kind: str) -> str:
    """The one port in available that name designates: an exact match, else a unique case-insensitive substring.

    Args:
        name: what the user typed, e.g. "IAC Driver Bus 1" or "loopmidi".
        available: the existing port names of that direction.
        kind: "input" or "output", for the message.

    Returns:
        The full port name.

    Raises:
        MidiPortError: no port or more than one port matches; the message lists the ports of that kind.
    """
    if name in available:
        return name
    matches = [p for p in available if name.lower() in p.lower()]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(repr(p) for p in available) if available else "none"
    if matches:
        raise MidiPortError(
            f"MIDI {kind} name {name!r} matches {len(matches)} ports ({', '.join(map(repr, matches))}); "
            f"give more of the name. {kind.capitalize()} ports: {listed}"
        )
    raise MidiPortError(f"no MIDI {kind} port named {name!r}. {kind.capitalize()} ports: {listed}; {_ROUTING_HINT}")


def open_input(name: str, *, virtual: bool = False, backend: Any = None, **kwargs: Any) -> Any:
    """Open a MIDI input port by name.

    Args:
        name: port name or a unique part of it; with virtual=True, the name of the port to create.
        virtual: create a virtual port other programs can send to (macOS and Linux only; Windows needs loopMIDI).
        backend: a mido Backend; mido's default when None.
        **kwargs: passed to the backend's open_input (e.g. callback).

    Returns:
        The open mido input port (a context manager).

    Raises:
        MidiPortError: no MIDI system, unknown or ambiguous name, or the port could not be opened.
    """
    return _open("input", name, virtual, backend, kwargs)


def open_output(name: str, *, virtual: bool = False, backend: Any = None, **kwargs: Any) -> Any:
    """Open a MIDI output port by name; arguments, return value and errors as for `open_input`."""
    return _open("output", name, virtual, backend, kwargs)


def open_pair(in_name: str, out_name: str, *, virtual: bool = False, backend: Any = None) -> tuple[Any, Any]:
    """Open an input and an output port; when the output cannot be opened, the input is closed again.

    Args:
        in_name, out_name, virtual, backend: as for `open_ports`.

    Returns:
        (input port, output port), both open; the caller closes them.

    Raises:
        MidiPortError: as for open_input.
    """
    inport = open_input(in_name, virtual=virtual, backend=backend)
    try:
        outport = open_output(out_name, virtual=virtual, backend=backend)
    except BaseException:
        inport.close()
        raise
    return inport, outport


@contextmanager
def open_ports(in_name: str, out_name: str, *, virtual: bool = False, backend: Any = None) -> Iterator[tuple[Any, Any]]:
    """Open an input and an output port together and close both on exit (also when opening the second fails).

    Args:
        in_name: the input port's name (or unique part); the daemon records calls from it.
        out_name: the output port's name (or unique part); the daemon plays responses on it.
        virtual: create both as virtual ports with these names instead of opening existing ones.
        backend: a mido Backend; mido's default when None.

    Yields:
        (input port, output port).

    Raises:
        MidiPortError: as for open_input.
    """
    inport, outport = open_pair(in_name, out_name, virtual=virtual, backend=backend)
    try:
        yield inport, outport
    finally:
        outport.close()
        inport.close()


def _open(kind: str, name: str, virtual: bool, backend: Any, kwargs: dict[str, Any]) -> Any:
    backend = backend if backend is not None else _default_backend()
    opener = backend.open_input if kind == "input" else backend.open_output
    if virtual:
        full_name = name
    else:
        inputs, outputs = port_names(backend)
        full_name = resolve_port_name(name, inputs if kind == "input" else outputs, kind)
    try:
        port = opener(full_name, virtual=virtual, **kwargs)
    except _backend_errors() as err:
        what = f"create virtual MIDI {kind} {full_name!r}" if virtual else f"open MIDI {kind} {full_name!r}"
        hint = "; Windows has no virtual ports: create one with loopMIDI and name it" if virtual else ""
        raise MidiPortError(f"could not {what}: {_one_line(err)}{hint}") from err
    log.info("opened MIDI %s %r%s", kind, full_name, " (virtual)" if virtual else "")
    return port


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__
