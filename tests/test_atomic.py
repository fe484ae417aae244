"""core.atomic: outputs appear whole or not at all, and no temporary file is left behind."""

import pytest

from arvae_live.core.atomic import atomic_open, write_atomic


def test_write_atomic_creates_folder_and_replaces(tmp_path):
    path = tmp_path / "sub" / "out.bin"
    assert write_atomic(path, b"first") == path
    assert path.read_bytes() == b"first"
    write_atomic(path, b"second, longer")
    assert path.read_bytes() == b"second, longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.bin"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_open(path) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_interrupted_first_write_leaves_nothing(tmp_path):
    path = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(path) as f:
            f.write(b"partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_ordinary_mode(tmp_path):
    import os

    from arvae_live.core.atomic import write_atomic

    umask = os.umask(0o022)
    os.umask(umask)
    path = write_atomic(tmp_path / "out.mid", b"MThd")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
