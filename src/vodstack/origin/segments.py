"""Init and media segments under a revision tag: byte ranges of the one stored CMAF track
file (or of window chunks while a progressive revision is encoded), encrypted just in time
under a protected tag, and DASH trick-mode fragments cut down to their key frame."""

from __future__ import annotations

from vodstack.catalogue import Asset
from vodstack.errors import NotFound
from vodstack.origin.presentations import Presentations
from vodstack.origin.protect import ProtectedPackager
from vodstack.origin.resources import IMMUTABLE, etag
from vodstack.origin.rules import ServingRules
from vodstack.origin.windowed import WindowedSlices
from vodstack.packaging import DeliveryPath, Presentation, Track, keyframe_fragment
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, FileSlice, read_resource, read_slice


class Segments:
    def __init__(
        self,
        store: ObjectStore,
        presentations: Presentations,
        rules: ServingRules,
        windowed: WindowedSlices,
    ) -> None:
        self.store = store
        self.presentations = presentations
        self.rules = rules
        self.windowed = windowed

    def resolve(self, asset: Asset, parsed: DeliveryPath) -> FileSlice | BytesResource:
        """``{tag}/{track}/init.mp4`` or ``{tag}/{track}/{n}.m4s``."""
        tag = self.rules.served_tag(asset, parsed)
        packager = self.rules.packager(asset, tag)
        p, track = self.presentations.track(asset.id, tag, parsed.track_id)
        content_type = "audio/mp4" if track.kind == "audio" else "video/mp4"
        clear = (
            self.windowed.resolve(p, track, parsed, content_type)
            if track.windowed
            else self._slice(p, track, parsed, content_type)
        )
        if packager is None or tag.scheme is None:
            return clear
        return self._encrypted(packager, p, track, parsed, clear)

    def keyframe(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        """DASH trick mode: fragment n cut down to its key frame (clear video only)."""
        tag = self.rules.served_tag(asset, parsed)
        self.rules.packager(asset, tag)
        p, track = self.presentations.track(asset.id, tag, parsed.track_id)
        assert parsed.number is not None
        if tag.scheme is not None or track.kind != "video" or track.windowed:
            raise NotFound("trick-mode segments are served for clear, complete video tracks")
        if not 1 <= parsed.number <= len(track.fragments):
            raise NotFound(f"fragment {parsed.number} does not exist")
        frag = track.fragments[parsed.number - 1]
        data = read_slice(self.store, track.file_key, frag.offset, frag.size)
        body = keyframe_fragment(data, frag.duration)
        return BytesResource(
            body,
            "video/mp4",
            IMMUTABLE,
            etag(p.asset_id, p.revision, track.track_id, "k", parsed.number),
        )

    def _slice(
        self, p: Presentation, track: Track, parsed: DeliveryPath, content_type: str
    ) -> FileSlice:
        assert parsed.tag is not None
        if parsed.kind == "init":
            offset, length = 0, track.init_size
        else:
            seg = self.presentations.segment(p, track, parsed.tag.segment_s, parsed.number)
            offset, length = seg.offset, seg.size
        return FileSlice(
            key=track.file_key,
            path=self.store.local_path(track.file_key),
            offset=offset,
            length=length,
            content_type=content_type,
            cache_control=IMMUTABLE,
            etag=etag(p.asset_id, p.revision, track.track_id, offset, length),
        )

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
            init = self.windowed.init_bytes(track)
        else:
            assert isinstance(clear, FileSlice)
            init = read_slice(self.store, track.file_key, 0, track.init_size, clear.path)
        if parsed.kind == "init":
            body = packager.encrypt_init(p, track, tag, init)
        else:
            data = read_resource(self.store, clear)
            assert parsed.number is not None
            body = packager.encrypt_segment(p, track, tag, parsed.number, data, init)
        return BytesResource(
            body,
            clear.content_type,
            IMMUTABLE,
            etag(p.asset_id, str(tag), track.track_id, parsed.number),
        )
