"""``/metrics`` for catalogue-wide operations, read from the catalogue at scrape time.

Operations per state, and for each active one (few at a time: the label set stays small)
its counters, rate and ETA, so a dashboard shows a backfill's progress from any process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.exc import SQLAlchemyError

from vodstack.catalogue import Database
from vodstack.catalogue.operations import Operations, progress
from vodstack.telemetry.metrics import Metrics

log = logging.getLogger(__name__)


class OperationsCollector:
    def __init__(self, db: Database) -> None:
        self.operations = Operations(db)

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self.operations.counts()
            active = self.operations.active()
        except SQLAlchemyError:
            log.warning("operations metrics: catalogue unreachable", exc_info=True)
            return
        states = GaugeMetricFamily(
            "vodstack_operations", "Catalogue-wide operations by state", labels=["state"]
        )
        for state, n in counts.items():
            states.add_metric([state], n)
        yield states
        labels = ["operation", "kind"]
        families = {
            "total": GaugeMetricFamily(
                "vodstack_operation_assets", "Assets an active operation visits", labels=labels
            ),
            "processed": GaugeMetricFamily(
                "vodstack_operation_processed",
                "Assets an active operation has visited (done, skipped or failed)",
                labels=labels,
            ),
            "rate": GaugeMetricFamily(
                "vodstack_operation_rate",
                "Assets per second of an active operation's current run",
                labels=labels,
            ),
            "eta": GaugeMetricFamily(
                "vodstack_operation_eta_seconds",
                "Estimated seconds until an active operation ends",
                labels=labels,
            ),
        }
        for op in active:
            p = progress(op)
            values = [op.id, op.kind]
            families["total"].add_metric(values, op.total)
            families["processed"].add_metric(values, p.processed)
            if p.rate_per_s is not None:
                families["rate"].add_metric(values, p.rate_per_s)
            if p.eta_s is not None:
                families["eta"].add_metric(values, p.eta_s)
        yield from families.values()


def register_operations_collector(metrics: Metrics, db: Database) -> None:
    """In the app's registry, and among the process's own collectors (a multi-worker
    ``/metrics`` yields those once per scrape)."""
    collector = OperationsCollector(db)
    metrics.registry.register(collector)  # type: ignore[arg-type]
    metrics.own.append(collector)
