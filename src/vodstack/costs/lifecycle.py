"""Storage lifecycle of masters: cold when not re-transcoded for N days, hot again on demand.

Masters are read once per transcode and kept forever, so after the first weeks they are the
cheapest bytes to move to a cold S3 storage class (``cold_storage_class``, default
``GLACIER_IR``: same millisecond reads, lower GB-month, a per-GB retrieval fee and a 90-day
minimum). The move is an explicit copy onto itself with ``StorageClass`` (S3 CopyObject;
multipart for big masters via boto3's managed copy), so vodstack knows which masters are cold
(``master.cold`` events) and can bring one back before a re-transcode: a copy back to
``STANDARD`` for the instant classes, a ``RestoreObject`` request first for ``GLACIER`` and
``DEEP_ARCHIVE`` (hours; the re-transcode is refused until it is back).

An S3 lifecycle rule on the ``masters/`` prefix (a transition after N days) does the move
without vodstack, but by object age, not by last re-transcode, and vodstack cannot tell the
class without a HEAD per master; both are fine — docs/costs.md.

The local store has no storage classes: its equivalent is the operator's (a cheaper disk
for ``objects/masters``, or filesystem tiering); ``candidates`` still lists the masters, and
``move`` refuses with that explanation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from vodstack.catalogue import Asset, Catalogue, Event, Job
from vodstack.errors import Conflict, InvalidInput

log = logging.getLogger(__name__)

MASTER_COLD = "master.cold"
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


def ensure_hot(store: Any, catalogue: Catalogue, asset_id: str, key: str) -> str:
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
    catalogue.add_event(MASTER_RESTORED, asset_id, {"from": cls})
    log.info("master of %s restored from %s", asset_id, cls)
    return "restored"


def require_hot(store: Any, catalogue: Catalogue, asset_id: str, key: str) -> None:
    """Raise Conflict while an archived master is being restored."""
    if ensure_hot(store, catalogue, asset_id, key) == "restoring":
        raise Conflict(
            f"the master of {asset_id} is being restored from cold storage (hours for "
            "GLACIER/DEEP_ARCHIVE); re-transcode it once the restore is done"
        )


class Lifecycle:
    def __init__(self, services: Any) -> None:
        self.store = services.store
        self.catalogue = services.catalogue
        self.db = services.db
        self.cold_class = services.settings.cold_storage_class

    def candidates(self, days: int, now: datetime | None = None) -> list[str]:
        """Assets whose master was last transcoded (or uploaded) more than ``days`` ago and
        is not already cold."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        with self.db.session() as session:
            last_job = dict(
                session.execute(
                    select(Job.asset_id, func.max(Job.created_at))
                    .where(Job.kind == "transcode")
                    .group_by(Job.asset_id)
                ).all()
            )
            assets = list(session.execute(select(Asset.id, Asset.created_at)))
            latest = dict(
                session.execute(
                    select(Event.asset_id, Event.type)
                    .where(Event.type.in_((MASTER_COLD, MASTER_RESTORED)))
                    .order_by(Event.id)
                ).all()
            )
        out = []
        for asset_id, created in assets:
            last = last_job.get(asset_id) or created
            if last.tzinfo is None:
                last = last.replace(tzinfo=UTC)
            if last < cutoff and latest.get(asset_id) != MASTER_COLD:
                out.append(asset_id)
        return sorted(out)

    def move(self, asset_ids: list[str]) -> list[str]:
        if _s3(self.store) is None:
            raise InvalidInput(
                "the local store has no storage classes: put objects/masters on cheaper disk "
                "yourself (docs/costs.md); cold masters are an S3 feature"
            )
        moved = []
        for asset_id in asset_ids:
            key = self.catalogue.get_asset(asset_id).source_key
            _copy(self.store, key, self.cold_class)
            self.catalogue.add_event(MASTER_COLD, asset_id, {"class": self.cold_class})
            moved.append(asset_id)
        return moved

    def restore(self, asset_id: str) -> str:
        key = self.catalogue.get_asset(asset_id).source_key
        return ensure_hot(self.store, self.catalogue, asset_id, key)
