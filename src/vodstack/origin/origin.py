"""Resolve ``/v1/{assetId}/{path}`` to a resource: JIT manifests or slices of the CMAF copy.

Nothing packaged is stored: manifests are written per request from the catalogue's fragment
index (cached per revision), segments are byte ranges of the one stored track file.

Beside the media (issue #8): subtitle playlists and WebVTT segments cut from one stored
WebVTT file per text track, I-frame playlists from the keyframe index, the poster, frames
cut on the fly (``thumbnail.jpg``), the storyboard, and the MP4 download. Text tracks and
pictures are served unencrypted under any tag of a served revision (subtitles and previews
are not the protected content; the signed gate still covers them); I-frame playlists only
in the clear.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from vodstack.captions.service import read_cues
from vodstack.captions.webvtt import hls_segment, hls_segment_rates, write_webvtt
from vodstack.catalogue.media import MediaCatalogue
from vodstack.catalogue.models import Asset
from vodstack.catalogue.repository import Catalogue
from vodstack.config import Settings
from vodstack.errors import NotFound, StorageError
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
from vodstack.packaging.encryption.growth import decode_growth, growth_key
from vodstack.packaging.layout import DeliveryPath, VariantTag, parse_delivery_path, sheet_uri
from vodstack.packaging.model import (
    Presentation,
    StoredFile,
    TextTrack,
    Track,
    fragment_from_row,
)
from vodstack.packaging.segments import Segment, segment_track
from vodstack.packaging.trickplay import keyframe_fragment
from vodstack.protection.service import parse_schemes
from vodstack.storage import ObjectStore
from vodstack.thumbnails.frames import frame_jpeg
from vodstack.thumbnails.guard import CutSlots
from vodstack.thumbnails.storyboard import Storyboard, storyboard_vtt
from vodstack.transcode.progressive import WindowScheduler

_CACHE_SIZE = 256
_WINDOWED_RECHECK_S = 2.0
# Pictures and downloads have no revision in their URL: cached, but not "immutable".
PICTURE_CACHE_CONTROL = "public, max-age=3600"
POSTER_CACHE_CONTROL = "public, max-age=300"
# Kinds served the same under every tag of a served revision (never encrypted).
_UNPROTECTED = ("sheet", "text_file", "text_segment")
_ASSET_LEVEL = ("poster", "thumbnail", "storyboard", "download")
_PICTURES = ("poster", "thumbnail", "storyboard", "sheet")
_TEXT_TYPES = {**MANIFEST_TYPES, "vtt": "text/vtt; charset=utf-8"}


def _mpegts(p: Presentation) -> int:
    """The 90 kHz media time of cue time 0 for X-TIMESTAMP-MAP: the first video fragment's
    decode time (0 for vodstack's tracks) [RFC 8216 §3.5]."""
    video = next(iter(p.videos), None)
    if video is None or not video.fragments:
        return 0
    return round(video.fragments[0].decode_time * 90000 / video.timescale)


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
        windows: WindowScheduler | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.store = store
        self.protection = protection
        self.windows = windows  # makes missing windows of progressive revisions on request
        self.media = MediaCatalogue(catalogue.db)
        self._presentations: OrderedDict[tuple[str, int], Presentation] = OrderedDict()
        self._loaded: dict[tuple[str, int], float] = {}
        self._segments: OrderedDict[tuple[str, int, str, int, bool], tuple[Segment, ...]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.cuts = CutSlots(settings.thumbnail_concurrency, settings.thumbnail_wait_s)
        # Stored text files are immutable (a new caption is a new key): rates per file and grid.
        self._text_rates = lru_cache(maxsize=4096)(self._text_rates_of)

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
            cached = self._presentations.get(key)
            # A windowed revision is joined in place (same revision, new rows), and the
            # extras (poster, storyboard, download) of a ready revision are added later by
            # their job; origins in other processes see no event for either, so they re-read
            # such rows every few seconds.
            if cached is not None and (
                (not cached.windowed and cached.files)
                or time.monotonic() - self._loaded.get(key, 0.0) < _WINDOWED_RECHECK_S
            ):
                self._presentations.move_to_end(key)
                return cached
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
                label=r.label,
                is_default=r.is_default,
                windowed=r.layout == "windowed",
            )
            for r in rows
        )
        # Where the media ends on the presentation timeline (edit lists applied): AAC priming
        # would otherwise make a 12.000 s title 12.021 s long [23009-1 §5.3.9.2].
        duration = max(t.presentation_end_s for t in tracks)
        files = tuple(
            StoredFile(f.kind, f.file_key, f.size, dict(f.meta or {}))
            for f in self.media.files(asset_id, revision).values()
        )
        presentation = Presentation(asset_id, revision, duration, tracks, files=files)
        with self._lock:
            self._presentations[key] = presentation
            self._loaded[key] = time.monotonic()
            if len(self._presentations) > _CACHE_SIZE:
                evicted, _ = self._presentations.popitem(last=False)
                self._loaded.pop(evicted, None)
        return presentation

    def segments(self, p: Presentation, track: Track, segment_s: int) -> tuple[Segment, ...]:
        # windowed: a joined track (same revision and id, real byte offsets) must not reuse
        # the segments computed from the windowed rows' planned sizes
        key = (p.asset_id, p.revision, track.track_id, segment_s, track.windowed)
        with self._lock:
            if key in self._segments:
                return self._segments[key]
        segments = segment_track(track, segment_s)
        with self._lock:
            self._segments[key] = segments
            if len(self._segments) > _CACHE_SIZE * 8:
                self._segments.popitem(last=False)
        return segments

    def with_texts(self, p: Presentation) -> Presentation:
        """The presentation with its current text tracks: sidecar captions change without a
        new revision, so they are read per request (manifests and misses only: the edge
        caches the rest)."""
        texts = tuple(
            TextTrack(
                track_id=c.track_id,
                language=c.language if c.language != "und" else None,
                label=c.label,
                file_key=c.file_key,
                is_default=c.is_default,
                forced=c.forced,
                kind=c.kind,
            )
            for c in self.media.captions(p.asset_id, p.revision)
        )
        return replace(p, texts=texts)

    def resolve(self, asset_id: str, path: str) -> Resource:
        parsed = parse_delivery_path(path)
        if parsed is None:
            raise NotFound(f"no such resource {path!r}")
        asset = self.playable_asset(asset_id)
        if parsed.kind in ("multivariant", "mpd"):
            return self._manifest(asset, parsed)
        if parsed.kind == "license":
            raise NotFound("the licence server answers POST")
        if parsed.kind in _PICTURES:
            self._check_pictures(asset)
        if parsed.kind in _ASSET_LEVEL:
            return self._asset_file(asset, parsed)
        tag = parsed.tag
        assert tag is not None
        if tag.segment_s % self.settings.fragment_s:
            raise NotFound("unsupported segment duration")
        # Old revisions stay resolvable while their files exist (players finishing a title).
        if tag.revision not in (asset.revision, asset.revision - 1):
            raise NotFound(f"revision {tag.revision} is not served")
        if parsed.kind in _UNPROTECTED:
            return self._unprotected(self.presentation(asset_id, tag.revision), parsed)
        if parsed.kind == "playlist" and (
            text := self.with_texts(self.presentation(asset_id, tag.revision)).text(
                parsed.track_id or ""
            )
        ):
            p = self.presentation(asset_id, tag.revision)
            playlist = hls.subtitle_playlist(text, tag, p.duration_s)
            return self._text(playlist, "m3u8", immutable=True)
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
        if parsed.kind == "iframes":
            if tag.scheme is not None or track.kind != "video" or track.windowed:
                raise NotFound("I-frame playlists are served for clear video tracks")
            return self._text(hls.iframe_playlist(track, tag), "m3u8", immutable=True)
        if parsed.kind == "keyframe":
            return self._keyframe(p, track, parsed)
        clear = (
            self._windowed_slice(p, track, parsed)
            if track.windowed
            else self._slice(p, track, parsed)
        )
        if packager is None or tag.scheme is None:
            return clear
        return self._encrypted(packager, p, track, parsed, clear)

    def _packager(self, tag: VariantTag) -> ProtectedPackager | None:
        if self.protection is None:
            if tag.scheme is not None:
                raise NotFound("protection is not configured")
            return None
        return self.protection

    def _check_pictures(self, asset: Asset) -> None:
        """Pictures of an asset served only protected: behind the signed gate like its
        segments (always), and not at all when ``protected_pictures`` is off."""
        if self.settings.protected_pictures:
            return
        if "clear" not in parse_schemes(asset.drm or "clear"):
            raise NotFound("pictures of protected assets are not served")

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
        clear: FileSlice | BytesResource,
    ) -> BytesResource:
        tag = parsed.tag
        assert tag is not None
        if track.windowed:
            init = self._resource_bytes(self._stored(f"{track.file_key}/init.mp4", "", ""))
        else:
            assert isinstance(clear, FileSlice)
            init = self._read(track.file_key, clear.path, 0, track.init_size)
        if parsed.kind == "init":
            body = packager.encrypt_init(p, track, tag, init)
        else:
            data = self._resource_bytes(clear)
            assert parsed.number is not None
            body = packager.encrypt_segment(p, track, tag, parsed.number, data, init)
        return BytesResource(
            body,
            clear.content_type,
            IMMUTABLE,
            _etag(p.asset_id, str(tag), track.track_id, parsed.number),
        )

    def _resource_bytes(self, resource: FileSlice | BytesResource) -> bytes:
        if isinstance(resource, BytesResource):
            return resource.body
        return self._read(resource.key, resource.path, resource.offset, resource.length)

    def _read(self, key: str, path: Path | None, offset: int, length: int) -> bytes:
        with open(path, "rb") if path is not None else self.store.open(key) as fh:
            fh.seek(offset)
            data = fh.read(length)
        if len(data) != length:
            raise NotFound("the track file is shorter than its index")
        return data

    def _keyframe(self, p: Presentation, track: Track, parsed: DeliveryPath) -> BytesResource:
        """DASH trick mode: fragment n cut down to its key frame (clear video only)."""
        assert parsed.tag is not None and parsed.number is not None
        if parsed.tag.scheme is not None or track.kind != "video" or track.windowed:
            raise NotFound("trick-mode segments are served for clear, complete video tracks")
        if not 1 <= parsed.number <= len(track.fragments):
            raise NotFound(f"fragment {parsed.number} does not exist")
        frag = track.fragments[parsed.number - 1]
        data = self._read_range(track.file_key, frag.offset, frag.size)
        body = keyframe_fragment(data, frag.duration)
        return BytesResource(
            body,
            "video/mp4",
            IMMUTABLE,
            _etag(p.asset_id, p.revision, track.track_id, "k", parsed.number),
        )

    # -- text tracks, pictures, download -------------------------------------------------------
    def _unprotected(self, p: Presentation, parsed: DeliveryPath) -> Resource:
        tag = parsed.tag
        assert tag is not None
        if parsed.kind == "sheet":
            board = p.file("storyboard")
            if board is None or not 1 <= (parsed.number or 0) <= board.meta.get("sheets", 0):
                raise NotFound("no such storyboard sheet")
            return self._stored(f"{board.file_key}/{parsed.number}.jpg", "image/jpeg", IMMUTABLE)
        text = self.with_texts(p).text(parsed.track_id or "")
        if text is None:
            raise NotFound(f"no text track {parsed.track_id!r}")
        cues = read_cues(self.store, text.file_key)
        if parsed.kind == "text_file":
            body = write_webvtt(cues)
        else:
            windows = hls.text_segments(p.duration_s, tag.segment_s)
            if not 1 <= (parsed.number or 0) <= len(windows):
                raise NotFound(f"segment {parsed.number} does not exist")
            start, end = windows[(parsed.number or 1) - 1]
            body = hls_segment(cues, start, end, mpegts=_mpegts(p))
        return BytesResource(
            body.encode(),
            "text/vtt; charset=utf-8",
            IMMUTABLE,
            _etag(hashlib.sha256(body.encode()).hexdigest()),
        )

    def text_rates(self, p: Presentation, tag: VariantTag) -> tuple[int, int]:
        """(peak, average) bit rate of the largest subtitle rendition as served in HLS."""
        rates = [
            self._text_rates(t.file_key, p.duration_s, tag.segment_s, _mpegts(p)) for t in p.texts
        ]
        return max((r[0] for r in rates), default=0), max((r[1] for r in rates), default=0)

    def _text_rates_of(
        self, file_key: str, duration_s: float, segment_s: int, mpegts: int
    ) -> tuple[int, int]:
        cues = read_cues(self.store, file_key)
        return hls_segment_rates(cues, hls.text_segments(duration_s, segment_s), mpegts)

    def _asset_file(self, asset: Asset, parsed: DeliveryPath) -> Resource:
        p = self.presentation(asset.id, asset.revision)
        if p.windowed:
            raise NotFound(f"the {parsed.kind} is made once every window is encoded")
        if parsed.kind == "storyboard":
            board = p.file("storyboard")
            if board is None:
                raise NotFound("this asset has no storyboard")
            fields = {k: v for k, v in board.meta.items() if k in Storyboard.__dataclass_fields__}
            geometry = Storyboard.from_json({**fields, "duration_s": p.duration_s})
            tag = self.current_tag(asset)
            text = storyboard_vtt(geometry, sheet_uri(tag, "{n}"))
            return self._text(text, "vtt", immutable=False)
        if parsed.kind == "download":
            download = p.file("download")
            if not asset.allow_download or download is None:
                raise NotFound("downloads are not enabled for this asset")
            return self._stored(download.file_key, "video/mp4", PICTURE_CACHE_CONTROL)
        if parsed.kind == "poster" and asset.poster_time is None:
            poster = p.file("poster")
            if poster is not None:
                return self._stored(poster.file_key, "image/jpeg", POSTER_CACHE_CONTROL)
        if parsed.kind == "poster":
            time_s = asset.poster_time or 0.0
            width = self.settings.poster_max_height * 16 // 9
        else:
            time_s, width = parsed.time_s or 0.0, parsed.width or 320
        with self.cuts.slot():
            body = frame_jpeg(p, time_s, width, self._read_range)
        cache = POSTER_CACHE_CONTROL if parsed.kind == "poster" else PICTURE_CACHE_CONTROL
        return BytesResource(
            body, "image/jpeg", cache, _etag(asset.id, p.revision, parsed.kind, time_s, width)
        )

    def _read_range(self, key: str, offset: int, length: int) -> bytes:
        return self._read(key, self.store.local_path(key), offset, length)

    def _stored(self, key: str, content_type: str, cache_control: str) -> FileSlice:
        """A whole stored file, served like a segment (Range, zero-copy at the edge)."""
        size = self.store.size(key)
        return FileSlice(
            key=key,
            path=self.store.local_path(key),
            offset=0,
            length=size,
            content_type=content_type,
            cache_control=cache_control,
            etag=_etag(key, size),
        )

    def _manifest(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        p = self.with_texts(self.presentation(asset.id, asset.revision))
        segment_s = self.settings.segment_s
        if self.protection is None:
            self._require_clear(asset)
            tag, protection = self.current_tag(asset), None
            if parsed.kind == "multivariant":
                master = hls.multivariant_playlist(p, tag, text_rates=self.text_rates(p, tag))
                return self._text(master, "m3u8", immutable=False)
            trick = self.settings.dash_trick_mode
            return self._text(dash.mpd(p, tag, trick_mode=trick), "mpd", immutable=False)
        if parsed.kind == "multivariant":
            tag = self.protection.hls_tag(asset, segment_s)
            served = self.protection.served_sizes(p, tag, self._read_track, self._growth)
            master = hls.multivariant_playlist(
                p, tag, served=served, text_rates=self.text_rates(p, tag)
            )
            return self._text(master, "m3u8", immutable=False)
        tag, protection = self.protection.dash_tag(asset, segment_s)
        served = self.protection.served_sizes(p, tag, self._read_track, self._growth)
        trick = self.settings.dash_trick_mode  # dash.mpd leaves it out of protected MPDs
        mpd = dash.mpd(p, tag, protection, trick_mode=trick, served=served)
        return self._text(mpd, "mpd", immutable=False)

    def _read_track(self, track: Track, offset: int, length: int) -> bytes:
        return self._read(track.file_key, self.store.local_path(track.file_key), offset, length)

    def _growth(self, track: Track) -> dict[str, tuple[int, ...]]:
        """What the transcoder recorded beside the track file about its protected sizes."""
        try:
            with self.store.open(growth_key(track.file_key)) as fh:
                data = fh.read(1 << 24)
        except (NotFound, StorageError, OSError):
            return {}
        return decode_growth(data, len(track.fragments))

    def _text(self, text: str, ext: str, *, immutable: bool) -> BytesResource:
        body = text.encode()
        # Media playlists live under the revision tag, so they never change: cache them like
        # segments. Top-level manifests point at the current revision: short TTL.
        cache = IMMUTABLE if immutable else manifest_cache_control(self.settings.manifest_max_age_s)
        return BytesResource(body, _TEXT_TYPES[ext], cache, _etag(hashlib.sha256(body).hexdigest()))

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

    def _windowed_slice(
        self, p: Presentation, track: Track, parsed: DeliveryPath
    ) -> FileSlice | BytesResource:
        """A segment of a progressive revision: its fragments from the window chunks, each
        chunk encoded now if nobody has asked for it before (collapsed, capped, urgent)."""
        assert parsed.tag is not None
        content_type = "audio/mp4" if track.kind == "audio" else "video/mp4"
        if self.windows is None:
            raise NotFound("this process does not serve titles still being encoded")
        if parsed.kind == "init":
            return self._stored(f"{track.file_key}/init.mp4", content_type, IMMUTABLE)
        segments = self.segments(p, track, parsed.tag.segment_s)
        assert parsed.number is not None
        if not 1 <= parsed.number <= len(segments):
            raise NotFound(f"segment {parsed.number} does not exist")
        seg = segments[parsed.number - 1]
        per_window = self.windows.layout(p.asset_id, p.revision).window_fragments
        parts: list[tuple[str, int, int]] = []
        for fragment in range(seg.first_fragment, seg.first_fragment + seg.fragment_count):
            window = fragment // per_window
            key = self.windows.ensure(p.asset_id, p.revision, track.track_id, window)
            offset, size = self.windows.chunk_fragments(key)[fragment - window * per_window]
            if parts and parts[-1][0] == key and parts[-1][1] + parts[-1][2] == offset:
                parts[-1] = (key, parts[-1][1], parts[-1][2] + size)
            else:
                parts.append((key, offset, size))
        etag = _etag(p.asset_id, p.revision, track.track_id, "w", parsed.tag.segment_s, seg.number)
        if len(parts) == 1:
            key, offset, length = parts[0]
            path = self.store.local_path(key)
            return FileSlice(key, path, offset, length, content_type, IMMUTABLE, etag)
        body = b"".join(self._read(k, self.store.local_path(k), o, n) for k, o, n in parts)
        return BytesResource(body, content_type, IMMUTABLE, etag)
