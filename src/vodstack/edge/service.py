"""The edge tier: cache policy per object kind in front of a loader (origin in-process or
remote), with purges driven by catalogue events.

TTLs (RFC 9111): top-level manifests live a few seconds (they name the current revision);
media playlists, init and media segments are immutable (their URLs carry the revision), so
they stay until evicted or purged. ``stale-if-error`` (RFC 5861) keeps cached segments
playing through an origin blip; a manifest may be served stale for a shorter window.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vodstack.base import ASSET_EXTRAS_READY, ASSET_READY, ASSET_UPDATED, DomainEvent
from vodstack.catalogue import ASSET, Catalogue, Event, PurgeScope
from vodstack.edge.cache import EdgeCache
from vodstack.edge.entry import CacheEntry, Fetched, ResultType
from vodstack.edge.hot import HotCopies
from vodstack.edge.shared import SharedTier
from vodstack.telemetry import Metrics

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
        shared: SharedTier | None = None,
    ) -> None:
        self.cache = cache
        self.shared = shared  # the disk tier of the other workers of this server, if any
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
            if self.shared is not None and kind != "manifest":
                return await self.shared.load(key, origin, etag, ttl)
            return await origin(etag)

        async def origin(etag: str | None) -> Fetched:
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

    def purge(self, asset_id: str, scope: PurgeScope = ASSET) -> int:
        """Forget what ``scope`` says changed of the asset; returns how many entries went.
        Runs on the event loop, like every other use of the cache (see ``PurgeFollower``)."""
        if scope.nothing:
            return 0
        covers = None if scope.everything else scope.covers
        count = self.cache.purge(f"{asset_id}/", covers)
        if self.shared is not None:
            self.shared.purge(asset_id, covers)
        self.metrics.edge_purges.labels(scope.scope.value).inc()
        return count


class PurgeFollower:
    """Applies each purging event to the edge exactly once, whether it comes from the
    catalogue's event log or from this process's own bus.

    Why poll the catalogue: purges must reach every edge process, including ones started on
    other machines, and events published by CLI commands in other processes; the catalogue's
    append-only event log is the one place all of them write. Polling every second bounds a
    stale manifest to about a second after unpublish.

    Why "exactly once" matters: a purge detaches the loads in flight for what it covers, and
    their waiters fetch again. An event applied twice (by this process's bus at once, then
    by the log a second later), or events from before the edge started (the re-read window
    below), would purge titles the edge has just started caching: 50 concurrent misses of
    one segment then cost 2-4 origin fetches instead of 1.

    Threads: the cache lives on the event loop and is not thread-safe. The log is read in a
    worker thread, but events are applied on the loop; a bus handler running in another
    thread hands its event to the loop and waits until it is applied (``apply_threadsafe``),
    so an API call that unpublishes returns only once its own edge has forgotten the asset.
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
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start following from now: events already in the log (the re-read window
        included) happened before this edge cached anything, so they are marked seen."""
        self._loop = asyncio.get_running_loop()
        self.last_id = self.catalogue.last_event_id()
        for event in self.catalogue.events_after(max(0, self.last_id - _WINDOW), PURGING_EVENTS):
            self._seen.append(event.id)
        self._task = asyncio.create_task(self._run(), name="vodstack-purge-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._loop = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.poll()
            except Exception:
                log.exception("purge follower could not read the event log")

    async def poll(self) -> int:
        """Apply the log's events not applied yet; returns how many were."""
        events = await asyncio.to_thread(self.read)
        return sum(self.apply(e.id, e.asset_id, PurgeScope.from_payload(e.payload)) for e in events)

    def read(self) -> list[Event]:
        return self.catalogue.events_after(max(0, self.last_id - _WINDOW), PURGING_EVENTS)

    def apply(self, event_id: int | None, asset_id: str | None, scope: PurgeScope) -> bool:
        """Purge for one event unless it was applied before (on the loop); True if applied."""
        if event_id is not None and event_id in self._seen:
            return False
        if asset_id:
            self.edge.purge(asset_id, scope)
        if event_id is not None:  # after the purge: one that failed is tried again
            self._seen.append(event_id)
            self.last_id = max(self.last_id, event_id)
        return True

    def apply_threadsafe(self, event: DomainEvent, timeout_s: float = 5.0) -> None:
        """``apply`` from any thread: on the loop, waited for (up to ``timeout_s``)."""
        scope = PurgeScope.from_payload(event.payload)
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or loop.is_closed() or running is loop:
            self.apply(event.id, event.asset_id, scope)  # no loop to race, or already on it
            return
        done: concurrent.futures.Future[bool] = concurrent.futures.Future()

        def on_loop() -> None:
            try:
                done.set_result(self.apply(event.id, event.asset_id, scope))
            except BaseException as exc:
                done.set_exception(exc)

        try:
            loop.call_soon_threadsafe(on_loop)
        except RuntimeError:  # the loop closed meanwhile: nothing runs on it any more
            self.apply(event.id, event.asset_id, scope)
            return
        try:
            done.result(timeout_s)
        except concurrent.futures.TimeoutError:
            log.warning("edge purge for %s still queued after %g s", event.asset_id, timeout_s)
