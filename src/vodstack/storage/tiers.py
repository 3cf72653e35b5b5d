"""Storage classes of masters, below the operations that move them (costs/lifecycle.py): what
class a stored master is in, and bringing a cold one back before a re-transcode reads it.

S3 only (``StorageClass``, ``RestoreObject``); the local store has no classes, so every
master there is hot. ``events`` is the catalogue's event log (``master.restored``).
"""

from __future__ import annotations

import logging
from typing import Any

from vodstack.base import EventLog
from vodstack.errors import Conflict

log = logging.getLogger(__name__)

MASTER_RESTORED = "master.restored"
_ARCHIVE = frozenset({"GLACIER", "DEEP_ARCHIVE"})


def _s3(store: Any) -> Any | None:
    return store if hasattr(store, "client") and hasattr(store, "bucket") else None


def storage_class(store: Any, key: str) -> tuple[str, str | None]:
    """(class, x-amz-restore) of an S3 object; S3 omits the class for STANDARD."""
    s3 = _s3(store)
    head = s3.client.head_object(Bucket=s3.bucket, Key=s3.full_key(key))
    return head.get("StorageClass") or "STANDARD", head.get("Restore")


def _copy(store: Any, key: str, storage_class_: str) -> None:
    s3 = _s3(store)
    full = s3.full_key(key)
    s3.client.copy(
        {"Bucket": s3.bucket, "Key": full},
        s3.bucket,
        full,
        ExtraArgs={"StorageClass": storage_class_, "MetadataDirective": "COPY", **s3.sse_args},
    )
    s3.forget(key)


def ensure_hot(store: Any, events: EventLog, asset_id: str, key: str) -> str:
    """Before a re-transcode: ``hot`` (nothing to do), ``restored`` (copied back to
    STANDARD) or ``restoring`` (an archive restore is under way: try again later)."""
    if _s3(store) is None:
        return "hot"
    cls, restore = storage_class(store, key)
    if cls == "STANDARD":
        return "hot"
    if cls in _ARCHIVE:
        if restore is None:
            s3 = _s3(store)
            s3.client.restore_object(
                Bucket=s3.bucket,
                Key=s3.full_key(key),
                RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Standard"}},
            )
            return "restoring"
        if 'ongoing-request="true"' in restore:
            return "restoring"
    _copy(store, key, "STANDARD")
    events.add_event(MASTER_RESTORED, asset_id, {"from": cls})
    log.info("master of %s restored from %s", asset_id, cls)
    return "restored"


def require_hot(store: Any, events: EventLog, asset_id: str, key: str) -> None:
    """Raise Conflict while an archived master is being restored."""
    if ensure_hot(store, events, asset_id, key) == "restoring":
        raise Conflict(
            f"the master of {asset_id} is being restored from cold storage (hours for "
            "GLACIER/DEEP_ARCHIVE); re-transcode it once the restore is done"
        )
