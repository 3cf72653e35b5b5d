"""Reading a stored slice (storage/slices.py), the one way the origin, the edge and the web
responses read stored bytes: against LocalStore and S3Store alike (the ``store`` fixture),
and with a local file named explicitly (what the edge's cache hands the web responses)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tests.unit.storage.support import KiB

from vodstack.errors import NotFound, TruncatedObject
from vodstack.storage import ObjectStore
from vodstack.storage.slices import (
    BytesResource,
    FileSlice,
    copy_slice,
    open_slice,
    read_resource,
    read_slice,
)

KEY = "packaged/a1/r1/v0.mp4"
DATA = random.Random(7).randbytes(300 * KiB)


@pytest.fixture
def stored(store: ObjectStore) -> ObjectStore:
    with store.writer(KEY) as fh:
        fh.write(DATA)
    return store


@pytest.mark.parametrize(("offset", "length"), [(0, 1), (0, 300 * KiB), (70_001, 150_000)])
def test_read_slice_is_exactly_the_bytes_at_the_offset(
    stored: ObjectStore, offset: int, length: int
) -> None:
    assert read_slice(stored, KEY, offset, length) == DATA[offset : offset + length]


def test_a_slice_past_the_end_is_a_truncated_object(stored: ObjectStore) -> None:
    with pytest.raises(TruncatedObject):
        read_slice(stored, KEY, len(DATA) - 10, 11)
    with pytest.raises(NotFound):  # the origin answers it as before: 404
        read_slice(stored, KEY, len(DATA), 1)


def test_a_missing_object_is_not_a_truncated_one(stored: ObjectStore) -> None:
    # streamed: the store's NotFound; local: the file system's error, as before the helper
    with pytest.raises((NotFound, FileNotFoundError)) as caught:
        read_slice(stored, "packaged/a1/r1/nope.mp4", 0, 1)
    assert not isinstance(caught.value, TruncatedObject)


def test_positional_reads_do_not_depend_on_order(stored: ObjectStore) -> None:
    with open_slice(stored, KEY) as reader:
        assert reader.read_at(5, 200_000) == DATA[200_000:200_005]
        assert reader.read_at(5, 10) == DATA[10:15]
        assert reader.read_at(10, len(DATA) - 5) == DATA[-5:]  # short only at the end
        assert (reader.fileno() is not None) == (stored.local_path(KEY) is not None)


def test_copy_slice_writes_the_slice_to_a_new_file(stored: ObjectStore, tmp_path: Path) -> None:
    target = tmp_path / "staged.part"
    copy_slice(stored, KEY, 4096, 200_000, target)
    assert target.read_bytes() == DATA[4096 : 4096 + 200_000]


def test_a_failed_copy_leaves_no_file(stored: ObjectStore, tmp_path: Path) -> None:
    target = tmp_path / "staged.part"
    with pytest.raises(TruncatedObject):
        copy_slice(stored, KEY, 100, len(DATA), target)
    assert not target.exists()


def test_an_explicit_path_is_read_without_the_store(stored: ObjectStore, tmp_path: Path) -> None:
    cached = tmp_path / "entry"
    cached.write_bytes(b"0123456789")
    assert read_slice(stored, "not/a-stored-key", 2, 5, cached) == b"23456"


def test_read_resource_reads_slices_and_returns_documents(stored: ObjectStore) -> None:
    doc = BytesResource(b"#EXTM3U", "application/vnd.apple.mpegurl", "no-cache", '"d"')
    part = FileSlice(KEY, stored.local_path(KEY), 9, 90, "video/mp4", "no-cache", '"s"')
    assert read_resource(stored, doc) == b"#EXTM3U"
    assert read_resource(stored, part) == DATA[9:99]
