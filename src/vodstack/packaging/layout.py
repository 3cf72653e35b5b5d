"""Delivery URL layout under ``/v1/{assetId}/`` (pure): build and parse, strictly.

    index.m3u8                         HLS multivariant playlist (short TTL)
    index.mpd                          DASH MPD (short TTL)
    r{rev}-{seg}s/{track}.m3u8         HLS media playlist
    r{rev}-{seg}s/{track}/init.mp4     CMAF header (ftyp+moov)      — immutable
    r{rev}-{seg}s/{track}/{n}.m4s      media segment n (from 1)     — immutable

The ``r{rev}-{seg}s`` tag names what the bytes depend on (the committed revision and the
segment duration), so an immutable URL can never change meaning: a re-transcode or a new
segment duration produces new URLs, and old manifests keep resolving while players finish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"r([1-9][0-9]{0,8})-([1-9][0-9]?)s")
_TRACK = r"[a-z][a-z0-9]{0,15}"
_PATH = re.compile(
    rf"(?:(?P<index>index\.(?:m3u8|mpd))"
    rf"|(?P<tag>r[0-9]+-[0-9]+s)/(?:(?P<playlist>{_TRACK})\.m3u8"
    rf"|(?P<track>{_TRACK})/(?:(?P<init>init\.mp4)|(?P<number>[1-9][0-9]{{0,6}})\.m4s)))"
)


@dataclass(frozen=True, slots=True)
class VariantTag:
    revision: int
    segment_s: int

    def __str__(self) -> str:
        return f"r{self.revision}-{self.segment_s}s"


@dataclass(frozen=True, slots=True)
class DeliveryPath:
    """A parsed delivery path. ``kind``: multivariant | mpd | playlist | init | segment."""

    kind: str
    tag: VariantTag | None = None
    track_id: str | None = None
    number: int | None = None


def media_playlist_uri(tag: VariantTag, track_id: str) -> str:
    return f"{tag}/{track_id}.m3u8"


def init_uri(tag: VariantTag, track_id: str) -> str:
    return f"{tag}/{track_id}/init.mp4"


def segment_uri(tag: VariantTag, track_id: str, number: int | str) -> str:
    return f"{tag}/{track_id}/{number}.m4s"


def parse_delivery_path(path: str) -> DeliveryPath | None:
    """Parse the part after ``/v1/{assetId}/``; None for anything not in the layout."""
    m = _PATH.fullmatch(path)
    if m is None:
        return None
    if m["index"]:
        return DeliveryPath("multivariant" if m["index"].endswith("m3u8") else "mpd")
    tag_match = _TAG.fullmatch(m["tag"])
    if tag_match is None:
        return None
    tag = VariantTag(int(tag_match[1]), int(tag_match[2]))
    if m["playlist"]:
        return DeliveryPath("playlist", tag, m["playlist"])
    if m["init"]:
        return DeliveryPath("init", tag, m["track"])
    return DeliveryPath("segment", tag, m["track"], int(m["number"]))
