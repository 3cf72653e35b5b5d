"""Delivery URL layout under ``/v1/{assetId}/`` (pure): build and parse, strictly.

    index.m3u8                         HLS multivariant playlist (short TTL)
    index.mpd                          DASH MPD (short TTL)
    license                            ClearKey licence (POST)
    poster.jpg                         the poster (short TTL: its time can be changed)
    thumbnail.jpg?time=S&width=W       a frame cut on the fly (cached per time and width)
    storyboard.vtt                     WebVTT thumbnails track → {tag}/sb/{n}.jpg#xywh=…
    download.mp4                       progressive MP4 (when the asset allows downloads)
    {tag}/{track}.m3u8                 HLS media playlist (video, audio, or WebVTT subtitles)
    {tag}/{track}.vtt                  a whole WebVTT track (DASH text AdaptationSet)
    {tag}/{track}/init.mp4             CMAF header (ftyp+moov)      — immutable
    {tag}/{track}/{n}.m4s              media segment n (from 1)     — immutable
    {tag}/{track}/{n}.vtt              WebVTT segment n of a subtitle track — immutable
    {tag}/{track}/iframes.m3u8         HLS I-frame playlist of a video track — immutable
    {tag}/{track}/k{n}.m4s             fragment n, key frame only (DASH trick mode) — immutable
    {tag}/sb/{n}.jpg                   storyboard sprite sheet n (from 1) — immutable
    {tag}/key                          HLS key (AES-128 / SAMPLE-AES identity) — no-store

``{tag}`` is ``r{rev}-{seg}s`` for clear media, ``r{rev}-{seg}s-{scheme}{gen}`` for protected
media (scheme ``aes``, ``cbcs`` or ``cenc``; ``gen`` = the content key's generation). The tag
names everything the bytes depend on — revision, segment duration, protection and key — so an
immutable URL can never change meaning: a re-transcode, a new segment duration, switching
protection or re-keying produces new URLs, and old manifests keep resolving while players
finish.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from vodstack.errors import InvalidInput

_TAG = re.compile(r"r([1-9][0-9]{0,8})-([1-9][0-9]?)s(?:-(aes|cbcs|cenc)([1-9][0-9]{0,5}))?")
_TRACK = r"[a-z][a-z0-9]{0,15}"
_N = r"[1-9][0-9]{0,6}"
_PATH = re.compile(
    rf"(?:(?P<index>index\.(?:m3u8|mpd))|(?P<license>license)"
    rf"|(?P<asset_file>poster\.jpg|thumbnail\.jpg|storyboard\.vtt|download\.mp4)"
    rf"|(?P<tag>r[0-9]+-[0-9]+s(?:-[a-z]+[0-9]+)?)/(?:(?P<key>key)"
    rf"|sb/(?P<sheet>{_N})\.jpg"
    rf"|(?P<playlist>{_TRACK})\.m3u8|(?P<textfile>{_TRACK})\.vtt"
    rf"|(?P<track>{_TRACK})/(?:(?P<init>init\.mp4)|(?P<iframes>iframes\.m3u8)"
    rf"|(?P<number>{_N})\.m4s|k(?P<keyframe>{_N})\.m4s|(?P<textseg>{_N})\.vtt)))"
)
_ASSET_FILES = {
    "poster.jpg": "poster",
    "thumbnail.jpg": "thumbnail",
    "storyboard.vtt": "storyboard",
    "download.mp4": "download",
}
# On-the-fly thumbnails: widths a player could want, times within a title.
THUMBNAIL_WIDTHS = (16, 1920)
THUMBNAIL_DEFAULT_WIDTH = 320
# Each distinct (time, width) costs one FFmpeg decode and one edge entry (issue 20): a request
# is answered with the next of these widths up, at whole seconds, so a title has at most
# len(THUMBNAIL_SIZES) × its seconds distinct thumbnails, whatever the URLs ask for.
THUMBNAIL_SIZES = (160, 240, 320, 480, 640, 960, 1280, 1920)
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
    segment | text_file | text_segment | iframes | keyframe | sheet | poster | thumbnail |
    storyboard | download."""

    kind: str
    tag: VariantTag | None = None
    track_id: str | None = None
    number: int | None = None
    time_s: float | None = None  # thumbnail
    width: int | None = None  # thumbnail


def media_playlist_uri(tag: VariantTag, track_id: str) -> str:
    return f"{tag}/{track_id}.m3u8"


def init_uri(tag: VariantTag, track_id: str) -> str:
    return f"{tag}/{track_id}/init.mp4"


def segment_uri(tag: VariantTag, track_id: str, number: int | str) -> str:
    return f"{tag}/{track_id}/{number}.m4s"


def text_segment_uri(tag: VariantTag, track_id: str, number: int | str) -> str:
    return f"{tag}/{track_id}/{number}.vtt"


def keyframe_uri(tag: VariantTag, track_id: str, number: int | str) -> str:
    return f"{tag}/{track_id}/k{number}.m4s"


def text_file_uri(tag: VariantTag, track_id: str) -> str:
    return f"{tag}/{track_id}.vtt"


def iframes_uri(tag: VariantTag, track_id: str) -> str:
    return f"{tag}/{track_id}/iframes.m3u8"


def sheet_uri(tag: VariantTag, number: int | str) -> str:
    return f"{tag}/sb/{number}.jpg"


def thumbnail_query(params: Mapping[str, str]) -> tuple[float, int]:
    """``time`` (seconds, ≥ 0) and ``width`` (pixels) of ``thumbnail.jpg``, validated."""
    try:
        time_s = float(params.get("time") or 0)
        width = int(params.get("width") or THUMBNAIL_DEFAULT_WIDTH)
    except ValueError:
        raise InvalidInput("thumbnail.jpg takes time=SECONDS and width=PIXELS") from None
    if not (math.isfinite(time_s) and 0 <= time_s < 1e7):
        raise InvalidInput("thumbnail time must be a number of seconds ≥ 0")
    low, high = THUMBNAIL_WIDTHS
    if not low <= width <= high:
        raise InvalidInput(f"thumbnail width must be between {low} and {high} pixels")
    return float(math.floor(time_s)), next(w for w in THUMBNAIL_SIZES if w >= width)


def last_thumbnail_time(duration_s: float) -> float:
    """The last whole second at least half a second before the end of a title ``duration_s``
    long (the asset's duration is its longest track's: audio may outlast the last frame)."""
    return float(max(0, math.floor(duration_s - 0.5)))


def cache_path(path: str, params: Mapping[str, str], duration_s: float | None = None) -> str:
    """The path an edge caches a request under: the path alone, except for resources whose
    query selects the bytes (``thumbnail.jpg``), which keep exactly their canonical query —
    quantised, and with ``duration_s`` clamped to the title — so that signature parameters,
    unknown ones and near-identical or out-of-range times never split the cache."""
    if path != "thumbnail.jpg":
        return path
    time_s, width = thumbnail_query(params)
    if duration_s is not None:
        time_s = min(time_s, last_thumbnail_time(duration_s))
    return f"thumbnail.jpg?time={time_s:g}&width={width}"


def parse_delivery_path(path: str) -> DeliveryPath | None:
    """Parse the part after ``/v1/{assetId}/``; None for anything not in the layout."""
    path, _, query = path.partition("?")
    m = _PATH.fullmatch(path)
    if m is None:
        return None
    if m["index"]:
        return DeliveryPath("multivariant" if m["index"].endswith("m3u8") else "mpd")
    if m["license"]:
        return DeliveryPath("license")
    if m["asset_file"]:
        kind = _ASSET_FILES[m["asset_file"]]
        if kind != "thumbnail":
            return DeliveryPath(kind)
        params = dict(parse_qsl(query))
        time_s, width = thumbnail_query(params)
        return DeliveryPath(kind, time_s=time_s, width=width)
    tag_match = _TAG.fullmatch(m["tag"])
    if tag_match is None:
        return None
    scheme = _SCHEME_OF_TAG[tag_match[3]] if tag_match[3] else None
    tag = VariantTag(
        int(tag_match[1]), int(tag_match[2]), scheme, int(tag_match[4]) if tag_match[4] else 0
    )
    if m["key"]:
        return DeliveryPath("key", tag) if scheme in ("aes-128", "cbcs") else None
    if m["sheet"]:
        return DeliveryPath("sheet", tag, number=int(m["sheet"]))
    if m["playlist"]:
        return DeliveryPath("playlist", tag, m["playlist"])
    if m["textfile"]:
        return DeliveryPath("text_file", tag, m["textfile"])
    if m["init"]:
        return DeliveryPath("init", tag, m["track"])
    if m["iframes"]:
        return DeliveryPath("iframes", tag, m["track"])
    if m["textseg"]:
        return DeliveryPath("text_segment", tag, m["track"], int(m["textseg"]))
    if m["keyframe"]:
        return DeliveryPath("keyframe", tag, m["track"], int(m["keyframe"]))
    return DeliveryPath("segment", tag, m["track"], int(m["number"]))


# -- public URLs ---------------------------------------------------------------------------
# The one place a delivery URL is spelled with its scheme and host: playback URLs of the API,
# the CLI, /play, webhooks and the demo, policy resources and the cookie path all come from
# these, so they cannot drift apart.
MULTIVARIANT = "index.m3u8"
MPD = "index.mpd"


def asset_prefix(asset_id: str) -> str:
    """``/v1/{assetId}/``: the path every delivery URL of the asset starts with (the signed
    cookies' ``Path``)."""
    return f"/v1/{asset_id}/"


def asset_url(base_url: str, asset_id: str) -> str:
    """``{base_url}/v1/{assetId}``, the asset's delivery base: append ``/`` and a path of the
    layout above. ``base_url`` is the configured public URL, never a request's Host."""
    return f"{base_url}/v1/{asset_id}"


@dataclass(frozen=True, slots=True)
class PlaybackUrls:
    hls: str  # the HLS multivariant playlist
    dash: str  # the DASH MPD

    def to_dict(self) -> dict[str, str]:
        return {"hls": self.hls, "dash": self.dash}


def playback_urls(asset_base: str) -> PlaybackUrls:
    """The HLS and DASH entry points under an asset's delivery base: :func:`asset_url`, or a
    path-token base ``…/v1/{assetId}/t/{token}`` (the manifests' relative URIs carry it on)."""
    return PlaybackUrls(f"{asset_base}/{MULTIVARIANT}", f"{asset_base}/{MPD}")
