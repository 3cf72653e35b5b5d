"""Property: any sequence of loads, failures, purges and clock ticks keeps both tiers within
their byte bounds and the index in step with the files on disk."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from vodstack.edge.cache import EdgeCache
from vodstack.edge.entry import CacheEntry, Fetched, ResultType
from vodstack.edge.errors import OriginUnavailable

from .support import FakeClock

KEYS = [f"/v1/{asset}/{n}.m4s" for asset in "ab" for n in range(3)]
MEMORY, DISK, THRESHOLD = 4000, 6000, 1000

Op = tuple[object, ...]
ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("get"),
            st.sampled_from(KEYS),
            st.integers(0, 7000),
            st.booleans(),
            st.sampled_from([0.5, 100.0]),
        ),
        st.tuples(
            st.just("fail"), st.sampled_from(KEYS), st.sampled_from(["raise", 503, 404, 403])
        ),
        st.tuples(st.just("purge"), st.sampled_from(["/v1/a/", "/v1/b/", "/v1/", "/v2/"])),
        st.tuples(st.just("tick"), st.floats(0, 3)),
    ),
    max_size=40,
)


def content(key: str, size: int) -> bytes:
    """What the origin holds for ``key`` at ``size``: any two versions differ."""
    seed = hashlib.sha256(f"{key}:{size}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def body_of(entry: CacheEntry) -> bytes:
    if entry.path is not None:
        return entry.path.read_bytes()
    assert entry.body is not None
    return entry.body


def check_consistent(cache: EdgeCache, disk: Path, staging: Path) -> None:
    stats = cache.stats()
    assert stats.memory_bytes <= MEMORY and stats.disk_bytes <= DISK
    entries = [e for e in map(cache.peek, KEYS) if e is not None]
    on_disk = {
        p: p.stat().st_size for p in disk.rglob("*") if p.is_file() and "trash" not in p.parts
    }
    assert on_disk.keys() == {e.path for e in entries if e.path is not None}
    assert sum(on_disk.values()) == stats.disk_bytes
    assert stats.disk_entries == len(on_disk)
    assert stats.memory_entries == len(entries) - len(on_disk)
    for entry in entries:
        if entry.status == 200:
            assert body_of(entry) == content(entry.key, entry.size)
    assert list(staging.iterdir()) == []  # every file handed over was taken or removed


async def play(sequence: list[Op], root: Path) -> None:
    clock = FakeClock()
    staging = root / "staging"
    staging.mkdir()
    cache = EdgeCache(
        memory_bytes=MEMORY,
        disk_dir=root / "disk",
        disk_bytes=DISK,
        disk_threshold=THRESHOLD,
        clock=clock,
    )
    purged: set[str] = set()
    try:
        for op in sequence:
            match op:
                case ("get", str(key), int(size), bool(as_file), float(ttl)):
                    body = content(key, size)

                    async def load(validator: str | None, body: bytes = body) -> Fetched:
                        headers = (("etag", etag(body)),)
                        if validator == etag(body):
                            return Fetched(304, headers)
                        if not as_file:
                            return Fetched(200, headers, body=body)
                        staged = Path(tempfile.mkstemp(dir=staging)[1])
                        staged.write_bytes(body)
                        return Fetched(200, headers, file=staged)

                    entry, result = await cache.get(key, load, ttl_s=ttl, stale_if_error_s=2.0)
                    if result is not ResultType.HIT:
                        assert (entry.status, entry.size) == (200, size)
                        purged.discard(key)
                    if entry.status == 200:
                        assert body_of(entry) == content(key, entry.size)
                    assert key not in purged  # no Hit on a purged key before a new load
                case ("fail", str(key), failure):

                    async def fail(validator: str | None, failure: object = failure) -> Fetched:
                        if failure == "raise":
                            raise ConnectionResetError("origin blip")
                        assert isinstance(failure, int)
                        return Fetched(failure, body=b"error page")

                    try:
                        entry, result = await cache.get(key, fail, ttl_s=1.0, stale_if_error_s=2.0)
                    except OriginUnavailable:
                        assert failure == "raise"
                    else:
                        if result in (ResultType.HIT, ResultType.STALE_HIT):
                            assert key not in purged
                        elif failure == 404:
                            purged.discard(key)
                case ("purge", str(prefix)):
                    cache.purge(prefix)
                    purged |= {k for k in KEYS if k.startswith(prefix)}
                case ("tick", float(dt)):
                    clock.advance(dt)
            check_consistent(cache, root / "disk", staging)
    finally:
        cache.close()


@settings(database=None, max_examples=200, deadline=None)
@given(ops)
def test_bounds_and_disk_index_hold_under_any_sequence(sequence: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(play(sequence, Path(tmp)))
