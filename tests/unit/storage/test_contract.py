"""The ObjectStore contract, run against LocalStore and S3Store alike.

Whatever the backend, the rest of vodstack relies on: atomic writes (nothing visible after a
failed write), seekable reads equal to what was written, prefix-scoped listing and deletion,
all-or-nothing publishing, and keys that cannot escape the store.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.storage.support import ClientWentAway, KiB, MiB, write_then_fail

from vodstack.errors import InvalidInput, NotFound, StorageError, UploadRejected
from vodstack.storage import ObjectStore


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _put(store: ObjectStore, key: str, data: bytes) -> None:
    with store.writer(key) as fh:
        fh.write(data)


def _get(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as fh:
        return fh.read()


def test_written_object_reads_back(store: ObjectStore) -> None:
    data = _bytes(300 * KiB)
    _put(store, "masters/a1/source.mp4", data)
    assert _get(store, "masters/a1/source.mp4") == data
    assert store.size("masters/a1/source.mp4") == len(data)
    assert store.exists("masters/a1/source.mp4")
    assert (
        store.local_path("masters/a1/source.mp4") is None
        or store.local_path("masters/a1/source.mp4").is_file()
    )


def test_empty_object(store: ObjectStore) -> None:
    _put(store, "empty.bin", b"")
    assert store.size("empty.bin") == 0
    assert _get(store, "empty.bin") == b""


def test_missing_object_is_not_found(store: ObjectStore) -> None:
    assert not store.exists("masters/none/source.mp4")
    with pytest.raises(NotFound):
        store.open("masters/none/source.mp4")
    with pytest.raises(NotFound):
        store.size("masters/none/source.mp4")


def test_overwrite_replaces_content(store: ObjectStore) -> None:
    _put(store, "k.bin", b"first")
    _put(store, "k.bin", b"second version")
    assert _get(store, "k.bin") == b"second version"
    assert store.size("k.bin") == len(b"second version")


def test_list_is_recursive_and_scoped_to_the_prefix(store: ObjectStore) -> None:
    for key in ("p/a/1.mp4", "p/a/sub/2.mp4", "p/ab/3.mp4", "p/a.mp4", "q/4.mp4"):
        _put(store, key, key.encode())
    assert sorted(store.list("p/a")) == ["p/a/1.mp4", "p/a/sub/2.mp4"]
    assert sorted(store.list("p")) == ["p/a.mp4", "p/a/1.mp4", "p/a/sub/2.mp4", "p/ab/3.mp4"]
    assert list(store.list("nothing")) == []


def test_delete_prefix_removes_only_that_prefix(store: ObjectStore) -> None:
    for key in ("packaged/x/1/v0.mp4", "packaged/x/1/a0.mp4", "packaged/x/10/v0.mp4"):
        _put(store, key, b"data")
    assert store.delete_prefix("packaged/x/1") == 2
    assert sorted(store.list("packaged/x")) == ["packaged/x/10/v0.mp4"]
    assert store.delete_prefix("packaged/x/1") == 0


def _tree(root: Path) -> dict[str, bytes]:
    files = {"v0.mp4": _bytes(100 * KiB, 1), "a0.mp4": _bytes(10 * KiB, 2), "sub/t.vtt": b"WEB"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_publish_directory_makes_every_file_visible(store: ObjectStore, tmp_path: Path) -> None:
    files = _tree(tmp_path / "out")
    store.publish_directory(tmp_path / "out", "packaged/as1/1")
    assert sorted(store.list("packaged/as1/1")) == sorted(f"packaged/as1/1/{n}" for n in files)
    for name, data in files.items():
        assert _get(store, f"packaged/as1/1/{name}") == data


def test_publish_refuses_an_existing_revision(store: ObjectStore, tmp_path: Path) -> None:
    _tree(tmp_path / "first")
    shutil.copytree(tmp_path / "first", tmp_path / "second")
    store.publish_directory(tmp_path / "first", "packaged/as1/1")
    with pytest.raises(StorageError, match="already exists"):
        store.publish_directory(tmp_path / "second", "packaged/as1/1")


def test_failed_write_leaves_nothing(store: ObjectStore) -> None:
    with pytest.raises(ClientWentAway):  # 9 MiB: on S3 a multipart upload has begun
        write_then_fail(store, "masters/a2/source.mp4", _bytes(9 * MiB), lambda: None)
    assert not store.exists("masters/a2/source.mp4")
    assert list(store.list("masters")) == []


def test_aborted_upload_as_ingest_does_it_leaves_nothing(store: ObjectStore) -> None:
    """``Upload.abort`` drives the context manager by hand with an exception."""
    writer = store.writer("masters/a3/source.mp4")
    fh = writer.__enter__()
    fh.write(b"partial")
    writer.__exit__(UploadRejected, UploadRejected("aborted"), None)
    assert not store.exists("masters/a3/source.mp4")


def test_multipart_object_round_trips(store: ObjectStore) -> None:
    """20 MiB in 1 MiB writes: three 8 MiB-class parts on S3, read back in 8 MiB pieces."""
    data = _bytes(20 * MiB, 3)
    with store.writer("masters/big/source.mp4") as fh:
        for i in range(0, len(data), MiB):
            fh.write(data[i : i + MiB])
    assert store.size("masters/big/source.mp4") == len(data)
    digest = hashlib.sha256()
    with store.open("masters/big/source.mp4") as src:  # the transcode stage's copy loop
        for chunk in iter(lambda: src.read(8 * MiB), b""):
            digest.update(chunk)
    assert digest.digest() == hashlib.sha256(data).digest()


_OPS = st.lists(
    st.tuples(
        st.sampled_from([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END]),
        st.integers(min_value=-700 * KiB, max_value=700 * KiB),
        st.integers(min_value=-1, max_value=400 * KiB),
    ),
    min_size=1,
    max_size=6,
)


def test_seek_and_read_anywhere_equal_the_bytes(store: ObjectStore) -> None:
    """Compared with io.BytesIO over the same bytes: an independent reference reader.

    Offsets and lengths cross chunk boundaries, the read-ahead window and the end of the
    object; reads of 256 KiB and more take the S3 reader's streaming path.
    """
    data = _bytes(600 * KiB + 123, 4)
    _put(store, "packaged/r/1/v0.mp4", data)

    @settings(database=None, max_examples=60, deadline=None)
    @given(ops=_OPS)
    def check(ops: list[tuple[int, int, int]]) -> None:
        expected = io.BytesIO(data)
        with store.open("packaged/r/1/v0.mp4") as fh:
            for whence, offset, size in ops:
                base = {io.SEEK_SET: 0, io.SEEK_CUR: expected.tell(), io.SEEK_END: len(data)}
                target = base[whence] + offset
                if target < 0:  # real files refuse (BytesIO would clamp, so decide here)
                    with pytest.raises((ValueError, OSError)):
                        fh.seek(offset, whence)
                    continue
                assert fh.seek(offset, whence) == expected.seek(target)
                assert fh.read(size) == expected.read(size)
                assert fh.tell() == expected.tell()

    check()


@pytest.mark.parametrize(
    "bad", ["../escape", "/etc/passwd", "a/../../b", ".hidden", "a//b", "a/./b", "", "a\\b"]
)
def test_keys_cannot_escape_the_store(store: ObjectStore, bad: str, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f.bin").write_bytes(b"x")
    with pytest.raises(InvalidInput), store.writer(bad) as fh:
        fh.write(b"x")
    for call in (store.open, store.size, store.exists, store.delete_prefix):
        with pytest.raises(InvalidInput):
            call(bad)
    with pytest.raises(InvalidInput):
        list(store.list(bad))
    with pytest.raises(InvalidInput):
        store.publish_directory(tmp_path / "dir", bad)
