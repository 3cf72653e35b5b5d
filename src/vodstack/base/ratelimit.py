"""Token-bucket rate limiting keyed by subject or address (the WAF rate rule of the edge).

In-process and bounded: at most ``max_keys`` buckets are kept (least recently used dropped),
so a flood of distinct keys costs memory proportional to the bound, not to the flood.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from vodstack.base.lru import Lru


class RateLimiter:
    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: Lru[str, tuple[float, float]] = Lru(max_keys)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, key: str) -> float:
        """0.0 when allowed, else the seconds to wait before retrying (for Retry-After)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key) or (self.burst, now)
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                tokens, wait = tokens - 1, 0.0
            else:
                wait = (1 - tokens) / self.rate
            if self.max_keys > 0:
                self._buckets.put(key, (tokens, now))
        return wait


def retry_after(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
