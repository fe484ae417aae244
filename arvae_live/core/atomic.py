"""Atomic file writes: an output appears whole or not at all.

Every file arvae-live and arvae-train write (checkpoints, MIDI files, reports, dataset caches, PNGs, run configs)
goes through `atomic_open` or `write_atomic`: the bytes go to a temporary file in the target's folder (same file
system, so the rename is atomic), are flushed and fsynced, and only then replace the target with os.replace. A
crash or Ctrl-C mid-write leaves the old file (or none) and no temporary file behind. Standard library only, so
core/ stays free of anything but torch and numpy.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    """The process umask. Read at first use only: reading it means setting it, which would race other threads."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


@contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file object whose contents replace `path` when the block ends without an exception.

    The parent folder is created if missing. The temporary file is `.<name>.<random>.tmp` beside the target; on any
    exception (KeyboardInterrupt included) it is removed and the target is left as it was.

    Args:
        path: the file to write.

    Yields:
        The open temporary file, mode "wb".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file private (0600); give it the mode an ordinary open() would, so a MIDI file or a
    # checkpoint can be read by the DAW or another user like any other output.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write data to path whole or not at all (see `atomic_open`).

    Args:
        path: the file to write; its folder is created if missing.
        data: the whole contents.

    Returns:
        The path written.
    """
    with atomic_open(path) as f:
        f.write(data)
    return Path(path)
