"""What ``vodstack serve`` runs in one process, typed: the shared services, the deliver path,
the usage ledger, playback telemetry and the metrics exposition, and their start and stop.

web/app.py mounts routes and ASGI layers over a :class:`Server`; nothing here knows HTTP
routing. ``start``/``stop`` are the app's lifespan: the in-process job pool (or, with
``serve --workers N``, the one worker process holding the jobs lock), the purge follower, the
ledger flusher and the optional metrics listener.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from vodstack import __version__
from vodstack.compose.delivery import Delivery, Gate, Role, build_delivery
from vodstack.compose.services import Services
from vodstack.config import Settings
from vodstack.costs import LedgerFlusher, Prices, UsageLedger, hot_class
from vodstack.jobs import Leader, WorkerPool
from vodstack.telemetry import (
    Exposition,
    PlaybackTelemetry,
    logs,
    register_cache_collector,
    start_listener,
)

log = logging.getLogger(__name__)


@dataclass
class Server:
    services: Services
    delivery: Delivery
    playback: PlaybackTelemetry  # QoE beacons and the session tokens POST /play hands out
    ledger: UsageLedger | None  # bytes sent to viewers (viewer-facing roles only)
    flusher: LedgerFlusher | None
    exposition: Exposition  # what /metrics answers
    run_workers: bool  # False: no in-process job pool (tests, benchmarks)
    _listener: Any = field(default=None, init=False, repr=False)
    _pool: WorkerPool | None = field(default=None, init=False, repr=False)
    _leader: Leader | None = field(default=None, init=False, repr=False)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def role(self) -> Role:
        return self.delivery.role

    def start(self) -> None:
        """Start the background parts (the app's lifespan begins)."""
        settings = self.settings
        remote = self.delivery.remote
        if self.delivery.role in ("all", "edge"):  # the gate reads it on every request;
            self.services.keyring.start_reloading()  # origins and shields verify no grants
        if settings.metrics_port:
            self._listener = start_listener(
                self.exposition, settings.metrics_host, settings.metrics_port
            )
        if not remote:  # uploads cut off by a crash (kill -9): in the background
            threading.Thread(
                target=_clean_partial, args=(self.services,), name="vodstack-clean", daemon=True
            ).start()
        pool = self.services.pipeline.pool() if self.run_workers and not remote else None
        self._pool = pool
        if pool is not None and settings.worker_shared_dir is not None:
            # One of the server's worker processes runs the jobs (jobs/leader.py says why).
            self._leader = Leader(settings.worker_shared_dir / "jobs.lock", pool.start, pool.stop)
            self._leader.begin()
        elif pool is not None:
            pool.start()
        if self.delivery.follower is not None:
            self.delivery.follower.start()
        if self.flusher is not None:
            self.flusher.start()

    async def stop(self) -> None:
        """Stop what :meth:`start` started, in reverse (the app's lifespan ends)."""
        if self.flusher is not None:
            await self.flusher.stop()
        if self.delivery.follower is not None:
            await self.delivery.follower.stop()
        if self._leader is not None:
            self._leader.end()
        elif self._pool is not None:
            self._pool.stop()
        if self.delivery.edge is not None:
            self.delivery.edge.cache.close()
        if self._listener is not None:
            self._listener.shutdown()
            self._listener.server_close()
        self.services.keyring.close()


def build_server(
    services: Services, *, gate: Gate | None = None, run_workers: bool = True
) -> Server:
    """Everything ``serve`` needs over ``services``; ``gate`` and ``run_workers=False`` are
    for tests and benchmarks."""
    settings = services.settings
    delivery = build_delivery(services, gate)
    ledger, flusher = _usage_ledger(services, delivery.role)
    exposition = Exposition(
        # The pipeline's own registry: durations of the jobs that ended in this process.
        (services.metrics.registry, services.pipeline.metrics.registry),
        {
            "role": delivery.role,
            "instance": logs.instance_name(settings.instance_id),
            "version": __version__,
        },
        lambda: _refresh_gauges(services, delivery),
        services.metrics.own,
    )
    if delivery.edge is not None:
        register_cache_collector(services.metrics, delivery.edge.cache)
    playback = PlaybackTelemetry.build(
        services.db, services.catalogue, services.secrets, services.metrics
    )
    return Server(services, delivery, playback, ledger, flusher, exposition, run_workers)


def _usage_ledger(
    services: Services, role: Role
) -> tuple[UsageLedger | None, LedgerFlusher | None]:
    """Usage ledger (issue #21): viewer-facing roles only, so bytes an origin or shield sends
    to edges are not counted again as egress."""
    settings = services.settings
    if not settings.costs_ledger or role not in ("all", "edge"):
        return None, None
    ledger = UsageLedger()
    flusher = LedgerFlusher(
        ledger,
        services.db,
        interval_s=settings.costs_flush_s,
        retention_days=settings.costs_retention_days,
        prices=Prices.from_settings(settings),
        hot_class=hot_class(services.store),
        registry=services.metrics.registry,
    )
    services.metrics.own.append(flusher.collector)  # a multi-worker /metrics shows it per worker
    return ledger, flusher


def _refresh_gauges(services: Services, delivery: Delivery) -> None:
    """Before a scrape: the gate's batched counts, and the gauges of the catalogue's jobs (all
    processes; every state and queue is set, so one that emptied reads 0, not its last count)."""
    delivery.gate.flush_counts()
    m, pipeline = services.metrics, services.pipeline
    for state, count in pipeline.job_counts().items():
        m.jobs.labels(state).set(count)
    for queue, count in pipeline.queue_depths().items():
        m.jobs_queued.labels(queue).set(count)


def _clean_partial(services: Services) -> None:
    clean = getattr(services.store, "clean_partial", None)
    try:
        removed = clean() if clean is not None else 0
    except OSError:
        log.warning("could not look for partial objects", exc_info=True)
        return
    if removed:
        log.warning("removed %d partial object(s) left by an interrupted write", removed)
