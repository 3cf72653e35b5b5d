"""Top-level manifests (``index.m3u8``, ``index.mpd``), written per request from the
catalogue's fragment index for the asset's current revision and protection (short TTL)."""

from __future__ import annotations

from vodstack.catalogue import Asset
from vodstack.config import Settings
from vodstack.errors import NotFound, StorageError
from vodstack.origin.presentations import Presentations
from vodstack.origin.protect import ProtectedPackager
from vodstack.origin.resources import manifest_cache_control, text_resource
from vodstack.origin.rules import ServingRules, require_clear
from vodstack.origin.texts import Texts
from vodstack.packaging import DeliveryPath, Track, dash, hls
from vodstack.packaging.encryption import decode_growth, growth_key
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, read_slice


class Manifests:
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        presentations: Presentations,
        rules: ServingRules,
        texts: Texts,
        protection: ProtectedPackager | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.presentations = presentations
        self.rules = rules
        self.texts = texts
        self.protection = protection

    def resolve(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        p = self.presentations.with_texts(self.presentations.get(asset.id, asset.revision))
        segment_s = self.settings.segment_s
        trick = self.settings.dash_trick_mode  # dash.mpd leaves it out of protected MPDs
        if self.protection is None:
            require_clear(asset)
            tag = self.rules.current_tag(asset)
            if parsed.kind == "multivariant":
                master = hls.multivariant_playlist(p, tag, text_rates=self.texts.rates(p, tag))
                return self._manifest(master, "m3u8")
            return self._manifest(dash.mpd(p, tag, trick_mode=trick), "mpd")
        if parsed.kind == "multivariant":
            tag = self.protection.hls_tag(asset, segment_s)
            served = self.protection.served_sizes(p, tag, self.read_track, self.growth)
            master = hls.multivariant_playlist(
                p, tag, served=served, text_rates=self.texts.rates(p, tag)
            )
            return self._manifest(master, "m3u8")
        tag, protection = self.protection.dash_tag(asset, segment_s)
        served = self.protection.served_sizes(p, tag, self.read_track, self.growth)
        mpd = dash.mpd(p, tag, protection, trick_mode=trick, served=served)
        return self._manifest(mpd, "mpd")

    def _manifest(self, text: str, ext: str) -> BytesResource:
        # Top-level manifests point at the current revision: short TTL.
        return text_resource(text, ext, manifest_cache_control(self.settings.manifest_max_age_s))

    def read_track(self, track: Track, offset: int, length: int) -> bytes:
        """Bytes of a track's stored (clear) file, for sizing its protected segments."""
        return read_slice(self.store, track.file_key, offset, length)

    def growth(self, track: Track) -> dict[str, tuple[int, ...]]:
        """What the transcoder recorded beside the track file about its protected sizes."""
        try:
            with self.store.open(growth_key(track.file_key)) as fh:
                data = fh.read(1 << 24)
        except (NotFound, StorageError, OSError):
            return {}
        return decode_growth(data, len(track.fragments))
