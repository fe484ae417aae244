"""The exceptions arvae-live raises on bad input.

Library code raises these; the CLI turns each into one line and exit code 1, the daemon into an `/arvae/error` reply.
Third-party errors are wrapped with ``raise ... from err`` and carry the path or name they concern.
"""


class ArvaeError(Exception):
    """Base class: an error the user can act on, with a message that says what to do next."""


class ConfigError(ArvaeError, ValueError):
    """A configuration field has a value outside its allowed set (the message names field and allowed values)."""


class CheckpointError(ArvaeError):
    """A checkpoint file is missing, corrupt, foreign, or of a newer format version than this code reads."""


class RepresentationError(ArvaeError, ValueError):
    """Notes or tokens that cannot be put on the 24-tick measure grid (wrong shape, wrong meter, bad values)."""


class UnknownAttributeError(ArvaeError, KeyError):
    """An attribute name that is not in the registry or not in the loaded model."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class MidiFileError(ArvaeError):
    """A MIDI file that cannot be read or used (missing, not MIDI, truncated, no notes, unsupported meter)."""


class MidiPortError(ArvaeError):
    """A MIDI port that cannot be opened; the message lists the ports that exist."""


class DaemonUnreachableError(ArvaeError):
    """No `arvae-live serve` answers where one was expected, or one could not be started (the message says which)."""
