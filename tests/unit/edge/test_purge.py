"""Purge scopes (pure), scoped purges of the cache, and the purge follower applying each event
once: never events from before its start, never twice, never from a foreign thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from vodstack.base.events import ASSET_READY, ASSET_UPDATED, DomainEvent
from vodstack.catalogue.purge import ASSET, PurgeScope, Scope
from vodstack.compose.services import Services
from vodstack.edge.cache import EdgeCache
from vodstack.edge.entry import Fetched
from vodstack.edge.service import Edge, PurgeFollower, TtlPolicy
from vodstack.telemetry.metrics import Metrics

from .support import FakeClock, Origin, ok

SEGMENT = {"ttl_s": 86400.0, "stale_if_error_s": 86400.0}

PATHS = {
    "manifest": "index.m3u8",
    "mpd": "index.mpd",
    "poster": "poster.jpg",
    "thumb": "thumbnail.jpg?time=1&width=320",
    "download": "download.mp4",
    "storyboard": "storyboard.vtt",
    "playlist": "r3-4s/v180.m3u8",
    "init": "r3-4s/v180/init.mp4",
    "segment": "r3-4s/v180/1.m4s",
    "prev_segment": "r2-4s/v180/1.m4s",
    "old_segment": "r1-4s/v180/1.m4s",
    "sub_playlist": "r3-4s/ten.m3u8",
    "sub_file": "r3-4s/ten.vtt",
    "sub_segment": "r3-4s/ten/2.vtt",
    "sheet": "r3-4s/sb/1.jpg",
    "cbcs_segment": "r3-4s-cbcs3/v180/1.m4s",
    "cbcs_old_gen": "r3-4s-cbcs2/v180/1.m4s",
    "cbcs_retired_gen": "r3-4s-cbcs1/v180/1.m4s",
}


def covered(scope: PurgeScope) -> set[str]:
    return {name for name, path in PATHS.items() if scope.covers(path)}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (PurgeScope(Scope.MANIFESTS), {"manifest", "mpd"}),
        (
            PurgeScope(Scope.TRACK, track="ten"),
            {"manifest", "mpd", "sub_playlist", "sub_file", "sub_segment"},
        ),
        (PurgeScope(Scope.PICTURES), {"poster"}),
        (PurgeScope(Scope.DOWNLOAD), {"download"}),
        (
            PurgeScope(Scope.REVISION, revision=3),
            {"manifest", "mpd", "poster", "thumb", "download", "storyboard", "playlist"}
            | {"sub_playlist", "old_segment"},
        ),
        (PurgeScope(Scope.NONE), set()),
        (
            PurgeScope(Scope.MANIFESTS, schemes=("cbcs",)),  # clear tags taken down
            {"manifest", "mpd", "playlist", "init", "segment", "prev_segment", "old_segment"}
            | {"sub_playlist", "sub_file", "sub_segment", "sheet"},
        ),
        (
            PurgeScope(Scope.MANIFESTS, generations=(("cbcs", 3),)),
            {"manifest", "mpd", "cbcs_retired_gen"},
        ),
    ],
)
def test_each_scope_covers_exactly_what_it_changed(scope: PurgeScope, expected: set[str]) -> None:
    assert covered(scope) == expected
    assert covered(PurgeScope.from_payload({"purge": scope.to_payload()})) == expected


def test_events_without_or_with_an_unknown_scope_purge_the_whole_asset() -> None:
    assert PurgeScope.from_payload({"action": "unpublish"}) == ASSET
    assert PurgeScope.from_payload({"purge": {"scope": "from-the-future"}}) == ASSET
    assert PurgeScope.from_payload({"purge": {"scope": "track"}}) == ASSET  # which track?
    assert PurgeScope.from_payload({"purge": {"scope": "revision", "revision": "x"}}) == ASSET
    assert covered(ASSET) == set(PATHS)
    assert PurgeScope(Scope.NONE).nothing and not PurgeScope(Scope.NONE, revision=2).nothing


@pytest.mark.anyio
async def test_scoped_purge_keeps_segments_drops_manifests_and_404s(clock: FakeClock) -> None:
    cache = EdgeCache(memory_bytes=1 << 20, clock=clock)
    origin = Origin(ok(b"bytes"))
    for path in ("index.m3u8", "r1-4s/v180/1.m4s", "r1-4s/ten.m3u8"):
        await cache.get(f"a/{path}", origin, **SEGMENT)
    await cache.get("a/r1-4s/v180/9.m4s", Origin(Fetched(404, body=b"")), **SEGMENT)
    await cache.get("b/index.m3u8", origin, **SEGMENT)
    assert cache.purge("a/", PurgeScope(Scope.MANIFESTS).covers) == 2  # manifest and the 404
    assert cache.peek("a/r1-4s/v180/1.m4s") is not None
    assert cache.peek("a/r1-4s/ten.m3u8") is not None
    assert cache.peek("a/index.m3u8") is None and cache.peek("a/r1-4s/v180/9.m4s") is None
    assert cache.peek("b/index.m3u8") is not None


@pytest.mark.anyio
async def test_a_purge_never_detaches_a_load_it_does_not_cover(clock: FakeClock) -> None:
    cache = EdgeCache(memory_bytes=1 << 20, clock=clock)
    segment, manifest = Origin(ok(b"segment")), Origin(ok(b"manifest"))
    segment.gate, manifest.gate = asyncio.Event(), asyncio.Event()
    loads = [cache.get("a/r1-4s/v180/1.m4s", segment, **SEGMENT) for _ in range(50)]
    loads.append(cache.get("a/index.m3u8", manifest, **SEGMENT))
    waiting = asyncio.gather(*loads)
    await segment.started.wait()
    await manifest.started.wait()
    cache.purge("a/", PurgeScope(Scope.TRACK, track="ten").covers)
    segment.gate.set()
    manifest.gate.set()
    await waiting
    assert segment.calls == 1  # the segment's load went on: one origin fetch for 50 waiters
    assert manifest.calls == 2  # the manifest's was detached and loaded again


def edge_with(loader: Origin) -> Edge:
    async def load(key: str, etag: str | None) -> Fetched:
        return await loader(etag)

    cache = EdgeCache(memory_bytes=1 << 20)
    return Edge(cache, load, TtlPolicy(manifest_ttl_s=2.0), Metrics())


@pytest.mark.anyio
async def test_a_restarted_edge_replays_no_purge_from_before_its_start(services: Services) -> None:
    """The follower re-reads a window below the log's last id (late PostgreSQL commits); at
    start everything in it happened before the edge cached anything."""
    catalogue = services.catalogue
    catalogue.add_event(ASSET_READY, "a", {"revision": 1})
    catalogue.add_event(ASSET_UPDATED, "a", {"action": "captions"})  # no scope: whole asset
    origin = Origin(ok(b"segment"))
    origin.gate = asyncio.Event()
    edge = edge_with(origin)
    follower = PurgeFollower(catalogue, edge, interval_s=3600)
    follower.start()
    try:
        viewers = asyncio.gather(*(edge.get("a", "r1-4s/v180/1.m4s") for _ in range(50)))
        await origin.started.wait()
        assert await follower.poll() == 0  # nothing new: nothing purged, nothing detached
        origin.gate.set()
        await viewers
        assert origin.calls == 1
        # an event after the start is applied, once
        catalogue.add_event(ASSET_UPDATED, "a", {"action": "unpublish"})
        assert await follower.poll() == 1
        assert edge.cache.peek("a/r1-4s/v180/1.m4s") is None
        assert await follower.poll() == 0
    finally:
        await follower.stop()


@pytest.mark.anyio
async def test_an_event_of_this_process_is_applied_once_on_the_loop(services: Services) -> None:
    """The bus calls its handler in the publishing thread (an API worker thread): the purge
    is handed to the event loop, and the log's copy of the event is then skipped."""
    origin = Origin(ok(b"manifest"))
    edge = edge_with(origin)
    follower = PurgeFollower(services.catalogue, edge, interval_s=3600)
    follower.start()
    try:
        await edge.get("a", "index.m3u8")
        scope = PurgeScope(Scope.MANIFESTS).to_payload()
        event_id = services.catalogue.add_event(ASSET_UPDATED, "a", {"purge": scope})
        event = DomainEvent(ASSET_UPDATED, "a", {"purge": scope}, event_id)
        threads: list[str] = []
        purge = edge.cache.purge

        def on_which_thread(*args: object) -> int:
            threads.append(threading.current_thread().name)
            return purge(*args)  # type: ignore[arg-type]

        edge.cache.purge = on_which_thread  # type: ignore[method-assign]
        await asyncio.to_thread(follower.apply_threadsafe, event)
        assert threads == [threading.current_thread().name]  # the loop's thread
        assert edge.cache.peek("a/index.m3u8") is None
        assert await follower.poll() == 0  # already applied
        assert threads == [threading.current_thread().name]
    finally:
        await follower.stop()
