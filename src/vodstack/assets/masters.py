"""Masters as the source of truth: a deleted asset comes back from its retained master, and
a master is deleted for good only on purpose, with who and when in the audit log.

``assets delete`` removes the packaged media and the catalogue rows but keeps
``masters/{id}/`` (``keep_masters_on_delete``, the default), and its ``asset.updated``
event (action ``delete``) records what is needed to rebuild the asset: title, ladder,
playback choices. :meth:`Masters.restore` re-creates the asset under the same id from that
record and the master, and queues a transcode (the asset goes queued → ready as after an
upload). :meth:`Masters.purge` deletes the master of a deleted asset, irreversibly, and
writes ``master.purged`` (the actor, the keys, the bytes) to the event log.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from vodstack.base import ASSET_CREATED, ASSET_RESTORED, ASSET_UPDATED, MASTER_PURGED, EventBus
from vodstack.base.actor import Actor
from vodstack.catalogue import Asset, Catalogue, is_valid_id
from vodstack.errors import Conflict, NotFound
from vodstack.jobs import Pipeline
from vodstack.storage import MASTERS, ObjectStore, validate_key
from vodstack.storage.tiers import require_hot

log = logging.getLogger(__name__)

#: What the delete event keeps of an asset, for a restore (besides its id and master).
RESTORED_FIELDS = ("title", "ladder", "published", "playback", "allow_download", "poster_time")


def deleted_record(asset: Asset) -> dict[str, Any]:
    """The part of ``asset`` a restore brings back (stored in the delete event)."""
    return {
        "title": asset.title,
        "ladder": asset.ladder,
        "published": asset.published,
        "playback": asset.playback,
        "allow_download": asset.allow_download,
        "poster_time": asset.poster_time,
        "source_name": asset.source_name,
        "revision": asset.revision,
    }


@dataclass(frozen=True)
class Retained:
    asset_id: str
    keys: tuple[str, ...]
    size: int
    record: dict[str, Any]  # what the delete event kept ({} for an asset deleted before it)

    @property
    def source_key(self) -> str:
        sources = [k for k in self.keys if k.rsplit("/", 1)[-1].startswith("source")]
        return (sources or list(self.keys))[0]


class Masters:
    def __init__(
        self, catalogue: Catalogue, store: ObjectStore, bus: EventBus, pipeline: Pipeline
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.bus = bus
        self.pipeline = pipeline

    def retained(self, asset_id: str) -> Retained:
        """The retained master of a *deleted* asset; Conflict while the asset exists,
        NotFound when nothing was kept."""
        if not is_valid_id(asset_id):
            raise NotFound(f"no asset {asset_id!r}")
        try:
            self.catalogue.get_asset(asset_id)
        except NotFound:
            pass
        else:
            raise Conflict(
                f"asset {asset_id} exists: restore and purge-master are for deleted assets "
                f"(`vodstack assets retranscode {asset_id}` rebuilds a live one)"
            )
        keys = tuple(sorted(self.store.list(validate_key(f"{MASTERS}/{asset_id}"))))
        if not keys:
            raise NotFound(
                f"no retained master for {asset_id}: it was purged, or not kept at deletion "
                "(VODSTACK_KEEP_MASTERS_ON_DELETE=false)"
            )
        return Retained(
            asset_id,
            keys,
            sum(self.store.size(k) for k in keys),
            self._delete_record(asset_id),
        )

    def _delete_record(self, asset_id: str) -> dict[str, Any]:
        for event in self.catalogue.events(asset_id, limit=1000, types=[ASSET_UPDATED]):
            if event.payload.get("action") == "delete":
                return dict(event.payload.get("restore") or {})
        return {}

    def restore(self, asset_id: str, actor: Actor) -> tuple[Asset, str]:
        """Re-create the deleted asset from its master and queue its transcode; returns the
        asset and the job id."""
        kept = self.retained(asset_id)
        key = kept.source_key
        require_hot(self.store, self.catalogue, asset_id, key)  # a cold master comes back first
        record = kept.record
        name = str(record.get("source_name") or os.path.basename(key))
        self.catalogue.create_asset(
            asset_id,
            title=str(record.get("title") or asset_id),
            source_key=key,
            source_name=name,
            source_size=self.store.size(key),
        )
        values = {f: record[f] for f in RESTORED_FIELDS if f != "title" and f in record}
        if values:
            self.catalogue.update_asset(asset_id, **values)
        self.bus.publish(ASSET_CREATED, asset_id, title=record.get("title"), source="restore")
        job_id = self.pipeline.enqueue_transcode(asset_id)
        self.bus.publish(
            ASSET_RESTORED,
            asset_id,
            job_id=job_id,
            master=key,
            size=kept.size,
            actor=actor.to_dict(),
        )
        log.info("asset %s restored from its master by %s", asset_id, actor.label)
        return self.catalogue.get_asset(asset_id), job_id

    def purge(self, asset_id: str, actor: Actor) -> Retained:
        """Delete the retained master of a deleted asset for good (audited)."""
        kept = self.retained(asset_id)
        removed = self.store.delete_prefix(validate_key(f"{MASTERS}/{asset_id}"))
        self.bus.publish(
            MASTER_PURGED,
            asset_id,
            keys=list(kept.keys),
            size=kept.size,
            objects_removed=removed,
            title=kept.record.get("title"),
            actor=actor.to_dict(),
        )
        log.warning(
            "master of %s purged for good by %s (%d bytes)", asset_id, actor.label, kept.size
        )
        return kept
