"""Value types of the edge cache: what a loader returns, what the cache keeps and reports.

The result vocabulary is CloudFront's ``x-edge-result-type`` (Hit, RefreshHit, Miss, Error)
plus ``StaleHit`` for a copy served under ``stale-if-error`` (RFC 5861 §4), so access logs
and metrics read like a CDN's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

Headers = tuple[tuple[str, str], ...]

# RFC 9110 §15.1: 404 and 410 are "heuristically cacheable"; 403 is not (and an edge that
# remembered the origin's 403 would turn a fixed origin-secret mistake into a lasting outage).
NEGATIVE_STATUSES = frozenset({404, 410})

# What a memory entry costs beyond its body (dict slots, dataclass, key, headers): without it
# a flood of distinct empty 404s would be free and the entry count unbounded.
ENTRY_OVERHEAD = 256

# Never stored (RFC 9111 §3.1: hop-by-hop fields; Set-Cookie: a cache shared by all viewers
# must not hand one viewer's cookie to the others). Content-Length is recomputed per response.
_UNSTORED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "set-cookie",
        "content-length",
    }
)


class ResultType(StrEnum):
    """How the edge answered, in CloudFront's words (its ``x-edge-result-type``)."""

    HIT = "Hit"  # fresh stored copy (RFC 9111 §4.2)
    REFRESH_HIT = "RefreshHit"  # expired copy confirmed by the origin, body reused (§4.3.4)
    MISS = "Miss"  # fetched from the origin (alone, or as a collapsed waiter)
    STALE_HIT = "StaleHit"  # expired copy served because the origin failed (RFC 5861 §4)
    ERROR = "Error"  # an origin error status passed through, never stored


@dataclass(frozen=True, slots=True)
class Fetched:
    """One answer of the origin, as a loader returns it.

    The body is either in memory (``body``, for manifests) or in a finished file (``file``,
    for segments). The cache takes ownership of ``file``: it renames it into its disk tier or
    deletes it, so the loader must not touch it afterwards; keep it on the disk tier's
    filesystem and the hand-over is a rename, not a copy. ``304`` carries neither.
    """

    status: int
    headers: Headers = ()
    body: bytes | None = None
    file: Path | None = None

    def __post_init__(self) -> None:
        if self.body is not None and self.file is not None:
            raise ValueError("Fetched takes a body or a file, not both")


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A response the edge can serve: bytes in memory (``body``) or a whole file (``path``).

    ``path`` exists when ``EdgeCache.get`` returns, but a later eviction or purge unlinks it:
    open it before the next ``await`` (a Hit never suspends) and send from the descriptor,
    which Linux keeps readable after an unlink. Times are on the cache's clock.
    """

    key: str
    status: int
    headers: Headers  # names in lower case
    size: int
    body: bytes | None
    path: Path | None
    etag: str | None
    stored_at: float
    expires_at: float  # fresh while clock() < expires_at
    stale_until: float  # may stand in for a failing origin while clock() < stale_until

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (lower case), or None."""
        return header(self.headers, name)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters since start and current sizes, for metrics and ``vodstack stats``."""

    memory_entries: int
    memory_bytes: int
    disk_entries: int
    disk_bytes: int
    hits: int
    refresh_hits: int
    misses: int
    stale_hits: int
    errors: int
    origin_fetches: int  # loader calls: what the origin actually saw
    collapsed: int  # requests that joined a load already in flight
    evictions: int
    purged: int
    in_flight: int

    @property
    def hit_ratio(self) -> float:
        """Share of requests answered without a body from the origin (0.0 with no requests)."""
        served = self.hits + self.refresh_hits + self.stale_hits
        total = served + self.misses + self.errors
        return served / total if total else 0.0


def header(headers: Headers, name: str) -> str | None:
    for k, v in headers:
        if k == name:
            return v
    return None


def stored_headers(headers: Headers) -> Headers:
    """The fields worth storing, names in lower case (RFC 9111 §3.1)."""
    lowered = ((k.lower(), v) for k, v in headers)
    return tuple((k, v) for k, v in lowered if k not in _UNSTORED and not k.startswith("proxy-"))


def is_storable(headers: Headers) -> bool:
    """False when the origin forbids a shared cache to keep the response:
    ``no-store`` (RFC 9111 §5.2.2.5) or ``private`` (§5.2.2.7)."""
    value = header(headers, "cache-control")
    if not value:
        return True
    directives = {d.split("=", 1)[0].strip().lower() for d in value.split(",")}
    return not directives & {"no-store", "private"}


def strong_etag(headers: Headers) -> str | None:
    """The ETag if it is strong: only a strong match proves identical bytes (RFC 9110 §8.8.3.2)."""
    value = header(headers, "etag")
    return value if value and not value.startswith("W/") else None


def freshen_headers(stored: Headers, new: Headers) -> Headers:
    """Stored fields updated by a validating response: its fields replace stored ones of the
    same name, the rest stay (RFC 9111 §3.2, §4.3.4)."""
    names = {k for k, _ in new}
    return tuple((k, v) for k, v in stored if k not in names) + new


def memory_weight(entry: CacheEntry) -> int:
    """What an entry costs the memory tier: body, key, headers and bookkeeping."""
    return (
        entry.size
        + len(entry.key)
        + sum(len(k) + len(v) for k, v in entry.headers)
        + ENTRY_OVERHEAD
    )


def disk_weight(entry: CacheEntry) -> int:
    """What an entry costs the disk tier: its file."""
    return entry.size


def revalidates(fetched: Fetched, headers: Headers, stale: CacheEntry) -> bool:
    """Whether the origin confirmed the stored 200 is still current (RFC 9111 §4.3.3)."""
    if stale.status != 200:
        return False
    if fetched.status == 304:
        return True
    etag = strong_etag(headers)
    return fetched.status == 200 and etag is not None and etag == stale.etag


def make_entry(
    key: str,
    status: int,
    headers: Headers,
    body: bytes | None,
    path: Path | None,
    now: float,
    ttl_s: float,
    sie_s: float,
    size: int | None = None,
) -> CacheEntry:
    """An entry stored at ``now``; ``size`` is needed only for a file (no ``body``)."""
    return CacheEntry(
        key=key,
        status=status,
        headers=headers,
        size=len(body) if body is not None else (size or 0),
        body=body,
        path=path,
        etag=header(headers, "etag"),
        stored_at=now,
        expires_at=now + ttl_s,
        stale_until=now + ttl_s + sie_s,
    )
