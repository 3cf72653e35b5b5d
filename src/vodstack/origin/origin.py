"""Resolve ``/v1/{assetId}/{path}`` to a resource: JIT manifests or slices of the CMAF copy.

Nothing packaged is stored: manifests are written per request from the catalogue's fragment
index (cached per revision), segments are byte ranges of the one stored track file.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from vodstack.catalogue.models import Asset
from vodstack.catalogue.repository import Catalogue
from vodstack.config import Settings
from vodstack.errors import NotFound
from vodstack.origin.protect import ProtectedPackager
from vodstack.origin.resources import (
    IMMUTABLE,
    MANIFEST_TYPES,
    BytesResource,
    FileSlice,
    Resource,
    manifest_cache_control,
)
from vodstack.packaging import dash, hls
from vodstack.packaging.layout import DeliveryPath, VariantTag, parse_delivery_path
from vodstack.packaging.model import Presentation, Track, fragment_from_row
from vodstack.packaging.segments import Segment, segment_track
from vodstack.storage import ObjectStore

_CACHE_SIZE = 256


def _etag(*parts: object) -> str:
    digest = hashlib.blake2s("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


class Origin:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        store: ObjectStore,
        protection: ProtectedPackager | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.store = store
        self.protection = protection
        self._presentations: OrderedDict[tuple[str, int], Presentation] = OrderedDict()
        self._segments: OrderedDict[tuple[str, int, str, int], tuple[Segment, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def forget(self, asset_id: str) -> None:
        """Drop cached packaging state of an asset (after re-transcode, delete, …)."""
        if self.protection is not None:
            self.protection.forget(asset_id)
        with self._lock:
            for key in [k for k in self._presentations if k[0] == asset_id]:
                del self._presentations[key]
            for key in [k for k in self._segments if k[0] == asset_id]:
                del self._segments[key]

    def current_tag(self, asset: Asset) -> VariantTag:
        return VariantTag(asset.revision, self.settings.segment_s)

    def playable_asset(self, asset_id: str) -> Asset:
        """The asset if it can be delivered: exists, ready, published."""
        asset = self.catalogue.get_asset(asset_id)
        if asset.status != "ready" or asset.revision == 0 or not asset.published:
            raise NotFound(f"asset {asset_id} is not available for playback")
        return asset

    def presentation(self, asset_id: str, revision: int) -> Presentation:
        key = (asset_id, revision)
        with self._lock:
            if key in self._presentations:
                self._presentations.move_to_end(key)
                return self._presentations[key]
        rows = self.catalogue.renditions(asset_id, revision)
        if not rows:
            raise NotFound(f"asset {asset_id} has no revision {revision}")
        tracks = tuple(
            Track(
                track_id=r.track_id,
                kind=r.kind,
                codec=r.codec,
                timescale=r.timescale,
                media_time=r.media_time,
                init_size=r.init_size,
                file_key=r.file_key,
                file_size=r.file_size,
                fragments=tuple(fragment_from_row(f) for f in r.fragments),
                width=r.width,
                height=r.height,
                frame_rate=r.frame_rate,
                sample_rate=r.sample_rate,
                channels=r.channels,
                language=r.language,
            )
            for r in rows
        )
        duration = max(t.duration_s for t in tracks)
        presentation = Presentation(asset_id, revision, duration, tracks)
        with self._lock:
            self._presentations[key] = presentation
            if len(self._presentations) > _CACHE_SIZE:
                self._presentations.popitem(last=False)
        return presentation

    def segments(self, p: Presentation, track: Track, segment_s: int) -> tuple[Segment, ...]:
        key = (p.asset_id, p.revision, track.track_id, segment_s)
        with self._lock:
            if key in self._segments:
                return self._segments[key]
        segments = segment_track(track, segment_s)
        with self._lock:
            self._segments[key] = segments
            if len(self._segments) > _CACHE_SIZE * 8:
                self._segments.popitem(last=False)
        return segments

    def resolve(self, asset_id: str, path: str) -> Resource:
        parsed = parse_delivery_path(path)
        if parsed is None:
            raise NotFound(f"no such resource {path!r}")
        asset = self.playable_asset(asset_id)
        if parsed.kind in ("multivariant", "mpd"):
            return self._manifest(asset, parsed)
        if parsed.kind == "license":
            raise NotFound("the licence server answers POST")
        tag = parsed.tag
        assert tag is not None
        if tag.segment_s % self.settings.fragment_s:
            raise NotFound("unsupported segment duration")
        # Old revisions stay resolvable while their files exist (players finishing a title).
        if tag.revision not in (asset.revision, asset.revision - 1):
            raise NotFound(f"revision {tag.revision} is not served")
        packager = self._packager(tag)
        if packager is not None:
            packager.check(asset, tag)
        elif tag.scheme is None and asset.drm not in ("clear", "", None):
            self._require_clear(asset)
        if parsed.kind == "key":
            assert packager is not None
            return packager.key_resource(asset_id, tag)
        p = self.presentation(asset_id, tag.revision)
        track = p.track(parsed.track_id or "")
        if track is None:
            raise NotFound(f"no track {parsed.track_id!r}")
        if parsed.kind == "playlist":
            key = packager.hls_key(p, track, tag) if packager is not None else None
            return self._text(hls.media_playlist(track, tag, key), "m3u8", immutable=True)
        clear = self._slice(p, track, parsed)
        if packager is None or tag.scheme is None:
            return clear
        return self._encrypted(packager, p, track, parsed, clear)

    def _packager(self, tag: VariantTag) -> ProtectedPackager | None:
        if self.protection is None:
            if tag.scheme is not None:
                raise NotFound("protection is not configured")
            return None
        return self.protection

    @staticmethod
    def _require_clear(asset: Asset) -> None:
        if "clear" not in (asset.drm or "clear").split(","):
            raise NotFound("this asset is no longer served in the clear")

    def _encrypted(
        self,
        packager: ProtectedPackager,
        p: Presentation,
        track: Track,
        parsed: DeliveryPath,
        clear: FileSlice,
    ) -> BytesResource:
        tag = parsed.tag
        assert tag is not None
        init = self._read(track.file_key, clear.path, 0, track.init_size)
        if parsed.kind == "init":
            body = packager.encrypt_init(p, track, tag, init)
        else:
            data = self._read(track.file_key, clear.path, clear.offset, clear.length)
            assert parsed.number is not None
            body = packager.encrypt_segment(p, track, tag, parsed.number, data, init)
        return BytesResource(
            body,
            clear.content_type,
            IMMUTABLE,
            _etag(p.asset_id, str(tag), track.track_id, parsed.number),
        )

    def _read(self, key: str, path: Path | None, offset: int, length: int) -> bytes:
        with open(path, "rb") if path is not None else self.store.open(key) as fh:
            fh.seek(offset)
            data = fh.read(length)
        if len(data) != length:
            raise NotFound("the track file is shorter than its index")
        return data

    def _manifest(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        p = self.presentation(asset.id, asset.revision)
        segment_s = self.settings.segment_s
        if self.protection is None:
            self._require_clear(asset)
            tag, protection = self.current_tag(asset), None
            if parsed.kind == "multivariant":
                return self._text(hls.multivariant_playlist(p, tag), "m3u8", immutable=False)
            return self._text(dash.mpd(p, tag), "mpd", immutable=False)
        if parsed.kind == "multivariant":
            tag = self.protection.hls_tag(asset, segment_s)
            return self._text(hls.multivariant_playlist(p, tag), "m3u8", immutable=False)
        tag, protection = self.protection.dash_tag(asset, segment_s)
        return self._text(dash.mpd(p, tag, protection), "mpd", immutable=False)

    def _text(self, text: str, ext: str, *, immutable: bool) -> BytesResource:
        body = text.encode()
        # Media playlists live under the revision tag, so they never change: cache them like
        # segments. Top-level manifests point at the current revision: short TTL.
        cache = IMMUTABLE if immutable else manifest_cache_control(self.settings.manifest_max_age_s)
        return BytesResource(
            body, MANIFEST_TYPES[ext], cache, _etag(hashlib.sha256(body).hexdigest())
        )

    def _slice(self, p: Presentation, track: Track, parsed: DeliveryPath) -> FileSlice:
        assert parsed.tag is not None
        content_type = "audio/mp4" if track.kind == "audio" else "video/mp4"
        path = self.store.local_path(track.file_key)
        if parsed.kind == "init":
            offset, length = 0, track.init_size
        else:
            segments = self.segments(p, track, parsed.tag.segment_s)
            assert parsed.number is not None
            if not 1 <= parsed.number <= len(segments):
                raise NotFound(f"segment {parsed.number} does not exist")
            seg = segments[parsed.number - 1]
            offset, length = seg.offset, seg.size
        return FileSlice(
            key=track.file_key,
            path=path,
            offset=offset,
            length=length,
            content_type=content_type,
            cache_control=IMMUTABLE,
            etag=_etag(p.asset_id, p.revision, track.track_id, offset, length),
        )
