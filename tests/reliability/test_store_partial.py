"""Temp objects of interrupted writes: removed when their writer is dead, kept while alive."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from vodstack.errors import UploadRejected
from vodstack.storage.local import LocalStore


def test_dead_writers_temp_file_is_removed_live_one_is_kept(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    dead = tmp_path / "objects" / "masters" / "a1" / ".source.mp4.abc.part"
    dead.parent.mkdir(parents=True)
    dead.write_bytes(b"x" * 100)  # what kill -9 mid-upload leaves: nobody holds its lock
    old = time.time() - 60
    os.utime(dead, (old, old))
    with store.writer("masters/b2/source.mp4") as fh:
        fh.write(b"in progress")
        live = next((tmp_path / "objects" / "masters" / "b2").glob(".*.part"))
        os.utime(live, (old, old))
        assert store.clean_partial() == 1
        assert live.exists()
    assert not dead.exists() and not dead.parent.exists()
    assert (tmp_path / "objects" / "masters" / "b2" / "source.mp4").read_bytes() == b"in progress"


def test_a_just_created_temp_file_is_left_alone(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    fresh = tmp_path / "objects" / "masters" / "c3" / ".source.mp4.def.part"
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"")
    assert store.clean_partial() == 0
    assert fresh.exists()


def test_a_refused_write_leaves_no_directory(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")

    def refused_write() -> None:
        with store.writer("masters/d4/source.mp4") as fh:
            fh.write(b"too big")
            raise UploadRejected("over the limit", 413)

    with pytest.raises(UploadRejected):
        refused_write()
    assert not (tmp_path / "objects" / "masters" / "d4").exists()
