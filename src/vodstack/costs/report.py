"""Cost reports (pure): usage rows, stored bytes, transcode CPU and rung watch time in;
egress, hit ratio, origin offload, storage, transcode and money per title and in total out.

Definitions (docs/costs.md):

* **egress**: body bytes the edges sent viewers (2xx/3xx), by result. ``Hit``, ``RefreshHit``
  and ``StaleHit`` bytes were served from the edge cache; ``Miss`` bytes came through from
  the origin; ``origin`` bytes were answered by an origin-role process directly.
* **hit ratio**: cached answers / all answers (requests); **origin offload**: bytes served
  from cache / all bytes — the cost canary (each point lost is origin egress and packaging).
* **storage**: masters plus every stored track file and asset file of the current revision,
  priced per GB-month by storage class.
* **transcode**: CPU-seconds of succeeded transcode jobs (measured when the job recorded
  them, else wall time × the worker's CPUs, an upper bound), per media minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vodstack.costs.prices import (
    Prices,
    cpu_cost,
    egress_cost,
    share_of,
    storage_cost_month,
)
from vodstack.costs.rungs import RungShare, SessionRungs, shares
from vodstack.costs.store import UsageRow
from vodstack.errors import InvalidInput

CACHED = frozenset({"Hit", "RefreshHit", "StaleHit"})


@dataclass(frozen=True, slots=True)
class TrackFacts:
    track_id: str
    kind: str  # video | audio | text
    height: int | None
    bitrate: int
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the catalogue and the store know about one title."""

    asset_id: str
    title: str
    ladder: str
    duration_s: float
    master_bytes: int
    master_class: str
    tracks: tuple[TrackFacts, ...] = ()
    other_bytes: int = 0  # posters, storyboards, downloads
    other_class: str = "STANDARD"
    cpu_s: float = 0.0
    cpu_measured: bool = False


@dataclass(slots=True)
class RungCost:
    track_id: str
    height: int | None
    bitrate: int
    stored_bytes: int
    egress_bytes: int
    bytes_share: float
    watch_s: float
    watch_share: float
    large_screen_s: float = 0.0


@dataclass(slots=True)
class Egress:
    bytes: int = 0
    requests: int = 0
    cached_bytes: int = 0
    cached_requests: int = 0
    by_result: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def hit_ratio(self) -> float | None:
        return self.cached_requests / self.requests if self.requests else None

    @property
    def origin_offload(self) -> float | None:
        return self.cached_bytes / self.bytes if self.bytes else None

    def add(self, row: UsageRow) -> None:
        self.bytes += row.bytes
        self.requests += row.requests
        if row.result in CACHED:
            self.cached_bytes += row.bytes
            self.cached_requests += row.requests
        self.by_result[row.result] = self.by_result.get(row.result, 0) + row.bytes
        self.by_kind[row.kind] = self.by_kind.get(row.kind, 0) + row.bytes

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hit_ratio": self.hit_ratio, "origin_offload": self.origin_offload}


@dataclass(slots=True)
class AssetCost:
    asset_id: str
    title: str
    ladder: str
    duration_s: float
    egress: Egress
    stored_bytes: int
    master_bytes: int
    master_class: str
    cpu_s: float
    cpu_measured: bool
    cpu_s_per_media_minute: float | None
    rungs: list[RungCost]
    money: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["egress"] = self.egress.to_json()
        return out


@dataclass(slots=True)
class CostReport:
    currency: str
    since: str | None
    egress: Egress
    stored_bytes: int
    cpu_s: float
    money: dict[str, float]
    bytes_per_day: dict[str, int]
    rungs: list[RungShare]
    assets: list[AssetCost]

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "since": self.since,
            "egress": self.egress.to_json(),
            "stored_bytes": self.stored_bytes,
            "cpu_s": self.cpu_s,
            "money": self.money,
            "bytes_per_day": self.bytes_per_day,
            "rungs": [asdict(r) for r in self.rungs],
            "assets": [a.to_json() for a in self.assets],
        }


def _rung_costs(
    facts: AssetFacts, rows: Sequence[UsageRow], sessions: Sequence[SessionRungs]
) -> list[RungCost]:
    egress: dict[str, int] = {}
    for row in rows:
        egress[row.track] = egress.get(row.track, 0) + row.bytes
    video_bytes = sum(egress.get(t.track_id, 0) for t in facts.tracks if t.kind == "video")
    watch = {r.height: r for r in shares(sessions)}
    out = []
    for t in facts.tracks:
        if t.kind != "video":
            continue
        share = watch.get(t.height or 0)
        sent = egress.get(t.track_id, 0)
        out.append(
            RungCost(
                t.track_id,
                t.height,
                t.bitrate,
                t.stored_bytes,
                sent,
                sent / video_bytes if video_bytes else 0.0,
                share.watch_s if share else 0.0,
                share.watch_share if share else 0.0,
                share.large_screen_s if share else 0.0,
            )
        )
    return out


def build(
    facts: Iterable[AssetFacts],
    rows: Sequence[UsageRow],
    sessions: Sequence[SessionRungs],
    prices: Prices,
    since: str | None = None,
    scope: str | None = None,
) -> CostReport:
    """The report over ``facts`` (the titles to show). ``rows`` are every title's usage in
    the period (tiers price the whole bill; a title pays its bytes at the blended rate);
    ``scope`` limits the totals and the daily series to one asset."""
    facts = list(facts)
    by_asset: dict[str, list[UsageRow]] = {}
    bill = Egress()
    total = Egress()
    per_day: dict[str, int] = {}
    for row in rows:
        by_asset.setdefault(row.asset_id, []).append(row)
        bill.add(row)
        if scope is None or row.asset_id == scope:
            total.add(row)
            day = row.hour.date().isoformat()
            per_day[day] = per_day.get(day, 0) + row.bytes
    bill_cost = egress_cost(bill.bytes, prices.egress_tiers)
    sessions_of: dict[str, list[SessionRungs]] = {}
    for s in sessions:
        sessions_of.setdefault(s.asset_id, []).append(s)
    assets: list[AssetCost] = []
    stored_total = cpu_total = storage_money = cpu_money = 0.0
    for f in facts:
        egress = Egress()
        for row in by_asset.get(f.asset_id, ()):
            egress.add(row)
        tracks_bytes = sum(t.stored_bytes for t in f.tracks)
        stored = f.master_bytes + tracks_bytes + f.other_bytes
        by_class: dict[str, int] = {f.master_class: f.master_bytes}
        by_class[f.other_class] = by_class.get(f.other_class, 0) + tracks_bytes + f.other_bytes
        money = {
            "egress": share_of(egress.bytes, bill.bytes, bill_cost),
            "storage_month": storage_cost_month(by_class, prices),
            "transcode": cpu_cost(f.cpu_s, prices),
        }
        money["total"] = sum(money.values())
        minutes = f.duration_s / 60
        assets.append(
            AssetCost(
                f.asset_id,
                f.title,
                f.ladder,
                f.duration_s,
                egress,
                stored,
                f.master_bytes,
                f.master_class,
                f.cpu_s,
                f.cpu_measured,
                f.cpu_s / minutes if minutes and f.cpu_s else None,
                _rung_costs(f, by_asset.get(f.asset_id, ()), sessions_of.get(f.asset_id, ())),
                money,
            )
        )
        stored_total += stored
        cpu_total += f.cpu_s
        storage_money += money["storage_month"]
        cpu_money += money["transcode"]
    totals = {
        "egress": share_of(total.bytes, bill.bytes, bill_cost),
        "storage_month": storage_money,
        "transcode": cpu_money,
    }
    totals["total"] = sum(totals.values())
    assets.sort(key=lambda a: a.money["total"], reverse=True)
    return CostReport(
        prices.currency,
        since,
        total,
        int(stored_total),
        cpu_total,
        totals,
        dict(sorted(per_day.items())),
        shares(sessions),
        assets,
    )


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``7d``, ``24h``, ``30m`` (ago), or an ISO 8601 date/time (UTC when no zone)."""
    if not text:
        return None
    units = {"d": 86400, "h": 3600, "m": 60}
    try:
        if text[-1:] in units and text[:-1].isdigit() and len(text) <= 7:
            return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
        value = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"--since {text!r}: give a duration ago (7d, 24h, 30m) or an ISO date (2026-12-01)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
