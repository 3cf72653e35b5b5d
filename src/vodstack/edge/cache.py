"""The edge cache: origin responses kept by resource path, bounded in bytes, LRU per tier.

Policy, in RFC 9111 terms:

* **Key**: the resource path only, never a cookie or viewer (viewers are checked by the gate
  before the cache; a per-viewer key would make the hit ratio the number of viewers' inverse).
  Callers pass normalised keys without signature query parameters.
* **Freshness** is set per call by object kind (manifests seconds, segments immutable): the
  origin is ours, so the edge's configured lifetime applies (§4.2.1). ``no-store`` and
  ``private`` responses are never stored (§5.2.2.5, §5.2.2.7).
* **Statuses**: 200 is stored; 404/410 are stored for ``negative_ttl_s`` (heuristically
  cacheable, RFC 9110 §15.1); 403 and 5xx are passed through and never stored.
* **Validation**: an expired entry is revalidated with its ETag; a 304, or a 200 with the same
  strong ETag, freshens the stored response and keeps its body (§4.3.4): ``RefreshHit``.
* **stale-if-error** (RFC 5861 §4, RFC 9111 §4.2.4): when the origin fails (raises, times out,
  answers 5xx) an expired 200 within its window is served: ``StaleHit``. An origin blip then
  does not stop playback of what is cached.
* **Tiers**: objects of ``disk_threshold`` bytes or more go to the disk tier as one file each
  (see ``disk.py`` for why), smaller ones to memory; each tier is an LRU bounded by bytes.
* **Purge** drops keys by prefix — all of them, or those a predicate covers plus every stored
  404 under the prefix (see ``purge.py``) — and detaches the in-flight loads of covered keys,
  whose waiters then load again: nobody gets, and nothing stores, bytes that may predate the
  purge. Loads of keys the purge does not cover go on undisturbed (one origin fetch each).

All of it runs on one event loop; nothing here is thread-safe, and nothing needs to be.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from vodstack.base.lru import Lru
from vodstack.edge.collapse import Collapser, Flight
from vodstack.edge.disk import DiskFiles
from vodstack.edge.entry import (
    NEGATIVE_STATUSES,
    CacheEntry,
    CacheStats,
    Fetched,
    Headers,
    ResultType,
    disk_weight,
    freshen_headers,
    header,
    is_storable,
    make_entry,
    memory_weight,
    revalidates,
    stored_headers,
)
from vodstack.edge.errors import OriginTimeout, OriginUnavailable

log = logging.getLogger(__name__)

# Called with the stored ETag to revalidate (send it as If-None-Match), or None.
Loader = Callable[[str | None], Awaitable[Fetched]]
Outcome = tuple[CacheEntry, ResultType]

_ATTEMPTS = 3  # loads per request when purges or evictions keep pulling the result away


class _Superseded(Exception):
    """The load's result was purged or evicted before it could be served: load again."""


class EdgeCache:
    """Memory tier plus optional disk tier in front of a loader, with request collapsing."""

    def __init__(
        self,
        *,
        memory_bytes: int,
        disk_dir: Path | None = None,
        disk_bytes: int = 0,
        disk_threshold: int = 256 * 1024,
        negative_ttl_s: float = 1.0,
        origin_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``disk_dir`` gets a fresh subdirectory of this cache's own (blocking I/O: build the
        cache at start-up). ``origin_timeout_s`` bounds a load and every wait for one."""
        if disk_threshold < 1:
            raise ValueError("disk_threshold must be at least 1 byte")
        self._clock = clock
        self._negative_ttl_s = negative_ttl_s
        self._origin_timeout_s = origin_timeout_s
        self._disk_threshold = disk_threshold
        self._files = DiskFiles(disk_dir) if disk_dir is not None else None
        self._memory: Lru[str, CacheEntry] = Lru(memory_bytes, memory_weight)
        self._disk: Lru[str, CacheEntry] = Lru(disk_bytes if self._files else 0, disk_weight)
        self._collapser: Collapser[Outcome] = Collapser()
        self._hits = self._refresh_hits = self._misses = self._stale_hits = self._errors = 0
        self._origin_fetches = self._evictions = self._purged = 0

    async def get(
        self, key: str, loader: Loader, *, ttl_s: float, stale_if_error_s: float
    ) -> Outcome:
        """The response for ``key`` and how it was obtained.

        Raises ``OriginUnavailable`` (or ``OriginTimeout``) when the origin fails and no stale
        copy is allowed to stand in; an origin error *status* comes back as an entry with
        result ``Error``. A Hit completes without suspending.
        """
        entry = self._memory.get(key)
        if entry is None:
            entry = self._disk.get(key)
        if entry is not None and self._clock() < entry.expires_at:
            self._hits += 1
            return entry, ResultType.HIT
        return await self._fetch(key, loader, ttl_s, stale_if_error_s)

    def peek(self, key: str) -> CacheEntry | None:
        """The stored entry, fresh or not, without counting or touching recency."""
        entry = self._memory.peek(key)
        return entry if entry is not None else self._disk.peek(key)

    def purge(self, prefix: str, covers: Callable[[str], bool] | None = None) -> int:
        """Drop keys starting with ``prefix`` (pass an asset's ``{id}/`` with its slash):
        every one, or those whose rest ``covers(rest)`` plus every stored 404 (an event may
        turn a "not found" into an answer). Returns how many entries went. In-flight loads
        of the dropped keys are detached; loads of the others go on."""
        start = len(prefix)

        def dropped(key: str, entry: CacheEntry) -> bool:
            return key.startswith(prefix) and (
                covers is None or entry.status != 200 or covers(key[start:])
            )

        gone = self._memory.pop_where(dropped) + self._disk.pop_where(dropped)
        if covers is None:
            self._collapser.detach(prefix)
        else:
            self._collapser.detach(prefix, lambda key: covers(key[start:]))
        for entry in gone:
            self._unlink(entry)
        self._purged += len(gone)
        return len(gone)

    def stats(self) -> CacheStats:
        return CacheStats(
            memory_entries=len(self._memory),
            memory_bytes=self._memory.used,
            disk_entries=len(self._disk),
            disk_bytes=self._disk.used,
            hits=self._hits,
            refresh_hits=self._refresh_hits,
            misses=self._misses,
            stale_hits=self._stale_hits,
            errors=self._errors,
            origin_fetches=self._origin_fetches,
            collapsed=self._collapser.joined,
            evictions=self._evictions,
            purged=self._purged,
            in_flight=len(self._collapser),
        )

    def close(self) -> None:
        """Delete the disk tier's files (a restart would otherwise wipe them)."""
        if self._files is not None:
            self._files.close()

    async def _fetch(self, key: str, loader: Loader, ttl_s: float, sie_s: float) -> Outcome:
        for attempt in range(_ATTEMPTS):
            stale = self.peek(key)
            if attempt and stale is not None and self._clock() < stale.expires_at:
                self._hits += 1  # another load filled it while ours was superseded
                return stale, ResultType.HIT
            work = partial(self._fill, loader=loader, stale=stale, ttl_s=ttl_s, sie_s=sie_s)
            try:
                entry, result = await self._collapser.run(
                    key, work, timeout_s=self._origin_timeout_s
                )
            except _Superseded:
                continue
            except OriginUnavailable:
                if (stale := self._stale_copy(key)) is not None:
                    self._stale_hits += 1
                    return stale, ResultType.STALE_HIT
                self._errors += 1
                raise
            if entry.path is not None and self._disk.peek(key) is not entry:
                continue  # evicted or purged between the load and this waiter: file gone
            if result is ResultType.ERROR:
                if entry.status >= 500 and (stale := self._stale_copy(key)) is not None:
                    self._stale_hits += 1
                    return stale, ResultType.STALE_HIT
                self._errors += 1
            elif result is ResultType.REFRESH_HIT:
                self._refresh_hits += 1
            else:
                self._misses += 1
            return entry, result
        self._errors += 1
        raise OriginUnavailable(
            f"{key!r} was purged or evicted {_ATTEMPTS} times while loading; "
            "if no purge storm is going on, the disk tier is too small for the traffic",
            key,
        )

    def _stale_copy(self, key: str) -> CacheEntry | None:
        entry = self.peek(key)
        if entry is not None and entry.status == 200 and self._clock() < entry.stale_until:
            return entry
        return None

    async def _fill(
        self,
        flight: Flight[Outcome],
        *,
        loader: Loader,
        stale: CacheEntry | None,
        ttl_s: float,
        sie_s: float,
    ) -> Outcome:
        """The shared load: one loader call, then store and say what happened."""
        key = flight.key
        validator = stale.etag if stale is not None and stale.status == 200 else None
        self._origin_fetches += 1
        try:
            async with asyncio.timeout(self._origin_timeout_s):
                fetched = await loader(validator)
        except TimeoutError as exc:
            raise OriginTimeout(
                f"origin did not answer {key!r} within {self._origin_timeout_s:g} s", key
            ) from exc
        except Exception as exc:  # whatever the loader raises, the origin failed us
            raise OriginUnavailable(f"origin fetch of {key!r} failed: {exc!r}", key) from exc
        try:
            return await self._settle(flight, fetched, stale, ttl_s, sie_s)
        finally:
            if fetched.file is not None:
                fetched.file.unlink(missing_ok=True)  # ours: already moved, or unused

    async def _settle(
        self,
        flight: Flight[Outcome],
        fetched: Fetched,
        stale: CacheEntry | None,
        ttl_s: float,
        sie_s: float,
    ) -> Outcome:
        key, status = flight.key, fetched.status
        headers = stored_headers(fetched.headers)
        now = self._clock()
        if stale is not None and revalidates(fetched, headers, stale):
            if flight.detached or (stale.path is not None and self._disk.peek(key) is not stale):
                raise _Superseded  # purged, or its file evicted while we asked
            fresh = replace(
                stale,
                headers=(merged := freshen_headers(stale.headers, headers)),
                etag=header(merged, "etag"),
                stored_at=now,
                expires_at=now + ttl_s,
                stale_until=now + ttl_s + sie_s,
            )
            self._insert(fresh)
            return fresh, ResultType.REFRESH_HIT
        if status == 304:
            raise OriginUnavailable(f"origin answered 304 for {key!r}, nothing to revalidate", key)
        if status != 200 and status not in NEGATIVE_STATUSES:
            body = await self._body_of(fetched)
            entry = make_entry(key, status, headers, body, None, now, 0.0, 0.0)
            return entry, ResultType.ERROR if status >= 400 else ResultType.MISS
        if status == 200 and not is_storable(headers):
            body = await self._body_of(fetched)
            entry, keep = make_entry(key, status, headers, body, None, now, 0.0, 0.0), False
        elif status == 200:
            entry, keep = await self._materialise(key, fetched, headers, now, ttl_s, sie_s)
        else:
            body = await self._body_of(fetched)
            entry = make_entry(key, status, headers, body, None, now, self._negative_ttl_s, 0.0)
            keep = self._memory.fits(entry)
        if flight.detached:
            self._unlink(entry)
            raise _Superseded
        self._drop(key)  # the newest response is the one to use (RFC 9111 §4)
        if keep:
            self._insert(entry)
        return entry, ResultType.MISS

    async def _materialise(
        self, key: str, fetched: Fetched, headers: Headers, now: float, ttl_s: float, sie_s: float
    ) -> tuple[CacheEntry, bool]:
        """The entry for a storable 200 (a file in the disk tier, or bytes) and whether it is
        to be indexed. Objects too big for their tier are served once and not kept."""
        size = len(fetched.body) if fetched.body is not None else 0
        if fetched.file is not None:
            size = fetched.file.stat().st_size
        if self._files is not None and size >= self._disk_threshold:
            if size <= self._disk.capacity:
                path = self._files.new_path(key)
                try:
                    if fetched.file is not None:
                        await asyncio.to_thread(self._files.adopt, fetched.file, path)
                    else:
                        await asyncio.to_thread(self._files.write, path, fetched.body or b"")
                except OSError:
                    log.warning("edge disk tier could not store %r", key, exc_info=True)
                else:
                    return make_entry(key, 200, headers, None, path, now, ttl_s, sie_s, size), True
            body = await self._body_of(fetched)
            return make_entry(key, 200, headers, body, None, now, ttl_s, sie_s), False
        body = await self._body_of(fetched)
        entry = make_entry(key, 200, headers, body, None, now, ttl_s, sie_s)
        return entry, self._memory.fits(entry)

    @staticmethod
    async def _body_of(fetched: Fetched) -> bytes:
        if fetched.file is not None:
            return await asyncio.to_thread(DiskFiles.read_and_remove, fetched.file)
        return fetched.body if fetched.body is not None else b""

    def _insert(self, entry: CacheEntry) -> None:
        """Index ``entry`` in its tier, replacing the key, evicting least recently used."""
        for tier in (self._memory, self._disk):
            old = tier.pop(entry.key)
            if old is not None and old.path != entry.path:
                self._unlink(old)
        tier = self._disk if entry.path is not None else self._memory
        for _, evicted in tier.put(entry.key, entry):
            self._evictions += 1
            self._unlink(evicted)

    def _drop(self, key: str) -> None:
        for tier in (self._memory, self._disk):
            old = tier.pop(key)
            if old is not None:
                self._unlink(old)

    def _unlink(self, entry: CacheEntry) -> None:
        if entry.path is not None:
            self._files.remove(entry.path)
