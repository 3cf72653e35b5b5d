"""Prometheus metrics, one registry per app instance (no global state; tests build their own)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # Collectors computed from this process's state at scrape time (not shared by workers).
    own: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self.registry
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds, start time; also
        # among this process's own collectors, which a multi-worker /metrics adds per worker
        self.own.append(ProcessCollector(registry=r))
        self.gate_denied = Counter(
            "vodstack_gate_denied",
            "Delivery requests refused by the signature gate",
            ["reason"],
            registry=r,
        )
        self.gate_allowed = Counter(
            "vodstack_gate_allowed", "Delivery requests with a valid signature", registry=r
        )
        self.play = Counter(
            "vodstack_play",
            "POST /play outcomes (ok, or the denying rule)",
            ["outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "vodstack_rate_limited", "Requests refused by a rate limit", ["scope"], registry=r
        )
        self.origin_requests = Counter(
            "vodstack_origin_requests",
            "Edge misses that reached the origin, by object kind",
            ["kind"],
            registry=r,
        )
        self.origin_fetch_seconds = Histogram(
            "vodstack_origin_fetch_seconds",
            "Time to fetch one object from the origin",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.origin_failover = Counter(
            "vodstack_origin_failover",
            "Origin attempts that failed over to the next origin",
            ["origin"],
            registry=r,
        )
        self.edge_requests = Counter(
            "vodstack_edge_requests",
            "Edge answers by object kind and result type",
            ["kind", "result"],
            registry=r,
        )
        self.edge_bytes = Counter(
            "vodstack_edge_bytes", "Body bytes sent by the edge", ["kind"], registry=r
        )
        self.edge_purges = Counter(
            "vodstack_edge_purges",
            "Asset purges applied by this edge, by scope (catalogue/purge.py)",
            ["scope"],
            registry=r,
        )
        self.responses = Counter(
            "vodstack_http_responses",
            "HTTP responses by status and reason",
            ["status", "reason"],
            registry=r,
        )
        # Catalogue-wide, set at each scrape: with several worker processes the most recent
        # scrape's value is the one to show (multiprocess_mode is ignored in one process).
        self.jobs = Gauge(
            "vodstack_jobs", "Jobs by state", ["state"], registry=r, multiprocess_mode="mostrecent"
        )
        self.jobs_queued = Gauge(
            "vodstack_jobs_queued",
            "Jobs waiting for a worker, by queue (retries waiting out their backoff included)",
            ["queue"],
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.play_latency = Histogram(
            "vodstack_play_seconds",
            "Time to answer POST /play",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
        # -- viewer QoE, from player beacons (vodstack.telemetry.qoe) -------------------------
        self.beacon_events = Counter(
            "vodstack_beacon_events", "Player beacon events accepted, by type", ["type"], registry=r
        )
        self.beacon_rejected = Counter(
            "vodstack_beacon_rejected", "Beacon batches refused, by reason", ["reason"], registry=r
        )
        self.qoe_sessions = Counter(
            "vodstack_qoe_sessions", "Playback sessions that sent beacons", registry=r
        )
        self.qoe_startup = Histogram(
            "vodstack_qoe_startup_seconds",
            "Play request to first frame, as players measured it",
            registry=r,
            buckets=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
        )
        self.qoe_stall = Histogram(
            "vodstack_qoe_rebuffer_seconds",
            "Duration of each rebuffering stall during playback",
            registry=r,
            buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
        )
        self.qoe_errors = Counter(
            "vodstack_qoe_player_errors", "Errors players reported", ["fatal"], registry=r
        )
        self.qoe_rebuffer_ratio = Histogram(
            "vodstack_qoe_rebuffer_ratio",
            "Per finished session: rebuffering time / (playing + rebuffering)",
            registry=r,
            buckets=(0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
        )
        self.qoe_bitrate = Histogram(
            "vodstack_qoe_average_bitrate_bps",
            "Per finished session: time-weighted video bitrate while playing",
            registry=r,
            buckets=(2e5, 4e5, 8e5, 1.5e6, 3e6, 6e6, 1.2e7),
        )
        self.qoe_watched = Histogram(
            "vodstack_qoe_watched_ratio",
            "Per finished session: distinct seconds watched / duration",
            registry=r,
            buckets=(0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0),
        )


JOB_OUTCOMES = ("succeeded", "failed")


@dataclass
class JobMetrics:
    """What the job pipeline records where a job ends, in a registry of its own.

    The pipeline is built before an app's :class:`Metrics` and also runs where there is no
    app (``vodstack worker``), so it keeps its own registry; an app's ``/metrics`` exposes it
    beside :class:`Metrics`.
    """

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.transcode_seconds = Histogram(
            "vodstack_transcode_job_seconds",
            "Transcode jobs by outcome (succeeded, failed): run time of the attempt that "
            "ended the job",
            ["outcome"],
            registry=self.registry,
            buckets=(1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
        )
        # Both series exist from the start: rate() over a missing series is no data, not 0.
        self._by_outcome = {o: self.transcode_seconds.labels(o) for o in JOB_OUTCOMES}
        self.stage_seconds = Histogram(
            "vodstack_job_stage_seconds",
            "Wall time of job stages (probe, per_title, first_window, ladder, join, commit; "
            "extras: fetch, pictures, download, quality, publish)",
            ["stage"],
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
        )
        self.stage_cpu = Counter(
            "vodstack_job_stage_cpu_seconds",
            "CPU seconds of the FFmpeg processes of job stages (user + system)",
            ["stage"],
            registry=self.registry,
        )

    def stage_ended(self, stage: str, seconds: float, cpu_s: float) -> None:
        """Record one job stage (transcode.timing.StageTimer calls this)."""
        self.stage_seconds.labels(stage).observe(seconds)
        self.stage_cpu.labels(stage).inc(cpu_s)

    def transcode_ended(self, outcome: str, seconds: float) -> None:
        """Record one finished transcode job; ``outcome`` is one of ``JOB_OUTCOMES``."""
        self._by_outcome[outcome].observe(seconds)


class _CacheCollector:
    """Cache gauges read at scrape time from the cache's own counters (no per-request cost)."""

    def __init__(self, cache: object) -> None:
        self.cache = cache

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        s = self.cache.stats()  # type: ignore[attr-defined]
        size = GaugeMetricFamily("vodstack_edge_cache_bytes", "Bytes held by tier", labels=["tier"])
        size.add_metric(["memory"], s.memory_bytes)
        size.add_metric(["disk"], s.disk_bytes)
        yield size
        entries = GaugeMetricFamily(
            "vodstack_edge_cache_entries", "Entries by tier", labels=["tier"]
        )
        entries.add_metric(["memory"], s.memory_entries)
        entries.add_metric(["disk"], s.disk_entries)
        yield entries
        results = CounterMetricFamily(
            "vodstack_edge_cache_results", "Cache outcomes", labels=["result"]
        )
        for name in (
            "hits",
            "refresh_hits",
            "misses",
            "stale_hits",
            "errors",
            "collapsed",
            "evictions",
            "purged",
        ):
            results.add_metric([name], getattr(s, name))
        yield results
        yield GaugeMetricFamily(
            "vodstack_edge_cache_hit_ratio", "Hits / lookups since start", value=s.hit_ratio
        )
        yield CounterMetricFamily(
            "vodstack_edge_origin_fetches", "Origin loads", value=s.origin_fetches
        )


class Exposition:
    """What ``/metrics`` exposes: several registries as one, and ``target_info`` naming the
    process: ``target_info{role="edge",instance="host:pid",version="…"} 1``.

    Why ``target_info`` and not two more labels on every series: it is the OpenMetrics and
    Prometheus convention for labels that describe the target rather than a measurement;
    a query adds them where wanted (``… * on(job, instance) group_left(role)
    target_info``), and every series keeps the labels dashboards and alerts already match.
    ``role`` and ``instance`` are the values the process's JSON logs carry, so a graph and a
    log search name a process alike. ``refresh`` runs first (gauges read at scrape time).
    """

    def __init__(
        self,
        registries: Sequence[CollectorRegistry],
        info: dict[str, str],
        refresh: Callable[[], None] | None = None,
        own: Sequence[object] = (),
    ) -> None:
        self.registries = registries
        self.info = info
        self.refresh = refresh
        self.own = own

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import InfoMetricFamily

        if self.refresh is not None:
            self.refresh()
        # "target" + "_info" suffix: exposed as the gauge target_info
        yield InfoMetricFamily("target", "Process metadata: role and instance", value=self.info)
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory:
            for registry in self.registries:
                yield from registry.collect()
            return
        # Worker processes of one `serve --workers N` share a directory: counters and
        # histograms of every worker summed (job gauges: the most recent), plus this
        # worker's own collectors (its edge cache's tiers and counters).
        from prometheus_client.multiprocess import MultiProcessCollector

        shared = CollectorRegistry()
        MultiProcessCollector(shared, path=directory)
        yield from shared.collect()
        for collector in self.own:
            yield from collector.collect()  # type: ignore[attr-defined]


def start_listener(exposition: Exposition, host: str, port: int) -> Any | None:
    """The admin listener: ``/metrics`` on its own address, away from the viewer port.

    Returns the server (``shutdown()`` it), or None when the port is taken, e.g. by another
    worker process of the same server, which then serves it."""
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, host, registry=exposition)  # type: ignore[arg-type]
    except OSError as exc:
        log.warning("metrics listener %s:%d not started: %s", host, port, exc.strerror or exc)
        return None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server


def register_cache_collector(metrics: Metrics, cache: object) -> None:
    metrics.registry.register(_CacheCollector(cache))
    metrics.own.append(_CacheCollector(cache))


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_between_workers(directory: Path) -> None:
    """Make metrics created from now on (in worker processes forked or spawned later) write
    their values to ``directory``, so any worker's ``/metrics`` shows the sum of all workers
    (prometheus_client's multiprocess mode). Called by ``serve --workers N`` before it starts
    the workers; the choice of value class is made here because the parent process imported
    prometheus_client before it knew how many workers there would be."""
    from prometheus_client import values

    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    values.ValueClass = values.get_value_class()
