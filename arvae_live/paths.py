"""Paths the command-line tools open, checked to be regular files before they are opened.

A FIFO opened for reading blocks until a writer appears, a device can stream forever, and a folder named like a
MIDI file is no MIDI file: every file `attributes`, `regenerate` and `traverse` read (MIDI inputs, existing outputs,
checkpoints) goes through `check_regular` first, and `read_regular` reads through a descriptor opened with
O_NONBLOCK and checked again with fstat, so a path swapped for a FIFO between the check and the open cannot hang.
Standard library only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from arvae_live.errors import ArvaeError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a stat mode describes, in words: "a regular file", "a folder", "a FIFO (named pipe)", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def check_regular(path: str | os.PathLike, error: type[ArvaeError] = ArvaeError, what: str = "file") -> Path:
    """The path, when it names an existing regular file (links are followed); never opens it.

    Args:
        path: the path to check.
        error: the ArvaeError subclass to raise.
        what: what the file is for, in messages ("MIDI file", "checkpoint").

    Raises:
        error: no such file, or something other than a regular file (the message names what it is).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror or err})") from err
    if not stat.S_ISREG(mode):
        raise error(f"{path}: is {file_kind(mode)}, not a {what}; not opened")
    return path


def read_regular(
    path: str | os.PathLike, limit: int, error: type[ArvaeError] = ArvaeError, what: str = "file"
) -> bytes:
    """The bytes of a regular file of at most limit bytes, read without ever blocking on a FIFO or a device.

    Args:
        path: the file.
        limit: the largest size accepted, in bytes.
        error: the ArvaeError subclass to raise.
        what: what the file is for, in messages.

    Raises:
        error: missing, not a regular file, larger than limit, or unreadable (permission, I/O error).
    """
    path = check_regular(path, error, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror or err})") from err
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # replaced between the check and the open
            raise error(f"{path}: is {file_kind(st.st_mode)}, not a {what}; not read")
        if st.st_size > limit:
            raise error(f"{path}: {st.st_size / 2**20:.1f} MiB is larger than a {what} can be ({limit >> 20} MiB)")
        try:
            data = f.read(limit + 1)
        except OSError as err:
            raise error(f"{path}: cannot read ({err.strerror or err})") from err
    if len(data) > limit:  # grew after the fstat
        raise error(f"{path}: larger than a {what} can be ({limit >> 20} MiB)")
    return data
