"""Prometheus metrics, one registry per app instance (no global state; tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
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
            "Requests that reached the origin, by object kind",
            ["kind"],
            registry=r,
        )
        self.jobs = Gauge("vodstack_jobs", "Jobs by state", ["state"], registry=r)
        self.play_latency = Histogram(
            "vodstack_play_seconds",
            "Time to answer POST /play",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
