"""Delivery URL layout under ``/v1/{assetId}/`` (pure): build and parse, strictly.

    index.m3u8                         HLS multivariant playlist (short TTL)
    index.mpd                          DASH MPD (short TTL)
    license                            ClearKey licence (POST)
    {tag}/{track}.m3u8                 HLS media playlist
    {tag}/{track}/init.mp4             CMAF header (ftyp+moov)      — immutable
    {tag}/{track}/{n}.m4s              media segment n (from 1)     — immutable
    {tag}/key                          HLS key (AES-128 / SAMPLE-AES identity) — no-store

``{tag}`` is ``r{rev}-{seg}s`` for clear media, ``r{rev}-{seg}s-{scheme}{gen}`` for protected
media (scheme ``aes``, ``cbcs`` or ``cenc``; ``gen`` = the content key's generation). The tag
names everything the bytes depend on — revision, segment duration, protection and key — so an
immutable URL can never change meaning: a re-transcode, a new segment duration, switching
protection or re-keying produces new URLs, and old manifests keep resolving while players
finish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"r([1-9][0-9]{0,8})-([1-9][0-9]?)s(?:-(aes|cbcs|cenc)([1-9][0-9]{0,5}))?")
_TRACK = r"[a-z][a-z0-9]{0,15}"
_PATH = re.compile(
    rf"(?:(?P<index>index\.(?:m3u8|mpd))|(?P<license>license)"
    rf"|(?P<tag>r[0-9]+-[0-9]+s(?:-[a-z]+[0-9]+)?)/(?:(?P<key>key)|(?P<playlist>{_TRACK})\.m3u8"
    rf"|(?P<track>{_TRACK})/(?:(?P<init>init\.mp4)|(?P<number>[1-9][0-9]{{0,6}})\.m4s)))"
)
# URL spelling of a scheme in tags ("aes-128" has a hyphen, which tags use as a separator)
_TAG_SCHEME = {"aes-128": "aes", "cbcs": "cbcs", "cenc": "cenc"}
_SCHEME_OF_TAG = {v: k for k, v in _TAG_SCHEME.items()}


@dataclass(frozen=True, slots=True)
class VariantTag:
    revision: int
    segment_s: int
    scheme: str | None = None  # None = clear; "aes-128", "cbcs" or "cenc"
    key_generation: int = 0

    def __str__(self) -> str:
        base = f"r{self.revision}-{self.segment_s}s"
        if self.scheme is None:
            return base
        return f"{base}-{_TAG_SCHEME[self.scheme]}{self.key_generation}"


@dataclass(frozen=True, slots=True)
class DeliveryPath:
    """A parsed delivery path. ``kind``: multivariant | mpd | license | key | playlist | init |
    segment."""

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
    if m["license"]:
        return DeliveryPath("license")
    tag_match = _TAG.fullmatch(m["tag"])
    if tag_match is None:
        return None
    scheme = _SCHEME_OF_TAG[tag_match[3]] if tag_match[3] else None
    tag = VariantTag(
        int(tag_match[1]), int(tag_match[2]), scheme, int(tag_match[4]) if tag_match[4] else 0
    )
    if m["key"]:
        return DeliveryPath("key", tag) if scheme in ("aes-128", "cbcs") else None
    if m["playlist"]:
        return DeliveryPath("playlist", tag, m["playlist"])
    if m["init"]:
        return DeliveryPath("init", tag, m["track"])
    return DeliveryPath("segment", tag, m["track"], int(m["number"]))
