"""Slices of stored objects: what delivery answers with, and the one way their bytes are read.

A :class:`FileSlice` names ``length`` bytes at ``offset`` of a stored object (an init or media
segment of a track file, a storyboard sheet, a download); a :class:`BytesResource` is a
document made in memory (a manifest, an encrypted segment). Both are pure value types, so
the origin, the edge and the web responses share them without depending on one another.

Reading a slice goes through :func:`open_slice` (positional reads), :func:`read_slice` (the
bytes, exactly) or :func:`copy_slice` (into a file, kernel-side when the object is local):
``path`` is the object's local file when there is one (``ObjectStore.local_path``), else the
store streams it (``ObjectStore.open``). A slice that reaches past the end of its object
means the index and the bytes disagree: :class:`~vodstack.errors.TruncatedObject`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vodstack.errors import TruncatedObject
from vodstack.storage.base import ObjectStore

COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BytesResource:
    """A generated document (a manifest)."""

    body: bytes
    content_type: str
    cache_control: str
    etag: str


@dataclass(frozen=True, slots=True)
class FileSlice:
    """A contiguous slice of a stored object (init or media segment), served without copying
    it into memory: ``path`` when the store is local, else ``key`` for a streamed read."""

    key: str
    path: Path | None
    offset: int
    length: int
    content_type: str
    cache_control: str
    etag: str


Resource = BytesResource | FileSlice


class SliceReader:
    """Positional reads of one stored object: ``pread`` on a local file (no shared file
    position, no Python buffer in between), seek and read on a store's stream."""

    def __init__(self, path: Path | None, stream: BinaryIO | None) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY) if path is not None else None
        self._stream = stream

    def read_at(self, length: int, offset: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at the end of the object)."""
        if self._fd is not None:
            return os.pread(self._fd, length, offset)
        assert self._stream is not None
        self._stream.seek(offset)
        return self._stream.read(length)

    def fileno(self) -> int | None:
        """The local file's descriptor (for ``copy_file_range``), None for a stream."""
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> SliceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_slice(store: ObjectStore, key: str, path: Path | None = None) -> SliceReader:
    """A reader of object ``key``: from ``path`` (or the store's local file) when there is
    one, else streamed from the store (raises NotFound for a missing object)."""
    local = path if path is not None else store.local_path(key)
    if local is not None:
        return SliceReader(local, None)
    return SliceReader(None, store.open(key))


def read_slice(
    store: ObjectStore, key: str, offset: int, length: int, path: Path | None = None
) -> bytes:
    """Exactly ``length`` bytes at ``offset`` of object ``key``."""
    with open_slice(store, key, path) as reader:
        parts: list[bytes] = []
        done = 0
        while done < length:
            chunk = reader.read_at(length - done, offset + done)
            if not chunk:
                raise TruncatedObject("a stored file is shorter than its index")
            parts.append(chunk)
            done += len(chunk)
    return b"".join(parts)


def read_resource(store: ObjectStore, resource: Resource) -> bytes:
    """The bytes a resource stands for: a document's body, or its slice read from the store."""
    if isinstance(resource, BytesResource):
        return resource.body
    return read_slice(store, resource.key, resource.offset, resource.length, resource.path)


def copy_slice(
    store: ObjectStore,
    key: str,
    offset: int,
    length: int,
    target: Path,
    path: Path | None = None,
) -> None:
    """Write the slice to a new file ``target`` (removed again if the copy fails)."""
    try:
        with open_slice(store, key, path) as reader, open(target, "wb") as dst:
            fd = reader.fileno()
            if fd is not None:
                _copy_range(key, fd, dst.fileno(), offset, length)
                return
            done = 0
            while done < length:
                chunk = reader.read_at(min(COPY_CHUNK, length - done), offset + done)
                if not chunk:
                    raise TruncatedObject("a stored file is shorter than its index")
                dst.write(chunk)
                done += len(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise


def _copy_range(key: str, src_fd: int, dst_fd: int, offset: int, length: int) -> None:
    """Kernel-side copy of a byte range: no Python buffer in between."""
    copied = 0
    while copied < length:
        n = os.copy_file_range(src_fd, dst_fd, length - copied, offset + copied)
        if n == 0:
            raise TruncatedObject("a stored file is shorter than its index")
        copied += n
