"""The edge tier: cache policy per object kind in front of a loader (origin in-process or
remote), with purges driven by catalogue events.

TTLs (RFC 9111): top-level manifests live a few seconds (they name the current revision);
media playlists, init and media segments are immutable (their URLs carry the revision), so
they stay until evicted or purged. ``stale-if-error`` (RFC 5861) keeps cached segments
playing through an origin blip; a manifest may be served stale for a shorter window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vodstack.catalogue.repository import Catalogue
from vodstack.edge.cache import EdgeCache
from vodstack.edge.entry import CacheEntry, Fetched, ResultType
from vodstack.edge.hot import HotCopies
from vodstack.jobs.bus import ASSET_EXTRAS_READY, ASSET_READY, ASSET_UPDATED
from vodstack.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

IMMUTABLE_TTL_S = 7 * 24 * 3600
_WINDOW = 50
# Extras change what manifests and the player page name (storyboard, poster, download).
PURGING_EVENTS = (ASSET_UPDATED, ASSET_READY, ASSET_EXTRAS_READY)

LoadFn = Callable[[str, str | None], Awaitable[Fetched]]


@dataclass(frozen=True, slots=True)
class TtlPolicy:
    manifest_ttl_s: float
    manifest_stale_s: float = 30.0
    immutable_stale_s: float = 24 * 3600.0


def object_kind(path: str) -> str:
    """Metric label: manifest | playlist | init | segment | other."""
    if path in ("index.m3u8", "index.mpd"):
        return "manifest"
    if path.endswith(".m3u8"):
        return "playlist"
    if path.endswith("init.mp4"):
        return "init"
    return "segment" if path.endswith(".m4s") else "other"


class Edge:
    def __init__(
        self,
        cache: EdgeCache,
        load: LoadFn,
        policy: TtlPolicy,
        metrics: Metrics,
        hot: HotCopies | None = None,
    ) -> None:
        self.cache = cache
        self._load = load
        self.policy = policy
        self.metrics = metrics
        self.hot = hot
        self._counters: dict[tuple[str, ResultType], Any] = {}

    async def get(self, asset_id: str, path: str) -> tuple[CacheEntry, ResultType]:
        key = f"{asset_id}/{path}"
        kind = object_kind(path)
        if kind == "manifest":
            ttl, stale = self.policy.manifest_ttl_s, self.policy.manifest_stale_s
        else:
            ttl, stale = IMMUTABLE_TTL_S, self.policy.immutable_stale_s

        async def loader(etag: str | None) -> Fetched:
            self.metrics.origin_requests.labels(kind).inc()
            return await self._load(key, etag)

        entry, result = await self.cache.get(key, loader, ttl_s=ttl, stale_if_error_s=stale)
        counter = self._counters.get((kind, result))
        if counter is None:  # labels() costs more than the cache lookup: resolve each once
            counter = self._counters[(kind, result)] = self.metrics.edge_requests.labels(
                kind, result.value
            )
        counter.inc()
        return entry, result

    def hot_body(self, entry: CacheEntry) -> bytes | None:
        """An in-memory copy of a disk-tier entry's file, once it is popular (see hot.py)."""
        if self.hot is None or entry.path is None:
            return None
        return self.hot.body(entry.path, entry.size)

    def purge(self, asset_id: str) -> int:
        count = self.cache.purge(f"{asset_id}/")
        self.metrics.edge_purges.inc()
        return count


class PurgeFollower:
    """Follows the catalogue's event log and purges the edge for every asset event.

    Why poll the catalogue: purges must reach every edge process, including ones started on
    other machines, and events published by CLI commands in other processes; the catalogue's
    append-only event log is the one place all of them write. Polling every second bounds a
    stale manifest to about a second after unpublish.
    """

    def __init__(self, catalogue: Catalogue, edge: Edge, interval_s: float = 1.0) -> None:
        self.catalogue = catalogue
        self.edge = edge
        self.interval_s = interval_s
        self.last_id = 0
        # On PostgreSQL a transaction holding a lower id can commit after a higher id was
        # read; re-reading a window below the last id and skipping seen ids catches it.
        self._seen: deque[int] = deque(maxlen=_WINDOW * 4)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.last_id = self.catalogue.last_event_id()
        self._task = asyncio.create_task(self._run(), name="vodstack-purge-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.poll)
            except Exception:
                log.exception("purge follower could not read the event log")

    def poll(self) -> int:
        events = self.catalogue.events_after(max(0, self.last_id - _WINDOW), PURGING_EVENTS)
        fresh = [e for e in events if e.id not in self._seen]
        for event in fresh:
            if event.asset_id:
                self.edge.purge(event.asset_id)
            self._seen.append(event.id)
            self.last_id = max(self.last_id, event.id)
        return len(fresh)
