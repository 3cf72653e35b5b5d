"""Pictures of an asset: the poster, frames cut on request (``thumbnail.jpg``), the
storyboard track and its sprite sheets.

Pictures are served unencrypted (previews are not the protected content; the signed gate
still covers them), and for protected assets only when ``protected_pictures`` is on. Frames
are cut by the ``FrameSource`` the origin was given (FFmpeg, off the delivery layer).
"""

from __future__ import annotations

from vodstack.catalogue import Asset
from vodstack.config import Settings
from vodstack.errors import NotFound
from vodstack.origin.presentations import Presentations
from vodstack.origin.resources import (
    IMMUTABLE,
    PICTURE_CACHE_CONTROL,
    POSTER_CACHE_CONTROL,
    etag,
    manifest_cache_control,
    stored_file,
    text_resource,
)
from vodstack.origin.rules import ServingRules
from vodstack.origin.sources import FrameSource
from vodstack.packaging import DeliveryPath, sheet_uri
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, FileSlice, Resource
from vodstack.thumbnails import Storyboard, storyboard_vtt


class Pictures:
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        presentations: Presentations,
        rules: ServingRules,
        frames: FrameSource,
    ) -> None:
        self.settings = settings
        self.store = store
        self.presentations = presentations
        self.rules = rules
        self.frames = frames

    def poster(self, asset: Asset, parsed: DeliveryPath) -> Resource:
        """The stored poster, or the frame at the time chosen by hand (cut now)."""
        self.rules.check_pictures(asset)
        p = self.presentations.finished(asset, parsed.kind)
        if asset.poster_time is None:
            poster = p.file("poster")
            if poster is not None:
                return stored_file(self.store, poster.file_key, "image/jpeg", POSTER_CACHE_CONTROL)
        time_s = asset.poster_time or 0.0
        width = self.settings.poster_max_height * 16 // 9
        body = self.frames.frame_jpeg(p, time_s, width)
        return BytesResource(
            body,
            "image/jpeg",
            POSTER_CACHE_CONTROL,
            etag(asset.id, p.revision, parsed.kind, time_s, width),
        )

    def thumbnail(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        """``thumbnail.jpg?time=S&width=W``: one frame, cut on request."""
        self.rules.check_pictures(asset)
        p = self.presentations.finished(asset, parsed.kind)
        time_s, width = parsed.time_s or 0.0, parsed.width or 320
        body = self.frames.frame_jpeg(p, time_s, width)
        return BytesResource(
            body,
            "image/jpeg",
            PICTURE_CACHE_CONTROL,
            etag(asset.id, p.revision, parsed.kind, time_s, width),
        )

    def storyboard(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        """``storyboard.vtt``: WebVTT cues pointing at tiles of the current revision's sheets."""
        self.rules.check_pictures(asset)
        p = self.presentations.finished(asset, parsed.kind)
        board = p.file("storyboard")
        if board is None:
            raise NotFound("this asset has no storyboard")
        fields = {k: v for k, v in board.meta.items() if k in Storyboard.__dataclass_fields__}
        geometry = Storyboard.from_json({**fields, "duration_s": p.duration_s})
        text = storyboard_vtt(geometry, sheet_uri(self.rules.current_tag(asset), "{n}"))
        return text_resource(text, "vtt", manifest_cache_control(self.settings.manifest_max_age_s))

    def sheet(self, asset: Asset, parsed: DeliveryPath) -> FileSlice:
        """``{tag}/sb/{n}.jpg``: storyboard sprite sheet n, under any tag of a served revision."""
        self.rules.check_pictures(asset)
        tag = self.rules.served_tag(asset, parsed)
        board = self.presentations.get(asset.id, tag.revision).file("storyboard")
        if board is None or not 1 <= (parsed.number or 0) <= board.meta.get("sheets", 0):
            raise NotFound("no such storyboard sheet")
        return stored_file(
            self.store, f"{board.file_key}/{parsed.number}.jpg", "image/jpeg", IMMUTABLE
        )
