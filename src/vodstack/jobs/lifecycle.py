"""Lifecycle events added by issue #18, beside those of ``jobs/bus.py``: each is a bus event
(an event-log row, the audit trail) and a webhook type (``jobs/webhooks.py``,
docs/webhooks.md).

    asset.created            an asset row exists (upload finished, URL accepted, restore)
    upload.failed            a URL ingest gave up (the asset is failed with the reason)
    transcode.started        a transcode attempt began
    transcode.progress       a transcode crossed a step of ``webhook_progress_step``
    job.dead_lettered        a job used its attempts (or met a permanent error): state dead
    asset.restored           a deleted asset is being rebuilt from its retained master
    master.purged            a retained master was deleted for good (who, when: audited)
    direct_upload.created    a one-time upload URL was issued (never the URL itself)
    direct_upload.cancelled  … withdrawn before its asset was made
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

ASSET_CREATED = "asset.created"
UPLOAD_FAILED = "upload.failed"
TRANSCODE_STARTED = "transcode.started"
TRANSCODE_PROGRESS = "transcode.progress"
JOB_DEAD_LETTERED = "job.dead_lettered"
ASSET_RESTORED = "asset.restored"
MASTER_PURGED = "master.purged"
DIRECT_UPLOAD_CREATED = "direct_upload.created"
DIRECT_UPLOAD_CANCELLED = "direct_upload.cancelled"

#: Job kind that downloads a master from a URL (``ingest/url_ingest.py``).
FETCH_KIND = "fetch"


class ProgressSteps:
    """Calls ``announce(fraction)`` once per ``step`` crossed (0.25 → 25, 50, 75 %): a
    job's progress arrives many times a second, its webhooks a few times a job. 100 % is
    not announced: ``asset.ready`` says it."""

    def __init__(self, step: float, announce: Callable[[float], None]) -> None:
        self.step = step
        self.announce = announce
        self._next = step
        self._lock = threading.Lock()

    def __call__(self, value: float) -> None:
        crossed = None
        with self._lock:
            while value >= self._next and self._next < 1 - 1e-9:
                crossed = self._next
                self._next += self.step
        if crossed is not None:
            try:
                self.announce(round(crossed, 4))
            except Exception:  # a lost progress event must never fail the job reporting it
                log.warning("could not announce progress %.2f", crossed, exc_info=True)
