"""HLS media playlists under a revision tag: a track's (with its key, when protected), a
subtitle track's, and the I-frame playlist of a clear video track. They never change, so
they are cached like segments."""

from __future__ import annotations

from vodstack.catalogue import Asset
from vodstack.errors import NotFound
from vodstack.origin.presentations import Presentations
from vodstack.origin.resources import IMMUTABLE, text_resource
from vodstack.origin.rules import ServingRules
from vodstack.origin.texts import Texts
from vodstack.packaging import DeliveryPath, hls
from vodstack.storage.slices import BytesResource


class Playlists:
    def __init__(self, presentations: Presentations, rules: ServingRules, texts: Texts) -> None:
        self.presentations = presentations
        self.rules = rules
        self.texts = texts

    def playlist(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        """``{tag}/{track}.m3u8``: subtitles under any tag, media through the packager."""
        tag = self.rules.served_tag(asset, parsed)
        subtitles = self.texts.playlist(asset, tag, parsed.track_id or "")
        if subtitles is not None:
            return subtitles
        packager = self.rules.packager(asset, tag)
        p, track = self.presentations.track(asset.id, tag, parsed.track_id)
        key = packager.hls_key(p, track, tag) if packager is not None else None
        return text_resource(hls.media_playlist(track, tag, key), "m3u8", IMMUTABLE)

    def iframes(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        """``{tag}/{track}/iframes.m3u8`` [RFC 8216 §4.3.3.6]: clear, complete video only."""
        tag = self.rules.served_tag(asset, parsed)
        self.rules.packager(asset, tag)
        _, track = self.presentations.track(asset.id, tag, parsed.track_id)
        if tag.scheme is not None or track.kind != "video" or track.windowed:
            raise NotFound("I-frame playlists are served for clear video tracks")
        return text_resource(hls.iframe_playlist(track, tag), "m3u8", IMMUTABLE)
