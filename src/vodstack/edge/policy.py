"""Per-asset playback policy as the gate sees it: ``signed`` (default) or ``public``.

A public title (free or marketing content) plays without any grant, so catalogue pages,
casting receivers and partners can use its URLs as they are; it stays behind the same edge
cache (one origin fetch for everyone) and the same per-address rate limit.

The gate asks only for requests that carry no credential at all (every other request is
decided by its grant), so a signed title costs nothing here. Answers are cached per asset for
``ttl_s`` (a second by default): a switch made by the API or CLI of any process reaches every
edge within that time, the same bound the purge follower gives, without a catalogue query
per request. The cache is bounded, so made-up asset ids cannot grow it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from vodstack.base.lru import Lru
from vodstack.catalogue import Catalogue, is_valid_id
from vodstack.errors import NotFound

__all__ = ["PLAYBACK_POLICIES", "PlaybackPolicies", "PlaybackPolicy"]

PlaybackPolicy = Literal["signed", "public"]
PLAYBACK_POLICIES: tuple[PlaybackPolicy, ...] = ("signed", "public")


class PlaybackPolicies:
    def __init__(
        self,
        catalogue: Catalogue,
        ttl_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.catalogue = catalogue
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_entries = max_entries
        self._entries: Lru[str, tuple[bool, float]] = Lru(max_entries)
        self._lock = threading.Lock()

    def is_public(self, asset_id: str) -> bool:
        """Whether ``asset_id`` plays without a grant (published, ready and public)."""
        if not is_valid_id(asset_id):
            return False
        now = self.clock()
        with self._lock:
            found = self._entries.peek(asset_id)
        if found is not None and found[1] > now:
            return found[0]
        try:
            asset = self.catalogue.get_asset(asset_id)
            public = asset.playback == "public" and asset.published
        except NotFound:
            public = False
        with self._lock:
            self._entries.put(asset_id, (public, now + self.ttl_s))
        return public

    def forget(self, asset_id: str) -> None:
        """Drop the cached answer (this process just switched the policy)."""
        with self._lock:
            self._entries.pop(asset_id)
