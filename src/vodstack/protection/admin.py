"""Operator actions on an asset's protection, shared by the CLI and the admin API.

``PUT /api/assets/{id}/protection`` ≡ ``vodstack assets protect ID SCHEMES`` and
``POST /api/assets/{id}/rekey`` ≡ ``vodstack assets rekey ID``: the same catalogue change and
the same ``asset.updated`` event, which purges the edges (in this process at once, in every
other process through the event log) — no re-transcode either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vodstack.base import ASSET_UPDATED, EventBus
from vodstack.catalogue import Asset, Catalogue, PurgeScope, Scope
from vodstack.protection.service import SCHEMES, Protection, parse_schemes, protection_setting


class Assets(Protocol):
    """What these actions need of the asset operations (vodstack.assets.AssetManager)."""

    catalogue: Catalogue
    bus: EventBus

    def get(self, asset_id: str) -> Asset: ...


def set_protection(
    assets: Assets,
    protection: Protection,
    asset_id: str,
    schemes: str | Sequence[str],
) -> str:
    """Serve the asset with ``schemes`` (e.g. ``"aes-128,cenc"`` or ``["clear"]``) from now on;
    returns the stored setting. Unknown assets are ``NotFound``, unknown schemes
    ``InvalidInput``, before anything changes.

    The keys come first: they are committed before the setting changes, so the first
    manifest that names a scheme finds its key (and an unreachable key service fails this
    call, not playback)."""
    assets.get(asset_id)
    parsed = parse_schemes(schemes)
    protection.prepare(asset_id, parsed)
    setting = protection_setting(parsed)
    assets.catalogue.update_asset(asset_id, drm=setting)
    # Manifests name the new tags; tags of schemes no longer served are taken down (their
    # URLs answer 404 at the origin from now on). Every other object keeps its meaning.
    purge = PurgeScope(Scope.MANIFESTS, schemes=parse_schemes(setting))
    assets.bus.publish(
        ASSET_UPDATED, asset_id, action="protection", drm=setting, purge=purge.to_payload()
    )
    return setting


def rekey(assets: Assets, protection: Protection, asset_id: str) -> list[int]:
    """New content keys for every protected scheme of the asset; returns the new key
    generations (empty for a clear asset). Players holding the previous generation's URLs
    finish with it; new manifests name the new one."""
    asset = assets.get(asset_id)
    schemes = [s for s in parse_schemes(asset.drm) if s in SCHEMES]
    generations = protection.rekey(asset_id, schemes)
    # New URLs for the new generation; the previous one stays served, older ones go.
    purge = PurgeScope(Scope.MANIFESTS, generations=tuple(zip(schemes, generations, strict=True)))
    assets.bus.publish(ASSET_UPDATED, asset_id, action="rekey", purge=purge.to_payload())
    return generations
