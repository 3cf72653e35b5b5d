"""The event bus: one small seam between stages (``source.created`` → transcode → ``asset.ready``).

The in-process bus records every event in the catalogue's event log (the audit trail) and
calls local subscribers. Other processes learn of events from that log, not from a broker:
edges follow it to purge (``edge.service.PurgeFollower``), webhooks are delivered from it, and
jobs themselves travel through the catalogue (and Celery on Redis when a broker is set). One
ordered, durable log that every process can read is the bus; no second copy in Redis.

The bus sits in ``vodstack.base`` so every stage can publish without importing a stage above
it: the log it writes to is any :class:`EventLog` (the catalogue's ``Catalogue`` in practice).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

SOURCE_CREATED = "source.created"
TRANSCODE_COMPLETED = "transcode.completed"
TRANSCODE_FAILED = "transcode.failed"
ASSET_READY = "asset.ready"
ASSET_FAILED = "asset.failed"
ASSET_UPDATED = "asset.updated"  # payload "purge": what caches must forget (catalogue.purge)
# The extras of a ready revision (poster, storyboard, download, VMAF) were made, each with its
# state (ready, skipped, failed + reason); ``extras_failed``: their job itself gave up.
ASSET_EXTRAS_READY = "asset.extras_ready"
ASSET_EXTRAS_FAILED = "asset.extras_failed"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: str
    asset_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


Handler = Callable[[DomainEvent], None]


class EventLog(Protocol):
    """Where published events are recorded in order (the catalogue's event table)."""

    def add_event(self, type_: str, asset_id: str | None, payload: dict[str, Any]) -> int: ...


class EventBus(Protocol):
    def publish(self, type_: str, asset_id: str | None, **payload: Any) -> DomainEvent: ...

    def subscribe(self, type_: str, handler: Handler) -> None: ...


class LocalEventBus:
    """Synchronous in-process delivery; a failing subscriber is logged, never propagated."""

    def __init__(self, catalogue: EventLog) -> None:
        self.catalogue = catalogue
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, type_: str, handler: Handler) -> None:
        with self._lock:
            self._handlers[type_].append(handler)

    def publish(self, type_: str, asset_id: str | None, **payload: Any) -> DomainEvent:
        event_id = self.catalogue.add_event(type_, asset_id, payload)
        event = DomainEvent(type_, asset_id, payload, event_id)
        log.info("event %s asset=%s", type_, asset_id)
        with self._lock:
            handlers = list(self._handlers.get(type_, ())) + list(self._handlers.get("*", ()))
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler failed for %s", type_)
        return event


# Lifecycle events of issue #18 (each also a webhook type: jobs/webhooks.py, docs/webhooks.md):
# asset.created            an asset row exists (upload finished, URL accepted, restore)
# upload.failed            a URL ingest gave up (the asset is failed with the reason)
# transcode.started        a transcode attempt began
# transcode.progress       a transcode crossed a step of ``webhook_progress_step``
# job.dead_lettered        a job used its attempts (or met a permanent error): state dead
# asset.restored           a deleted asset is being rebuilt from its retained master
# master.purged            a retained master was deleted for good (who, when: audited)
# direct_upload.created    a one-time upload URL was issued (never the URL itself)
# direct_upload.cancelled  … withdrawn before its asset was made
ASSET_CREATED = "asset.created"
UPLOAD_FAILED = "upload.failed"
TRANSCODE_STARTED = "transcode.started"
TRANSCODE_PROGRESS = "transcode.progress"
JOB_DEAD_LETTERED = "job.dead_lettered"
ASSET_RESTORED = "asset.restored"
MASTER_PURGED = "master.purged"
DIRECT_UPLOAD_CREATED = "direct_upload.created"
DIRECT_UPLOAD_CANCELLED = "direct_upload.cancelled"
ASSET_RETRANSCODE = "asset.retranscode"  # audit: who asked for a new revision, which ladder
