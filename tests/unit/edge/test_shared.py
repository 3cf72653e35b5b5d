"""The disk tier shared by the worker processes of one server (edge/shared.py).

Real processes (multiprocessing, spawn), real files: the collapsing across workers rests on
``O_EXCL`` markers and hard links, which only separate processes exercise honestly.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from tests.fixtures.edge_workers import KEYS, worker

from vodstack.edge.entry import Fetched
from vodstack.edge.shared import SharedTier

TTL = 86400.0


def _run(tmp_path: Path, shared: bool) -> tuple[int, list[bytes]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    log = tmp_path / "origin.log"
    outs = [tmp_path / f"out{n}" for n in range(2)]
    procs = [
        ctx.Process(target=worker, args=(str(tmp_path / "edge"), shared, str(log), barrier, str(o)))
        for o in outs
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return len(log.read_text().splitlines()), [o.read_bytes() for o in outs]


@pytest.mark.slow
def test_two_workers_load_each_segment_from_the_origin_once(tmp_path: Path) -> None:
    requests, bodies = _run(tmp_path, shared=True)
    assert requests == len(KEYS)  # not one per worker: collapsed through the shared tier
    expected = b"|".join(k.encode() * 100 for k in KEYS)
    assert bodies == [expected, expected]


@pytest.mark.slow
def test_without_the_shared_tier_each_worker_asks_the_origin(tmp_path: Path) -> None:
    """The baseline the shared tier improves on (and proof the test above can fail)."""
    requests, _ = _run(tmp_path, shared=False)
    assert requests == 2 * len(KEYS)


def _fetched(tmp: Path, body: bytes) -> Fetched:
    file = tmp / f"dl-{time.monotonic_ns()}"
    file.write_bytes(body)
    return Fetched(200, (("Content-Type", "video/mp4"),), file=file)


def test_a_purge_removes_published_copies_and_late_loads_are_not_published(
    tmp_path: Path,
) -> None:
    staging = tmp_path / "incoming"
    staging.mkdir()
    tier = SharedTier(tmp_path / "shared", staging, wait_s=5)
    calls: list[str] = []

    async def origin(etag: str | None) -> Fetched:
        calls.append("origin")
        return _fetched(staging, b"old")

    async def purged_meanwhile(etag: str | None) -> Fetched:
        calls.append("origin")
        tier.purge("a")  # another worker purges while this load is in flight
        return _fetched(staging, b"pre-purge")

    key = "a/r1/v/0.m4s"
    asyncio.run(tier.load(key, origin, None, TTL))
    adopted = asyncio.run(tier.load(key, origin, None, TTL))  # another worker: no origin
    assert calls == ["origin"] and adopted.file is not None and adopted.file.read_bytes() == b"old"
    tier.purge("a")
    asyncio.run(tier.load(key, purged_meanwhile, None, TTL))
    asyncio.run(tier.load(key, origin, None, TTL))  # nothing shared from before the purge
    assert calls == ["origin"] * 3


def test_a_marker_left_by_a_dead_worker_does_not_block_loads(tmp_path: Path) -> None:
    staging = tmp_path / "incoming"
    staging.mkdir()
    tier = SharedTier(tmp_path / "shared", staging, wait_s=1)
    key = "a/r1/v/0.m4s"
    _, _, marker = tier._paths(key)
    marker.parent.mkdir(parents=True)
    marker.touch()
    old = time.time() - 5
    os.utime(marker, (old, old))  # older than wait_s: its worker died mid-load

    async def origin(etag: str | None) -> Fetched:
        return _fetched(staging, b"x")

    started = time.monotonic()
    fetched = asyncio.run(tier.load(key, origin, None, TTL))
    assert fetched.file is not None and time.monotonic() - started < 1
    assert not marker.exists()


def test_a_scoped_purge_drops_only_the_copies_it_covers(tmp_path: Path) -> None:
    """Issue 22 across workers: a caption edit drops that track's shared copies, and the
    immutable video segments stay shared (no origin fetch for them in the next worker)."""
    staging = tmp_path / "incoming"
    staging.mkdir()
    tier = SharedTier(tmp_path / "shared", staging, wait_s=5)
    calls: list[str] = []

    def origin_for(key: str):  # type: ignore[no-untyped-def]
        async def origin(etag: str | None) -> Fetched:
            calls.append(key)
            return _fetched(staging, key.encode())

        return origin

    video, caption = "a/r1/v/0.m4s", "a/r1/t/0.vtt"
    for key in (video, caption):
        asyncio.run(tier.load(key, origin_for(key), None, TTL))
    tier.purge("a", lambda rest: rest.startswith("r1/t/"))
    time.sleep(0.01)  # loads after the purge's time stamp publish again
    for key in (video, caption):
        asyncio.run(tier.load(key, origin_for(key), None, TTL))
    assert calls == [video, caption, caption]
