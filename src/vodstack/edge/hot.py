"""In-memory copies of the disk tier's most requested files.

Why: the disk tier keeps one file per object so a hit can go out with
``http.response.pathsend``, which TOOLCHAIN.md measured at nginx speed. On this project's
machines granian's pathsend later measured 0.68-0.70× nginx for a 1.2 MB segment, while the
same bytes sent from memory (``http.response.body``) matched nginx (1.00×; bench/origin.py,
BENCHMARKS.md "Closing the gap"). A popular segment is requested by every viewer, so keeping
its bytes in memory after a second hit turns most segment hits into memory sends, and the
disk tier still holds the long tail.

Why keyed by file path, not by cache key: the disk tier never reuses a path (a hash of the key
plus a sequence number, a new name per stored version), so the bytes behind a path never
change. The cache decides which path answers a request — purges, re-validation and eviction
stay entirely its business — and a copy whose file was purged is simply never asked for again
and ages out of this LRU. Everything runs on the event loop; files are read in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from vodstack.base.lru import Lru

log = logging.getLogger(__name__)

_SEEN_MAX = 50_000  # paths whose hits are being counted (bounded: paths are per object)


class HotCopies:
    """Bytes of files hit at least ``promote_after`` times, in an LRU of ``capacity`` bytes.

    An object larger than ``capacity // 8`` is never copied: a few huge files must not push
    every segment out.
    """

    def __init__(self, capacity: int, *, promote_after: int = 2) -> None:
        self._copies: Lru[str, bytes] = Lru(capacity, len)
        self._max_object = capacity // 8
        self._promote_after = promote_after
        self._seen: Lru[str, int] = Lru(_SEEN_MAX)
        self._loading: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.promoted = 0

    @property
    def used(self) -> int:
        return self._copies.used

    def body(self, path: Path, size: int) -> bytes | None:
        """The file's bytes if a copy is held; otherwise count the hit and, from the
        ``promote_after``-th one, start copying the file in the background."""
        name = str(path)
        copy = self._copies.get(name)
        if copy is not None:
            return copy
        if not 0 < size <= self._max_object or name in self._loading:
            return None
        hits = (self._seen.pop(name) or 0) + 1
        if hits < self._promote_after:
            self._seen.put(name, hits)
            return None
        self._loading.add(name)
        task = asyncio.get_running_loop().create_task(self._load(name, path, size))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _load(self, name: str, path: Path, size: int) -> None:
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:  # evicted or purged meanwhile: nothing to keep
            return
        finally:
            self._loading.discard(name)
        if len(data) == size:
            self._copies.put(name, data)
            self.promoted += 1
