"""Reading one object version: a seekable file over the chunk cache or one streaming GET."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vodstack.errors import StorageError
from vodstack.storage.s3.errors import s3_errors

if TYPE_CHECKING:
    from vodstack.storage.s3.store import S3Store


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What a HEAD tells us; cached so reopening a segment's track file costs no request."""

    size: int
    etag: str


class S3Reader(io.RawIOBase):
    """A seekable read-only view of one object version (reads are pinned to its ETag).

    Small reads (the origin's 256 KiB pumps) go through the store's chunk cache; large
    sequential reads (staging a master for FFmpeg) stream from one open GET instead, so a
    multi-GB copy neither issues a GET per read nor evicts the origin's hot segments.
    """

    def __init__(self, store: S3Store, key: str, meta: ObjectMeta) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._meta = meta
        self._pos = 0
        self._stream: Any = None
        self._stream_pos = -1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._meta.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(buffer).cast("B")
        n = min(len(view), max(0, self._meta.size - self._pos))
        if n == 0:
            return 0
        if n >= self._store.bulk_read_bytes:
            data = self._read_stream(n)
        else:
            data = self._store.read_range(self._key, self._meta, self._pos, n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        return self.read(max(0, self._meta.size - self._pos)) or b""

    def _read_stream(self, n: int) -> bytes:
        if self._stream is None or self._stream_pos != self._pos:
            self._close_stream()
            self._stream = self._store.open_stream(self._key, self._meta, self._pos)
            self._stream_pos = self._pos
        with s3_errors(f"reading object {self._key!r}"):
            data = self._stream.read(n)
        if len(data) != n:
            raise StorageError(f"object {self._key!r} ended early: its stored size changed")
        self._stream_pos += n
        return data

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._close_stream()
        super().close()
