"""The origin's read cache of S3 byte ranges: chunks in memory or as files in a directory."""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path

from vodstack.base.lru import Lru

log = logging.getLogger(__name__)

_CHUNK_NAME = re.compile(r"^[0-9a-f]{32}-[0-9]+$")


def _itself(size: int) -> int:
    return size


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
        self._sizes: Lru[str, int] = Lru(max_bytes, _itself)  # chunk name → size
        self._data: dict[str, bytes] = {}  # the chunks themselves, when not in files
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            self._adopt(directory)

    def _adopt(self, directory: Path) -> None:
        stats = [(p, p.stat()) for p in directory.iterdir() if p.is_file()]
        evicted: list[str] = []
        for path, st in sorted(stats, key=lambda item: item[1].st_mtime):
            if _CHUNK_NAME.fullmatch(path.name):
                if self._sizes.fits(st.st_size):
                    evicted += [name for name, _ in self._sizes.put(path.name, st.st_size)]
                else:
                    evicted.append(path.name)  # bigger than the whole cache (its bound shrank)
            elif st.st_mtime < time.time() - 3600:
                path.unlink(missing_ok=True)  # a temp file of a crashed write, not a live one
        self._drop(evicted)

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._sizes

    def get(self, name: str) -> bytes | None:
        with self._lock:
            if self._sizes.get(name) is None:
                return None
            if self.directory is None:
                return self._data[name]
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:  # evicted by another process sharing the directory
            with self._lock:
                self._sizes.pop(name)
            return None

    def put(self, name: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        if self.directory is not None and not self._write_file(self.directory, name, data):
            return
        with self._lock:
            evicted = [old for old, _ in self._sizes.put(name, len(data))]
            if self.directory is None:
                self._data[name] = data
                for old in evicted:
                    self._data.pop(old, None)
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

    def _drop(self, names: list[str]) -> None:
        if self.directory is not None:
            for name in names:
                (self.directory / name).unlink(missing_ok=True)
