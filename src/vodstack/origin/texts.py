"""Subtitles: HLS subtitle playlists, WebVTT segments and whole WebVTT tracks, cut from the
one stored WebVTT file of each text track.

Text tracks are served unencrypted under any tag of a served revision (subtitles are not the
protected content; the signed gate still covers them).
"""

from __future__ import annotations

from functools import lru_cache

from vodstack.captions import hls_segment, hls_segment_rates, read_cues, write_webvtt
from vodstack.catalogue import Asset
from vodstack.errors import NotFound
from vodstack.origin.presentations import Presentations
from vodstack.origin.resources import IMMUTABLE, text_resource
from vodstack.origin.rules import ServingRules
from vodstack.packaging import DeliveryPath, Presentation, VariantTag, hls
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource


def mpegts(p: Presentation) -> int:
    """The 90 kHz media time of cue time 0 for X-TIMESTAMP-MAP: the first video fragment's
    decode time (0 for vodstack's tracks) [RFC 8216 §3.5]."""
    video = next(iter(p.videos), None)
    if video is None or not video.fragments:
        return 0
    return round(video.fragments[0].decode_time * 90000 / video.timescale)


class Texts:
    def __init__(
        self, store: ObjectStore, presentations: Presentations, rules: ServingRules
    ) -> None:
        self.store = store
        self.presentations = presentations
        self.rules = rules
        # Stored text files are immutable (a new caption is a new key): rates per file and grid.
        self._rates = lru_cache(maxsize=4096)(self._rates_of)

    def resolve(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        """``{tag}/{track}.vtt`` (the whole track) or ``{tag}/{track}/{n}.vtt`` (segment n)."""
        tag = self.rules.served_tag(asset, parsed)
        p = self.presentations.get(asset.id, tag.revision)
        text = self.presentations.with_texts(p).text(parsed.track_id or "")
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
            body = hls_segment(cues, start, end, mpegts=mpegts(p))
        return text_resource(body, "vtt", IMMUTABLE)

    def playlist(self, asset: Asset, tag: VariantTag, track_id: str) -> BytesResource | None:
        """The HLS subtitle playlist of ``track_id``, None when it is no text track."""
        p = self.presentations.get(asset.id, tag.revision)
        text = self.presentations.with_texts(p).text(track_id)
        if text is None:
            return None
        playlist = hls.subtitle_playlist(text, tag, p.duration_s)
        return text_resource(playlist, "m3u8", IMMUTABLE)

    def rates(self, p: Presentation, tag: VariantTag) -> tuple[int, int]:
        """(peak, average) bit rate of the largest subtitle rendition as served in HLS."""
        rates = [self._rates(t.file_key, p.duration_s, tag.segment_s, mpegts(p)) for t in p.texts]
        return max((r[0] for r in rates), default=0), max((r[1] for r in rates), default=0)

    def _rates_of(
        self, file_key: str, duration_s: float, segment_s: int, mpegts: int
    ) -> tuple[int, int]:
        cues = read_cues(self.store, file_key)
        return hls_segment_rates(cues, hls.text_segments(duration_s, segment_s), mpegts)
