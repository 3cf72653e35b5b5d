"""The usage ledger's hot half: bytes delivered, aggregated in memory (pure, no I/O).

The edge calls :meth:`UsageLedger.add` once per delivered response, where the access log
already counts bytes for metrics. One dict update per response: no locks (one event loop),
no I/O; :meth:`drain` hands the aggregate to the flusher (``store.flush``), which adds it to
the catalogue in one transaction every ``costs_flush_s`` seconds. The key is
(hour, asset, track, kind, result), so memory is bounded by the distinct keys of one flush
interval, not by traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

#: Object kinds of the ledger (finer than the metric label: keys and pictures are told apart).
KINDS = ("manifest", "playlist", "init", "segment", "key", "picture", "text", "download", "other")
#: What ``result`` means for a response no edge cache answered (the origin role).
ORIGIN = "origin"


@dataclass(frozen=True, slots=True)
class UsageKey:
    hour: int  # UTC hour number: epoch seconds // 3600
    asset_id: str
    track: str
    kind: str
    result: str


@dataclass(slots=True)
class Usage:
    requests: int = 0
    bytes: int = 0


def classify(path: str) -> tuple[str, str]:
    """(track, kind) of a delivery path under ``/v1/{id}/`` (layout.py's names).

    Cheap string tests, not the layout regex: this runs per response. Unknown shapes are
    ``other`` — the ledger counts what was sent, it does not validate (the origin did)."""
    parts = path.split("/")
    n = len(parts)
    last = parts[-1]
    if n == 1:
        if last in ("index.m3u8", "index.mpd"):
            return "-", "manifest"
        if last.endswith(".jpg"):
            return "-", "picture"
        if last == "storyboard.vtt":
            return "-", "text"
        if last == "download.mp4":
            return "-", "download"
        return "-", "other"
    if n == 2:  # {tag}/{track}.m3u8 | {tag}/{track}.vtt | {tag}/key
        if last == "key":
            return "-", "key"
        track, _, ext = last.rpartition(".")
        return track or "-", "playlist" if ext == "m3u8" else "text"
    track = parts[1]
    if track == "sb":
        return "-", "picture"
    if last == "init.mp4":
        return track, "init"
    if last.endswith(".m4s"):
        return track, "segment"
    if last.endswith(".vtt"):
        return track, "text"
    return track, "playlist" if last.endswith(".m3u8") else "other"


class UsageLedger:
    """Bytes per (hour, asset, track, kind, result) since the last drain, plus running
    totals by result for the Prometheus collector (no per-request metric cost)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending: dict[tuple[str, str, str, str], Usage] = {}
        self._parked: list[tuple[UsageKey, Usage]] = []
        self._hour = -1
        self._hour_end = 0.0
        self.totals: dict[str, int] = {}

    def add(self, asset_id: str, path: str, result: str, nbytes: int) -> None:
        """Count one response of ``nbytes`` body bytes for ``/v1/{asset_id}/{path}``."""
        now = self._clock()
        if now >= self._hour_end:
            self._roll(now)
        track, kind = classify(path)
        key = (asset_id, track, kind, result)
        usage = self._pending.get(key)
        if usage is None:
            usage = self._pending[key] = Usage()
        usage.requests += 1
        usage.bytes += nbytes
        self.totals[result] = self.totals.get(result, 0) + nbytes

    def _roll(self, now: float) -> None:
        """A new hour: park the last hour's counts under their hour number."""
        if self._pending:
            self._parked.extend((UsageKey(self._hour, *k), v) for k, v in self._pending.items())
            self._pending = {}
        self._hour = int(now // 3600)
        self._hour_end = (self._hour + 1) * 3600.0

    def drain(self) -> list[tuple[UsageKey, Usage]]:
        """Everything counted since the last drain, emptied (call on the event loop)."""
        out = self._parked
        out.extend((UsageKey(self._hour, *k), v) for k, v in self._pending.items())
        self._parked = []
        self._pending = {}
        return out

    def restore(self, rows: list[tuple[UsageKey, Usage]]) -> None:
        """Put back rows a failed flush could not write, to be added at the next flush."""
        self._parked.extend(rows)
