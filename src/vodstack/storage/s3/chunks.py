"""The origin's read cache of S3 byte ranges: chunks in memory or as files in a directory."""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

_CHUNK_NAME = re.compile(r"^[0-9a-f]{32}-[0-9]+$")


class ChunkCache:
    """Byte-bounded LRU of object chunks, in memory or as files in ``directory``.

    A directory cache survives restarts, so an origin comes back with a warm working set;
    files are written to a temp name and renamed, so readers never see a partial chunk.
    Chunk names embed the object's ETag: a changed object can never be served stale bytes.
    The byte bound is kept per process: give each process its own directory to keep it exact.
    Caching is an optimisation only, so a full or read-only disk never fails a read.
    """

    def __init__(self, max_bytes: int, directory: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.directory = directory
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self._data: dict[str, bytes] = {}
        self._total = 0
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            self._adopt(directory)

    def _adopt(self, directory: Path) -> None:
        stats = [(p, p.stat()) for p in directory.iterdir() if p.is_file()]
        for path, st in sorted(stats, key=lambda item: item[1].st_mtime):
            if _CHUNK_NAME.fullmatch(path.name):
                self._sizes[path.name] = st.st_size
                self._total += st.st_size
            elif st.st_mtime < time.time() - 3600:
                path.unlink(missing_ok=True)  # a temp file of a crashed write, not a live one
        self._drop(self._evict_locked())

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._sizes

    def get(self, name: str) -> bytes | None:
        with self._lock:
            if name not in self._sizes:
                return None
            self._sizes.move_to_end(name)
            if self.directory is None:
                return self._data[name]
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:  # evicted by another process sharing the directory
            with self._lock:
                self._total -= self._sizes.pop(name, 0)
            return None

    def put(self, name: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        if self.directory is not None and not self._write_file(self.directory, name, data):
            return
        with self._lock:
            self._total -= self._sizes.pop(name, 0)
            self._sizes[name] = len(data)
            self._total += len(data)
            if self.directory is None:
                self._data[name] = data
            evicted = self._evict_locked()
        self._drop(evicted)

    @staticmethod
    def _write_file(directory: Path, name: str, data: bytes) -> bool:
        tmp = directory / f".{name}.{secrets.token_hex(4)}"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, directory / name)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.warning("chunk cache in %s not written: %s", directory, exc.strerror)
            return False
        return True

    def _evict_locked(self) -> list[str]:
        evicted: list[str] = []
        while self._total > self.max_bytes and self._sizes:
            name, size = self._sizes.popitem(last=False)
            self._data.pop(name, None)
            self._total -= size
            evicted.append(name)
        return evicted

    def _drop(self, names: list[str]) -> None:
        if self.directory is not None:
            for name in names:
                (self.directory / name).unlink(missing_ok=True)
