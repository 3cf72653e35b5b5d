"""What of an asset the origin serves: which tags, which revisions, pictures, and whether a
tag goes through the protected packager or must be in the clear."""

from __future__ import annotations

from vodstack.catalogue import Asset
from vodstack.config import Settings
from vodstack.errors import NotFound
from vodstack.origin.protect import ProtectedPackager
from vodstack.packaging import DeliveryPath, VariantTag
from vodstack.protection import parse_schemes


class ServingRules:
    def __init__(self, settings: Settings, protection: ProtectedPackager | None) -> None:
        self.settings = settings
        self.protection = protection

    def current_tag(self, asset: Asset) -> VariantTag:
        return VariantTag(asset.revision, self.settings.segment_s)

    def served_tag(self, asset: Asset, parsed: DeliveryPath) -> VariantTag:
        """The tag of a path under ``{tag}/``, if this origin serves it."""
        tag = parsed.tag
        assert tag is not None
        if tag.segment_s % self.settings.fragment_s:
            raise NotFound("unsupported segment duration")
        # Old revisions stay resolvable while their files exist (players finishing a title).
        if tag.revision not in (asset.revision, asset.revision - 1):
            raise NotFound(f"revision {tag.revision} is not served")
        return tag

    def check_pictures(self, asset: Asset) -> None:
        """Pictures of an asset served only protected: behind the signed gate like its
        segments (always), and not at all when ``protected_pictures`` is off."""
        if self.settings.protected_pictures:
            return
        if "clear" not in parse_schemes(asset.drm or "clear"):
            raise NotFound("pictures of protected assets are not served")

    def packager(self, asset: Asset, tag: VariantTag) -> ProtectedPackager | None:
        """The packager for a tag of protected media (None without protection configured),
        once it has allowed the tag; clear tags of an asset no longer clear are refused."""
        if self.protection is None:
            if tag.scheme is not None:
                raise NotFound("protection is not configured")
            if asset.drm not in ("clear", "", None):
                require_clear(asset)
            return None
        self.protection.check(asset, tag)
        return self.protection


def require_clear(asset: Asset) -> None:
    if "clear" not in (asset.drm or "clear").split(","):
        raise NotFound("this asset is no longer served in the clear")
