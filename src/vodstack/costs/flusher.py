"""Moves the ledger's in-memory counts to the catalogue every ``costs_flush_s`` seconds,
prunes hours past the retention, and refreshes the headline Prometheus gauges.

The flush runs in a thread (database I/O) while the loop keeps counting into a fresh dict;
rows a failed flush could not write go back into the ledger for the next attempt, so a
catalogue blip loses nothing (a crash loses at most one interval, the price of a cheap hot
path).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from vodstack.catalogue import Asset, AssetFile, Database, Rendition
from vodstack.costs import store
from vodstack.costs.ledger import UsageLedger
from vodstack.costs.prices import Prices, egress_cost, storage_cost_month
from vodstack.costs.report import CACHED

log = logging.getLogger(__name__)

_WINDOW = timedelta(days=30)


def hot_class(store: object) -> str:
    """The storage class new objects land in: ``local`` for the local store, S3's
    ``STANDARD`` otherwise (every write of the S3 store uses the default class)."""
    local = getattr(store, "local_path", None)
    return "local" if local is not None and local("probe") is not None else "STANDARD"


def stored_bytes(db: Database) -> int:
    """Masters, track files and asset files: one SUM each (a cheap query per flush). Every
    stored revision counts: old revisions are kept until deleted."""
    with db.session() as session:
        masters = session.scalar(select(func.sum(Asset.source_size))) or 0
        tracks = session.scalar(select(func.sum(Rendition.file_size))) or 0
        files = session.scalar(select(func.sum(AssetFile.size))) or 0
    return int(masters + tracks + files)


class LedgerCollector:
    """Headline figures for Prometheus: this process's delivered bytes by result (from the
    ledger's running totals, no per-request metric cost) and catalogue-wide 30-day egress,
    stored bytes and monthly estimates (refreshed at each flush)."""

    def __init__(self, ledger: UsageLedger) -> None:
        self.ledger = ledger
        self.egress_30d = 0
        self.cached_30d = 0
        self.stored = 0
        self.estimate: dict[str, float] = {}

    def collect(self):  # type: ignore[no-untyped-def]
        sent = CounterMetricFamily(
            "vodstack_costs_delivered_bytes",
            "Body bytes this edge delivered to viewers, by cache result (usage ledger)",
            labels=["result"],
        )
        for result, n in list(self.ledger.totals.items()):
            sent.add_metric([result], n)
        yield sent
        yield GaugeMetricFamily(
            "vodstack_costs_egress_month_bytes",
            "Bytes all edges delivered in the last 30 days (catalogue ledger)",
            value=self.egress_30d,
        )
        yield GaugeMetricFamily(
            "vodstack_costs_origin_offload_ratio",
            "Bytes served from edge caches / all bytes delivered, last 30 days",
            value=self.cached_30d / self.egress_30d if self.egress_30d else 0.0,
        )
        yield GaugeMetricFamily(
            "vodstack_costs_stored_bytes", "Masters and renditions stored", value=self.stored
        )
        money = GaugeMetricFamily(
            "vodstack_costs_estimate_month",
            "Monthly cost estimate from the operator's unit prices (egress = last 30 days)",
            labels=["item"],
        )
        for item, value in self.estimate.items():
            money.add_metric([item], value)
        yield money

    def refresh(self, db: Database, prices: Prices, hot_class: str) -> None:
        by_result = store.total_bytes(db, since=datetime.now(UTC) - _WINDOW)
        self.egress_30d = sum(by_result.values())
        self.cached_30d = sum(n for r, n in by_result.items() if r in CACHED)
        self.stored = stored_bytes(db)
        self.estimate = {
            "egress": egress_cost(self.egress_30d, prices.egress_tiers),
            "storage": storage_cost_month({hot_class: self.stored}, prices),
        }


class LedgerFlusher:
    def __init__(
        self,
        ledger: UsageLedger,
        db: Database,
        *,
        interval_s: float,
        retention_days: int,
        prices: Prices,
        hot_class: str,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.ledger = ledger
        self.db = db
        self.interval_s = interval_s
        self.retention_days = retention_days
        self.prices = prices
        self.hot_class = hot_class
        self.collector = LedgerCollector(ledger)
        if registry is not None:
            registry.register(self.collector)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vodstack-ledger-flush")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()  # what was counted since the last flush

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()

    async def flush(self) -> int:
        rows = self.ledger.drain()
        try:
            written = await asyncio.to_thread(self._write, rows)
        except Exception:
            self.ledger.restore(rows)
            log.exception("usage ledger could not be written; kept for the next flush")
            return 0
        return written

    def _write(self, rows: list) -> int:  # type: ignore[type-arg]
        written = store.flush(self.db, rows)
        store.prune(self.db, self.retention_days)
        self.collector.refresh(self.db, self.prices, self.hot_class)
        return written
