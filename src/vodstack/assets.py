"""Asset lifecycle operations shared by the CLI and the admin API.

Each operation changes the catalogue and announces ``asset.updated`` so every cache (the
origin's packaging cache, edge caches) forgets what it held for the asset.
"""

from __future__ import annotations

from vodstack.catalogue.models import Asset
from vodstack.catalogue.repository import Catalogue, is_valid_id
from vodstack.errors import Conflict, NotFound
from vodstack.jobs.bus import ASSET_UPDATED, EventBus
from vodstack.jobs.pipeline import Pipeline
from vodstack.storage import ObjectStore
from vodstack.storage.base import PACKAGED, validate_key


class AssetManager:
    def __init__(
        self, catalogue: Catalogue, store: ObjectStore, bus: EventBus, pipeline: Pipeline
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.bus = bus
        self.pipeline = pipeline

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
        )
        return self.get(asset_id)

    def delete(self, asset_id: str) -> None:
        """Remove packaged media, catalogue rows and cached copies; the master is retained
        (masters are kept so the catalogue can be rebuilt)."""
        self.get(asset_id)
        self.catalogue.delete_asset(asset_id)
        self.store.delete_prefix(validate_key(f"{PACKAGED}/{asset_id}"))
        self.bus.publish(ASSET_UPDATED, asset_id, action="delete")

    def retranscode(self, asset_id: str, queue: str = "ondemand") -> str:
        """Re-run the ladder from the retained master; the current revision keeps serving until
        the new one is committed. Returns the job id."""
        asset = self.get(asset_id)
        if not self.store.exists(asset.source_key):
            raise Conflict(f"the master of {asset_id} is missing; it cannot be re-transcoded")
        return self.pipeline.enqueue_transcode(asset_id, queue=queue)
