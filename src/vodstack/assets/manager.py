"""Asset lifecycle operations shared by the CLI and the admin API.

Each operation changes the catalogue and announces ``asset.updated`` so every cache (the
origin's packaging cache, edge caches) forgets what it held for the asset.
"""

from __future__ import annotations

from vodstack.assets.masters import deleted_record
from vodstack.base import ASSET_RETRANSCODE, ASSET_UPDATED, EventBus
from vodstack.catalogue import ASSET, Asset, Catalogue, PurgeScope, Scope, is_valid_id
from vodstack.edge import PLAYBACK_POLICIES
from vodstack.errors import Conflict, InvalidInput, NotFound
from vodstack.jobs import Pipeline
from vodstack.storage import MASTERS, PACKAGED, ObjectStore, validate_key
from vodstack.storage.tiers import require_hot


class AssetManager:
    def __init__(
        self,
        catalogue: Catalogue,
        store: ObjectStore,
        bus: EventBus,
        pipeline: Pipeline,
        *,
        keep_masters: bool = True,
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.bus = bus
        self.pipeline = pipeline
        self.keep_masters = keep_masters

    def get(self, asset_id: str) -> Asset:
        if not is_valid_id(asset_id):
            raise NotFound(f"no asset {asset_id!r}")
        return self.catalogue.get_asset(asset_id)

    def set_published(self, asset_id: str, published: bool) -> Asset:
        self.get(asset_id)
        self.catalogue.update_asset(asset_id, published=published)
        self.bus.publish(
            ASSET_UPDATED,
            asset_id,
            published=published,
            action="publish" if published else "unpublish",
            # publishing changes what manifests answer; unpublishing takes everything down
            purge=(PurgeScope(Scope.MANIFESTS) if published else ASSET).to_payload(),
        )
        return self.get(asset_id)

    def set_playback(self, asset_id: str, policy: str) -> Asset:
        """``signed`` (a grant is needed) or ``public`` (anyone may play; still cached and
        rate-limited). Edges learn it from the catalogue within about a second
        (``edge.policy``); cached objects are purged so nothing outlives the switch."""
        if policy not in PLAYBACK_POLICIES:
            raise InvalidInput(f"playback policy must be one of {', '.join(PLAYBACK_POLICIES)}")
        self.get(asset_id)
        self.catalogue.update_asset(asset_id, playback=policy)
        self.bus.publish(
            ASSET_UPDATED, asset_id, playback=policy, action="playback", purge=ASSET.to_payload()
        )
        return self.get(asset_id)

    def delete(self, asset_id: str) -> None:
        """Remove packaged media, catalogue rows and cached copies (``asset.updated`` purges
        every edge). The master is retained unless ``keep_masters`` is off (masters are kept
        so the asset can be rebuilt). The event log keeps the asset's history (audit)."""
        asset = self.get(asset_id)
        self.catalogue.delete_asset(asset_id)
        removed = self.store.delete_prefix(validate_key(f"{PACKAGED}/{asset_id}"))
        master_removed = False
        if not self.keep_masters:
            self.store.delete_prefix(validate_key(f"{MASTERS}/{asset_id}"))
            master_removed = True
        self.bus.publish(
            ASSET_UPDATED,
            asset_id,
            action="delete",
            title=asset.title,
            objects_removed=removed,
            master_removed=master_removed,
            restore=None if master_removed else deleted_record(asset),  # masters.py
            purge=ASSET.to_payload(),
        )

    def retranscode(self, asset_id: str, queue: str = "ondemand", ladder: str | None = None) -> str:
        """Re-run a ladder (by template name; default: the configured one) from the retained
        master; the current revision keeps serving until the new one is committed, then
        manifests switch and edges purge (``asset.ready``). Returns the job id."""
        asset = self.get(asset_id)
        if not self.store.exists(asset.source_key):
            raise Conflict(f"the master of {asset_id} is missing; it cannot be re-transcoded")
        require_hot(self.store, self.catalogue, asset_id, asset.source_key)  # cold master?
        job_id = self.pipeline.enqueue_transcode(asset_id, queue=queue, ladder=ladder)
        self.bus.publish(
            ASSET_RETRANSCODE, asset_id, job_id=job_id, queue=queue, ladder=ladder or "default"
        )
        return job_id
