"""Changing an asset's title and labels, shared by the CLI and the admin API: one
transaction for the labels, then ``asset.updated`` (action ``labels``) for the audit log,
edges (nothing to purge) and webhooks."""

from __future__ import annotations

from typing import Protocol

from vodstack.base import ASSET_UPDATED, EventBus
from vodstack.catalogue import Asset, Catalogue, Database, PurgeScope, Scope
from vodstack.catalogue.labels import Labels, LabelsPatch, LabelStore
from vodstack.errors import InvalidInput


class _AssetLookup(Protocol):
    def get(self, asset_id: str) -> Asset: ...


class LabelParts(Protocol):
    """What relabelling needs of the composition root (its ``Services`` has them all)."""

    @property
    def assets(self) -> _AssetLookup: ...

    @property
    def db(self) -> Database: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def bus(self) -> EventBus: ...


def relabel(
    services: LabelParts,
    asset_id: str,
    patch: LabelsPatch,
    *,
    title: str | None = None,
    fields: list[str] | None = None,
) -> Labels:
    """Apply ``patch`` (and a new ``title``); ``fields`` names what changed, for the log.
    Everything is checked before anything is written (InvalidInput → 400 / exit 1)."""
    asset = services.assets.get(asset_id)
    if title is not None:
        title = title.strip()
        if not title or len(title) > 500 or not title.isprintable():
            raise InvalidInput("title must be 1-500 printable characters")
    labels = LabelStore(services.db).update(asset.id, patch)
    if title is not None and title != asset.title:
        services.catalogue.update_asset(asset.id, title=title)
    if fields:
        # Titles and labels are in no cached object (manifests name neither).
        services.bus.publish(
            ASSET_UPDATED,
            asset.id,
            action="labels",
            fields=sorted(fields),
            purge=PurgeScope(Scope.NONE).to_payload(),
        )
    return labels
