"""Generated shared secrets that rotate live: every node reads them again within seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from vodstack.secrets.store import SecretStore

#: How often a node reads a live secret again: a rotation reaches every node within this.
LIVE_SECRET_TTL_S = 5.0
PREVIOUS = ".previous"


class LiveSecret:
    """A generated shared secret (origin secret, webhook secret) that every node reads again
    at most every ``ttl_s``, so ``vodstack secrets rotate NAME`` on one node reaches the
    others without a restart.

    ``values()`` is the current value, then the previous one the rotation kept
    (``NAME.previous``): receivers (an origin checking its edges) accept both while senders
    (edges, the webhook sender) pick up the new one within ``ttl_s``."""

    def __init__(
        self,
        store: SecretStore,
        name: str,
        factory: Callable[[], bytes],
        *,
        ttl_s: float = LIVE_SECRET_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.name, self.factory = store, name, factory
        self.ttl_s, self.clock = ttl_s, clock
        self._lock = threading.Lock()
        self._values: tuple[bytes, ...] = ()
        self._read_at = -float("inf")

    def values(self) -> tuple[bytes, ...]:
        with self._lock:
            if self.clock() - self._read_at >= self.ttl_s or not self._values:
                current = self.store.get_or_create(self.name, self.factory).strip()
                previous = self.store.read(self.name + PREVIOUS)
                extra = (previous.strip(),) if previous and previous.strip() != current else ()
                self._values = (current, *extra)
                self._read_at = self.clock()
            return self._values

    def current(self) -> bytes:
        return self.values()[0]


def rotate_secret(store: SecretStore, name: str, factory: Callable[[], bytes]) -> None:
    """A new value for ``name``; the old one stays readable as ``name.previous`` (accepted
    by receivers until the next rotation)."""
    old = store.read(name)
    if old is not None:
        store.write(name + PREVIOUS, old)
    store.write(name, factory())
