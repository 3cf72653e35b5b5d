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

from vodstack.catalogue import Asset, Event, Job
from vodstack.errors import InvalidInput
from vodstack.storage.tiers import MASTER_RESTORED, _copy, _s3, ensure_hot

log = logging.getLogger(__name__)

MASTER_COLD = "master.cold"


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
