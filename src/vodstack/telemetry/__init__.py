"""Telemetry: Prometheus metrics, JSON logs with request ids, player QoE beacons folded into
session totals, and completion reports."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.telemetry.catalogue_qoe import AssetFacts, CatalogueQoe, catalogue_summary
    from vodstack.telemetry.logs import request_id
    from vodstack.telemetry.metrics import (
        Exposition,
        JobMetrics,
        Metrics,
        register_cache_collector,
        share_between_workers,
        start_listener,
    )
    from vodstack.telemetry.qoe import EVENT_TYPES
    from vodstack.telemetry.report import (
        DEFAULT_THRESHOLD,
        AssetAnalytics,
        ViewerCompletion,
        completions,
        completions_csv,
    )
    from vodstack.telemetry.service import PlaybackTelemetry

__all__ = [
    "DEFAULT_THRESHOLD",
    "EVENT_TYPES",
    "AssetAnalytics",
    "AssetFacts",
    "CatalogueQoe",
    "Exposition",
    "JobMetrics",
    "Metrics",
    "PlaybackTelemetry",
    "ViewerCompletion",
    "catalogue_summary",
    "completions",
    "completions_csv",
    "register_cache_collector",
    "request_id",
    "share_between_workers",
    "start_listener",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "catalogue_qoe": ["AssetFacts", "CatalogueQoe", "catalogue_summary"],
        "logs": ["request_id"],
        "metrics": [
            "Exposition",
            "JobMetrics",
            "Metrics",
            "register_cache_collector",
            "share_between_workers",
            "start_listener",
        ],
        "qoe": ["EVENT_TYPES"],
        "report": [
            "AssetAnalytics",
            "DEFAULT_THRESHOLD",
            "ViewerCompletion",
            "completions",
            "completions_csv",
        ],
        "service": ["PlaybackTelemetry"],
    },
)
