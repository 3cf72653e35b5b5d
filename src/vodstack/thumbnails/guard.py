"""Limits on frames cut on the fly (``thumbnail.jpg``): each costs an FFmpeg decode.

Three bounds (issue 20), so that a viewer with a valid cookie cannot turn thumbnails into a
CPU flood:

* **keys**: times are whole seconds clamped to the title's length and widths one of a few
  sizes (``layout.thumbnail_query``, ``cache_path``) before the edge looks anything up, so
  at most ``len(THUMBNAIL_SIZES)`` × seconds entries and decodes exist per title;
* **rate**: thumbnail requests per address have their own token bucket
  (``VODSTACK_THUMBNAIL_RATE_PER_S``), apart from the playback one, so scrubbing cannot
  starve segments and segments cannot hide a thumbnail flood;
* **concurrency**: at most ``VODSTACK_THUMBNAIL_CONCURRENCY`` cuts run at once per origin
  process; a request that finds no slot within ``VODSTACK_THUMBNAIL_WAIT_S`` gets ``503`` with
  ``Retry-After`` (never cached by the edge).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vodstack.base import RateLimiter, retry_after
from vodstack.base.lru import Lru
from vodstack.errors import RateLimited, Unavailable

_DURATION_TTL_S = 10.0
_DURATION_KEYS = 10_000


class ThumbnailAdmission:
    """At the edge: the per-address rate and the title length that clamps the cache key."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        duration_of: Callable[[str], float | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter = RateLimiter(rate_per_s, burst)
        self._duration_of = duration_of
        self._clock = clock
        self._durations: Lru[str, tuple[float, float | None]] = Lru(_DURATION_KEYS)
        self._lock = threading.Lock()

    def check_rate(self, client_ip: str) -> None:
        wait = self.limiter.acquire(client_ip)
        if wait > 0:
            raise RateLimited("too many thumbnail requests", int(retry_after(wait)))

    def duration(self, asset_id: str) -> float | None:
        """The asset's duration, remembered a few seconds (blocking: reads the catalogue)."""
        now = self._clock()
        with self._lock:
            cached = self._durations.peek(asset_id)
        if cached is not None and now - cached[0] < _DURATION_TTL_S:
            return cached[1]
        value = self._duration_of(asset_id)
        with self._lock:
            self._durations.put(asset_id, (now, value))
        return value


class CutSlots:
    """At the origin: a bounded number of concurrent frame cuts."""

    def __init__(self, slots: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self.wait_s = wait_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait_s):
            raise Unavailable("too many pictures are being cut right now; retry shortly", 1)
        try:
            yield
        finally:
            self._slots.release()
