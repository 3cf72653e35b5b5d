"""The disk tier: one file per large object, LRU by bytes, purge and restart hygiene."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vodstack.edge.cache import EdgeCache
from vodstack.edge.entry import Fetched, ResultType

from .support import FakeClock, Origin, ok

pytestmark = pytest.mark.anyio

SEGMENT = {"ttl_s": 86400.0, "stale_if_error_s": 86400.0}


def files(root: Path) -> dict[Path, bytes]:
    # live files only: retired ones wait in trash/ for in-flight responses (disk.GRACE_S)
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "trash" not in p.parts}


async def test_large_objects_become_files_small_ones_stay_in_memory(
    disk_cache: EdgeCache, tmp_path: Path
) -> None:
    seg, _ = await disk_cache.get("/v1/a/s1.m4s", Origin(ok(b"S" * 3000)), **SEGMENT)
    man, _ = await disk_cache.get("/v1/a/i.m3u8", Origin(ok(b"#EXTM3U")), **SEGMENT)
    assert seg.body is None and seg.path is not None and seg.size == 3000
    assert seg.path.is_relative_to(tmp_path / "edge")
    assert "s1" not in seg.path.name and "/v1" not in str(seg.path.relative_to(tmp_path))
    assert files(tmp_path / "edge") == {seg.path: b"S" * 3000}
    assert man.body == b"#EXTM3U" and man.path is None
    stats = disk_cache.stats()
    assert (stats.disk_entries, stats.disk_bytes, stats.memory_entries) == (1, 3000, 1)


async def test_a_loader_file_is_taken_over_not_copied(
    disk_cache: EdgeCache, tmp_path: Path
) -> None:
    staged = tmp_path / "edge" / "download.part"  # same filesystem: a rename
    staged.write_bytes(b"F" * 2000)
    inode = staged.stat().st_ino
    entry, _ = await disk_cache.get("/s", Origin(Fetched(200, (), file=staged)), **SEGMENT)
    assert not staged.exists()
    assert entry.path is not None and entry.path.stat().st_ino == inode
    assert entry.path.read_bytes() == b"F" * 2000


async def test_small_or_oversized_loader_files_are_read_and_removed(
    disk_cache: EdgeCache, tmp_path: Path
) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(b"m" * 10)
    big.write_bytes(b"B" * 20_000)  # above disk_bytes: served once, never kept
    s, _ = await disk_cache.get("/small", Origin(Fetched(200, file=small)), **SEGMENT)
    b, result = await disk_cache.get("/big", Origin(Fetched(200, file=big)), **SEGMENT)
    assert (s.body, s.path) == (b"m" * 10, None)
    assert (b.body, b.path, result) == (b"B" * 20_000, None, ResultType.MISS)
    assert not small.exists() and not big.exists()
    assert disk_cache.peek("/big") is None and files(tmp_path / "edge") == {}


async def test_disk_lru_by_bytes_eviction_deletes_files(
    disk_cache: EdgeCache, tmp_path: Path
) -> None:
    paths = {}
    for name in "abcd":  # 4 × 3000 bytes into a 10,000-byte tier
        entry, _ = await disk_cache.get(f"/{name}", Origin(ok(name.encode() * 3000)), **SEGMENT)
        paths[name] = entry.path
        if name == "b":
            await disk_cache.get("/a", Origin(), **SEGMENT)  # a is now more recent than b
    assert [n for n in "abcd" if disk_cache.peek(f"/{n}")] == ["a", "c", "d"]
    assert not paths["b"].exists()
    on_disk = files(tmp_path / "edge")
    assert on_disk == {paths[n]: n.encode() * 3000 for n in "acd"}
    assert disk_cache.stats().disk_bytes == sum(map(len, on_disk.values())) <= 10_000


async def test_replacing_an_object_uses_a_new_file(
    disk_cache: EdgeCache, clock: FakeClock, tmp_path: Path
) -> None:
    origin = Origin(ok(b"1" * 2000, etag='"1"'), ok(b"2" * 2000, etag='"2"'))
    first, _ = await disk_cache.get("/s", origin, ttl_s=1, stale_if_error_s=0)
    clock.advance(2)
    second, _ = await disk_cache.get("/s", origin, ttl_s=1, stale_if_error_s=0)
    assert first.path != second.path  # a response already sending `first` keeps its bytes
    assert files(tmp_path / "edge") == {second.path: b"2" * 2000}


@pytest.mark.parametrize("as_file", [False, True], ids=["304", "same-etag-file"])
async def test_refresh_hit_keeps_the_same_file(
    disk_cache: EdgeCache, clock: FakeClock, tmp_path: Path, as_file: bool
) -> None:
    staged = tmp_path / "staged.part"
    again = Fetched(304)
    if as_file:
        staged.write_bytes(b"1" * 2000)
        again = Fetched(200, (("ETag", '"1"'),), file=staged)
    origin = Origin(ok(b"1" * 2000, etag='"1"'), again)
    first, _ = await disk_cache.get("/s", origin, ttl_s=1, stale_if_error_s=0)
    clock.advance(2)
    second, result = await disk_cache.get("/s", origin, ttl_s=1, stale_if_error_s=0)
    assert result is ResultType.REFRESH_HIT and second.path == first.path
    assert files(tmp_path / "edge") == {first.path: b"1" * 2000}
    assert not staged.exists()  # handed over, so the cache removed the unused copy


async def test_purge_deletes_the_assets_files(disk_cache: EdgeCache, tmp_path: Path) -> None:
    for key in ("/v1/a/s1.m4s", "/v1/a/s2.m4s", "/v1/b/s1.m4s"):
        await disk_cache.get(key, Origin(ok(b"x" * 2000)), **SEGMENT)
    kept = disk_cache.peek("/v1/b/s1.m4s")
    assert disk_cache.purge("/v1/a/") == 2
    assert kept is not None and set(files(tmp_path / "edge")) == {kept.path}


async def test_disk_load_in_flight_during_purge_leaves_no_file(
    disk_cache: EdgeCache, tmp_path: Path
) -> None:
    origin = Origin(ok(b"old" * 1000), ok(b"new" * 1000))
    origin.gate = asyncio.Event()
    task = asyncio.create_task(disk_cache.get("/v1/a/s.m4s", origin, **SEGMENT))
    await origin.started.wait()
    disk_cache.purge("/v1/a/")
    origin.gate.set()
    entry, _ = await task
    assert entry.path is not None and files(tmp_path / "edge") == {entry.path: b"new" * 1000}


def test_restart_wipes_a_dead_caches_files_but_not_a_live_ones(
    tmp_path: Path, clock: FakeClock
) -> None:
    root = tmp_path / "edge"
    dead = root / "edge-crashed.d"  # what a killed process leaves: nobody holds its lock
    dead.mkdir(parents=True)
    (dead / "0123-0.edge").write_bytes(b"purged while we were down")
    (root / "operator-notes.txt").write_text("not ours")
    sizes = {"memory_bytes": 1000, "disk_bytes": 10_000, "disk_threshold": 1000}
    live = EdgeCache(disk_dir=root, clock=clock, **sizes)
    assert not dead.exists()
    assert (root / "operator-notes.txt").exists()
    asyncio.run(live.get("/s", Origin(ok(b"L" * 5000)), **SEGMENT))
    entry = live.peek("/s")
    assert entry is not None and entry.path is not None
    second = EdgeCache(disk_dir=root, clock=clock, **sizes)  # another process sharing the dir
    assert entry.path.read_bytes() == b"L" * 5000
    for cache in (live, second):
        cache.close()
    assert [p.name for p in root.iterdir()] == ["operator-notes.txt"]


def test_retired_files_outlive_eviction_by_a_grace_period(tmp_path: Path, monkeypatch) -> None:
    from vodstack.edge import disk

    files_ = disk.DiskFiles(tmp_path / "edge")
    path = files_.new_path("/v1/a/s1.m4s")
    files_.write(path, b"x" * 10)
    files_.remove(path)  # evicted while a response may still be sending it
    retired = files_.root / "trash" / path.name
    assert not path.exists()
    assert retired.read_bytes() == b"x" * 10  # still readable for in-flight responses
    monkeypatch.setattr(disk, "GRACE_S", 0.0)
    files_._last_sweep = -1e9
    other = files_.new_path("/v1/a/s2.m4s")
    files_.write(other, b"y")
    files_.remove(other)  # the next removal sweeps the trash
    assert not retired.exists()
    files_.close()
