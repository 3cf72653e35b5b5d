"""EdgeCache through its public surface: collapsing, freshness, stale-if-error, statuses."""

from __future__ import annotations

import asyncio

import pytest

from vodstack.edge.cache import EdgeCache
from vodstack.edge.entry import Fetched, ResultType
from vodstack.edge.errors import OriginTimeout, OriginUnavailable

from .support import FakeClock, Origin, ok

pytestmark = pytest.mark.anyio

MANIFEST = {"ttl_s": 0.2, "stale_if_error_s": 5.0}
SEGMENT = {"ttl_s": 86400.0, "stale_if_error_s": 86400.0}


def memory_cache(
    clock: FakeClock,
    memory_bytes: int = 1 << 20,
    negative_ttl_s: float = 1.0,
    origin_timeout_s: float = 10.0,
) -> EdgeCache:
    return EdgeCache(
        memory_bytes=memory_bytes,
        negative_ttl_s=negative_ttl_s,
        origin_timeout_s=origin_timeout_s,
        clock=clock,
    )


async def test_hundred_concurrent_misses_make_one_origin_fetch(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"segment-bytes" * 100))
    answers = await asyncio.gather(
        *(cache.get("/v1/a/s1.m4s", origin, **SEGMENT) for _ in range(100))
    )
    assert origin.calls == 1
    assert {entry.body for entry, _ in answers} == {b"segment-bytes" * 100}
    assert {result for _, result in answers} == {ResultType.MISS}
    entry, result = await cache.get("/v1/a/s1.m4s", origin, **SEGMENT)
    assert result is ResultType.HIT and origin.calls == 1
    stats = cache.stats()
    assert (stats.origin_fetches, stats.collapsed, stats.misses, stats.hits) == (1, 99, 100, 1)


async def test_origin_failure_reaches_all_hundred_waiters_quickly(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    origin = Origin(ConnectionRefusedError("origin down"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcomes = await asyncio.gather(
        *(cache.get("/v1/a/s1.m4s", origin, **SEGMENT) for _ in range(100)), return_exceptions=True
    )
    assert loop.time() - started < 1.0
    assert origin.calls == 1
    assert all(isinstance(o, OriginUnavailable) for o in outcomes)
    assert isinstance(outcomes[0].__cause__, ConnectionRefusedError)
    assert cache.stats().errors == 100


async def test_a_hit_never_suspends(clock: FakeClock) -> None:
    """So an entry's file cannot be evicted between ``get`` returning and the caller opening it."""
    cache = memory_cache(clock)
    await cache.get("/m.m3u8", Origin(ok(b"#EXTM3U")), **SEGMENT)
    coro = cache.get("/m.m3u8", Origin(), **SEGMENT)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value[1] is ResultType.HIT


async def test_manifest_expires_segment_does_not(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    manifest = Origin(ok(b"#EXTM3U v1"), ok(b"#EXTM3U v2"))
    segment = Origin(ok(b"segment"))
    await cache.get("/v1/a/index.m3u8", manifest, **MANIFEST)
    await cache.get("/v1/a/s1.m4s", segment, **SEGMENT)
    clock.advance(0.1)
    assert (await cache.get("/v1/a/index.m3u8", manifest, **MANIFEST))[1] is ResultType.HIT
    clock.advance(0.15)
    entry, result = await cache.get("/v1/a/index.m3u8", manifest, **MANIFEST)
    assert (entry.body, result, manifest.calls) == (b"#EXTM3U v2", ResultType.MISS, 2)
    clock.advance(3600)
    assert (await cache.get("/v1/a/s1.m4s", segment, **SEGMENT))[1] is ResultType.HIT
    assert segment.calls == 1


@pytest.mark.parametrize(
    "answer",
    [Fetched(304, (("ETag", '"v1"'), ("Cache-Control", "max-age=2"))), ok(b"NEW", etag='"v1"')],
    ids=["304", "same-strong-etag"],
)
async def test_expired_entry_revalidated_is_a_refresh_hit(
    clock: FakeClock, answer: Fetched
) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"#EXTM3U", etag='"v1"'), answer)
    await cache.get("/i.m3u8", origin, **MANIFEST)
    clock.advance(1)
    entry, result = await cache.get("/i.m3u8", origin, **MANIFEST)
    assert result is ResultType.REFRESH_HIT
    assert entry.body == b"#EXTM3U"  # stored body kept
    assert origin.validators == [None, '"v1"']  # the loader could send If-None-Match
    assert (await cache.get("/i.m3u8", origin, **MANIFEST))[1] is ResultType.HIT
    assert origin.calls == 2


async def test_weak_etag_match_is_not_taken_as_identical_bytes(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"old", etag='W/"v1"'), ok(b"new", etag='W/"v1"'))
    await cache.get("/i.m3u8", origin, **MANIFEST)
    clock.advance(1)
    entry, result = await cache.get("/i.m3u8", origin, **MANIFEST)
    assert (entry.body, result) == (b"new", ResultType.MISS)


@pytest.mark.parametrize(
    "failure",
    [ConnectionResetError("blip"), Fetched(503, body=b"busy")],
    ids=["raises", "503"],
)
async def test_stale_if_error_window(clock: FakeClock, failure: Fetched | Exception) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"#EXTM3U"), failure)
    await cache.get("/i.m3u8", origin, ttl_s=2, stale_if_error_s=10)
    clock.advance(5)  # expired, inside the window
    entry, result = await cache.get("/i.m3u8", origin, ttl_s=2, stale_if_error_s=10)
    assert (entry.body, result) == (b"#EXTM3U", ResultType.STALE_HIT)
    clock.advance(7.5)  # past expiry + window
    if isinstance(failure, Fetched):
        entry, result = await cache.get("/i.m3u8", origin, ttl_s=2, stale_if_error_s=10)
        assert (entry.status, entry.body, result) == (503, b"busy", ResultType.ERROR)
    else:
        with pytest.raises(OriginUnavailable):
            await cache.get("/i.m3u8", origin, ttl_s=2, stale_if_error_s=10)
    assert cache.stats().stale_hits == 1 and cache.stats().errors == 1


async def test_origin_timeout_is_an_error_or_a_stale_hit(clock: FakeClock) -> None:
    cache = memory_cache(clock, origin_timeout_s=0.05)
    origin = Origin(ok(b"#EXTM3U"))
    await cache.get("/i.m3u8", origin, ttl_s=2, stale_if_error_s=10)
    origin.gate = asyncio.Event()  # the origin hangs from now on
    clock.advance(3)
    assert (await cache.get("/i.m3u8", origin, ttl_s=2, stale_if_error_s=10))[1] == "StaleHit"
    hung = await asyncio.gather(
        *(cache.get("/other", origin, **SEGMENT) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(o, OriginTimeout) for o in hung)
    assert cache.stats().in_flight == 0  # the hung load was abandoned, not left to block the key


async def test_404_is_cached_briefly_403_and_5xx_never(clock: FakeClock) -> None:
    cache = memory_cache(clock, negative_ttl_s=1.0)
    for status, stored in [(404, True), (410, True), (403, False), (500, False), (502, False)]:
        origin = Origin(Fetched(status, body=b"nope"))
        key = f"/v1/a/{status}"
        first, r1 = await cache.get(key, origin, **SEGMENT)
        second, r2 = await cache.get(key, origin, **SEGMENT)
        assert first.status == second.status == status
        if stored:
            assert (r1, r2, origin.calls) == (ResultType.MISS, ResultType.HIT, 1)
            clock.advance(1.01)  # the negative TTL, not the segment TTL, applies
            await cache.get(key, origin, **SEGMENT)
            assert origin.calls == 2
        else:
            assert (r1, r2, origin.calls) == (ResultType.ERROR, ResultType.ERROR, 2)
            assert cache.peek(key) is None


async def test_404_replaces_a_stored_200_so_it_is_never_served_stale(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"#EXTM3U"), Fetched(404), ConnectionResetError())
    await cache.get("/i.m3u8", origin, ttl_s=1, stale_if_error_s=60)
    clock.advance(2)
    assert (await cache.get("/i.m3u8", origin, ttl_s=1, stale_if_error_s=60))[0].status == 404
    clock.advance(2)
    with pytest.raises(OriginUnavailable):
        await cache.get("/i.m3u8", origin, ttl_s=1, stale_if_error_s=60)


async def test_a_newer_unstorable_answer_retires_the_stored_copy(clock: FakeClock) -> None:
    """Serving the old copy later under stale-if-error would go back in time."""
    cache = memory_cache(clock)
    origin = Origin(ok(b"v1"), ok(b"v2", cache_control="no-store"), ConnectionResetError())
    await cache.get("/i.m3u8", origin, ttl_s=1, stale_if_error_s=60)
    clock.advance(2)
    assert (await cache.get("/i.m3u8", origin, ttl_s=1, stale_if_error_s=60))[0].body == b"v2"
    with pytest.raises(OriginUnavailable):
        await cache.get("/i.m3u8", origin, ttl_s=1, stale_if_error_s=60)


async def test_no_store_private_and_set_cookie(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    for cc in ("no-store", "private, max-age=60"):
        origin = Origin(ok(b"x", cache_control=cc))
        await cache.get(f"/{cc}", origin, **SEGMENT)
        await cache.get(f"/{cc}", origin, **SEGMENT)
        assert origin.calls == 2
    entry, _ = await cache.get("/c", Origin(ok(b"x", set_cookie="session=alice")), **SEGMENT)
    assert entry.header("set-cookie") is None  # one viewer's cookie must not reach the others
    assert entry.header("content-type") == "video/mp4"


async def test_memory_lru_by_bytes(clock: FakeClock) -> None:
    cache = memory_cache(clock, memory_bytes=3 * 1400)  # three ~1.3 KB entries fit, not four
    for name in "abc":
        await cache.get(f"/{name}", Origin(ok(name.encode() * 1000)), **SEGMENT)
    await cache.get("/a", Origin(), **SEGMENT)  # touch: b is now least recently used
    await cache.get("/d", Origin(ok(b"d" * 1000)), **SEGMENT)
    assert [k for k in "abcd" if cache.peek(f"/{k}")] == ["a", "c", "d"]
    stats = cache.stats()
    assert stats.memory_bytes <= 3 * 1400 and stats.evictions == 1
    big, result = await cache.get("/big", Origin(ok(b"z" * 10_000)), **SEGMENT)
    assert (big.body, result) == (b"z" * 10_000, ResultType.MISS)  # served, not kept
    assert cache.peek("/big") is None and cache.stats().memory_entries == 3


async def test_purge_drops_only_that_asset(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    for key in ("/v1/a/i.m3u8", "/v1/a/s1.m4s", "/v1/ab/i.m3u8", "/v1/b/i.m3u8"):
        await cache.get(key, Origin(ok(b"x")), **SEGMENT)
    assert cache.purge("/v1/a/") == 2
    assert [k for k in ("/v1/a/i.m3u8", "/v1/ab/i.m3u8", "/v1/b/i.m3u8") if cache.peek(k)] == [
        "/v1/ab/i.m3u8",
        "/v1/b/i.m3u8",
    ]
    origin = Origin(ok(b"after"))
    assert (await cache.get("/v1/a/i.m3u8", origin, **SEGMENT))[0].body == b"after"
    assert cache.stats().purged == 2


async def test_load_in_flight_during_purge_does_not_repopulate(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"before purge"), ok(b"after purge"))
    origin.gate = asyncio.Event()
    early = asyncio.create_task(cache.get("/v1/a/i.m3u8", origin, **SEGMENT))
    await origin.started.wait()
    cache.purge("/v1/a/")  # e.g. unpublish while the origin is still answering
    late = asyncio.create_task(cache.get("/v1/a/i.m3u8", origin, **SEGMENT))
    await asyncio.sleep(0.01)
    origin.gate.set()
    bodies = {(await early)[0].body, (await late)[0].body}
    assert bodies == {b"after purge"}  # nobody got, and nothing stored, pre-purge bytes
    entry = cache.peek("/v1/a/i.m3u8")
    assert entry is not None and entry.body == b"after purge"
    assert origin.calls == 2


async def test_cancelled_waiter_does_not_break_the_shared_load(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    origin = Origin(ok(b"segment"))
    origin.gate = asyncio.Event()
    waiters = [asyncio.create_task(cache.get("/s", origin, **SEGMENT)) for _ in range(5)]
    await origin.started.wait()
    waiters[0].cancel()  # the viewer who triggered the load closes the tab
    origin.gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert {e.body for e, _ in results} == {b"segment"} and origin.calls == 1
    assert waiters[0].cancelled()
    assert (await cache.get("/s", origin, **SEGMENT))[1] is ResultType.HIT


async def test_304_without_a_stored_copy_is_an_origin_error(clock: FakeClock) -> None:
    cache = memory_cache(clock)
    with pytest.raises(OriginUnavailable, match="304"):
        await cache.get("/i.m3u8", Origin(Fetched(304)), **MANIFEST)
