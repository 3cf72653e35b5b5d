"""RFC 8216 rules, checked on what a server really delivers (pure: text and bytes in,
violations out). An independent checker: it shares no code with the HLS writer, only the
ISO-BMFF reader it uses to read sample flags.

Each rule returns a list of violations (empty = conforms), each naming the playlist and the
section it breaks, so a failing test says what is wrong without a debugger.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from vodstack.packaging.track_index import read_track_index_bytes

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^",]*)')


def attributes(line: str) -> dict[str, str]:
    """An attribute-list [§4.2] as a dict; quoted-string values lose their quotes."""
    _, _, rest = line.partition(":")
    return {k: v.strip('"') for k, v in _ATTRIBUTE.findall(rest)}


@dataclass(frozen=True)
class Key:
    """The EXT-X-KEY in force [§4.3.2.4]."""

    method: str
    uri: str | None = None
    iv: str | None = None


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float
    extinf: str  # the EXTINF duration as written (integer or decimal-floating-point)
    key: Key | None
    byterange: str | None = None
    size: int = 0  # bytes served for it (filled in by the fetcher)


@dataclass
class MediaPlaylist:
    uri: str
    text: str
    target_duration: int | None
    segments: list[Segment]
    map_uri: str | None = None
    map_key: Key | None = None  # the key in force at the EXT-X-MAP
    iframes_only: bool = False
    init: bytes = b""  # the clear Media Initialization Section (filled in by the fetcher)
    bodies: list[bytes] = field(default_factory=list)  # clear segment bytes (video only)


def parse_media_playlist(uri: str, text: str) -> MediaPlaylist:
    """A media playlist, line by line [§4.3.2, §4.3.3]; ignores tags no rule here needs."""
    segments: list[Segment] = []
    target = None
    key: Key | None = None
    pending: dict[str, str] = {}
    playlist = MediaPlaylist(uri, text, None, segments)
    for line in (x.strip() for x in text.splitlines()):
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-KEY:"):
            attrs = attributes(line)
            key = None if attrs["METHOD"] == "NONE" else Key(attrs["METHOD"], attrs.get("URI"))
            if key is not None:
                key = Key(key.method, key.uri, attrs.get("IV"))
        elif line.startswith("#EXT-X-MAP:"):
            playlist.map_uri = attributes(line)["URI"]
            playlist.map_key = key
        elif line == "#EXT-X-I-FRAMES-ONLY":
            playlist.iframes_only = True
        elif line.startswith("#EXTINF:"):
            pending["extinf"] = line.split(":", 1)[1].split(",", 1)[0]
        elif line.startswith("#EXT-X-BYTERANGE:"):
            pending["byterange"] = line.split(":", 1)[1]
        elif line and not line.startswith("#"):
            extinf = pending.pop("extinf")
            segments.append(
                Segment(line, float(extinf), extinf, key, pending.pop("byterange", None))
            )
    playlist.target_duration = target
    return playlist


@dataclass(frozen=True)
class Variant:
    attrs: dict[str, str]
    uri: str
    iframe: bool = False


@dataclass(frozen=True)
class Rendition:
    attrs: dict[str, str]

    @property
    def uri(self) -> str | None:
        return self.attrs.get("URI")


@dataclass
class Multivariant:
    text: str
    variants: list[Variant]
    renditions: list[Rendition]


def parse_multivariant(text: str) -> Multivariant:
    """STREAM-INF (+ the URI line after it), I-FRAME-STREAM-INF and MEDIA tags [§4.3.4]."""
    variants: list[Variant] = []
    renditions: list[Rendition] = []
    lines = [x.strip() for x in text.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            variants.append(Variant(attributes(line), lines[i + 1]))
        elif line.startswith("#EXT-X-I-FRAME-STREAM-INF:"):
            attrs = attributes(line)
            variants.append(Variant(attrs, attrs["URI"], iframe=True))
        elif line.startswith("#EXT-X-MEDIA:"):
            renditions.append(Rendition(attributes(line)))
    return Multivariant(text, variants, renditions)


def _round_half_up(seconds: float) -> int:
    return int(Decimal(repr(seconds)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------------- rules


def target_duration_rule(p: MediaPlaylist) -> list[str]:
    """§4.3.3.1: each EXTINF, rounded to the nearest integer, ≤ EXT-X-TARGETDURATION."""
    if p.target_duration is None:
        return [f"{p.uri}: no EXT-X-TARGETDURATION (§4.3.3.1 REQUIRED)"]
    return [
        f"{p.uri}: segment {s.uri} EXTINF {s.extinf} rounds to {_round_half_up(s.duration)} "
        f"> TARGETDURATION {p.target_duration} (§4.3.3.1)"
        for s in p.segments
        if _round_half_up(s.duration) > p.target_duration
    ]


def required_version(text: str) -> tuple[int, list[str]]:
    """The lowest EXT-X-VERSION that covers the features a playlist uses [§7], with why."""
    needs: list[tuple[int, str]] = [(1, "base")]
    iframes_only = "#EXT-X-I-FRAMES-ONLY" in text
    for line in (x.strip() for x in text.splitlines()):
        if line.startswith("#EXT-X-KEY:") or line.startswith("#EXT-X-SESSION-KEY:"):
            attrs = attributes(line)
            if "IV" in attrs:
                needs.append((2, "IV attribute"))
            if "KEYFORMAT" in attrs or "KEYFORMATVERSIONS" in attrs:
                needs.append((5, "KEYFORMAT/KEYFORMATVERSIONS"))
            if attrs.get("METHOD") == "SAMPLE-AES":
                needs.append((5, "METHOD=SAMPLE-AES"))
        elif line.startswith("#EXTINF:") and "." in line.split(":", 1)[1].split(",", 1)[0]:
            needs.append((3, "decimal-floating-point EXTINF"))
        elif line.startswith("#EXT-X-BYTERANGE:"):
            needs.append((4, "EXT-X-BYTERANGE"))
        elif line == "#EXT-X-I-FRAMES-ONLY":
            needs.append((4, "EXT-X-I-FRAMES-ONLY"))
        elif line.startswith("#EXT-X-MAP:"):
            needs.append(
                (5, "EXT-X-MAP in an I-frames-only playlist") if iframes_only else (6, "EXT-X-MAP")
            )
        elif line.startswith("#EXT-X-MEDIA:") and 'INSTREAM-ID="SERVICE' in line:
            needs.append((7, "INSTREAM-ID SERVICEn"))
    top = max(v for v, _ in needs)
    return top, [why for v, why in needs if v == top]


def version_rule(uri: str, text: str) -> list[str]:
    """§7 / §4.3.1.2: the declared EXT-X-VERSION covers every feature used."""
    declared = [
        int(x.split(":", 1)[1]) for x in text.splitlines() if x.startswith("#EXT-X-VERSION:")
    ]
    if len(declared) > 1:
        return [f"{uri}: {len(declared)} EXT-X-VERSION tags (§4.3.1.2: at most one)"]
    version = declared[0] if declared else 1
    needed, why = required_version(text)
    if version < needed:
        return [
            f"{uri}: EXT-X-VERSION {version} but {', '.join(sorted(set(why)))} need {needed} (§7)"
        ]
    return []


def peak_segment_bit_rate(p: MediaPlaylist) -> float:
    """§4.1 (definition): the largest bit rate of any contiguous set of segments whose total
    duration is between 0.5 and 1.5 times the target duration (bits / seconds)."""
    target = p.target_duration or 0
    best = 0.0
    segs = p.segments
    for start in range(len(segs)):
        size, seconds = 0, 0.0
        for s in segs[start:]:
            size += s.size
            seconds += s.duration
            if seconds > 1.5 * target:
                break
            if seconds >= 0.5 * target and seconds > 0:
                best = max(best, size * 8 / seconds)
    return best


def average_segment_bit_rate(p: MediaPlaylist) -> float:
    seconds = sum(s.duration for s in p.segments)
    return sum(s.size for s in p.segments) * 8 / seconds if seconds else 0.0


ALL_GROUPS = ("AUDIO", "VIDEO", "SUBTITLES")


def _group_rates(
    m: Multivariant,
    playlists: Mapping[str, MediaPlaylist],
    variant: Variant,
    rate: Callable[[MediaPlaylist], float],
    groups: tuple[str, ...] = ALL_GROUPS,
) -> tuple[float, list[str]]:
    """The largest rate over the renditions of each group the variant names (AUDIO, VIDEO,
    SUBTITLES): 'any playable combination of Renditions' [§4.3.4.2]."""
    total, parts = 0.0, []
    for attr in groups:
        group = variant.attrs.get(attr)
        if group is None:
            continue
        uris = [
            r.uri
            for r in m.renditions
            if r.attrs.get("TYPE") == ("SUBTITLES" if attr == "SUBTITLES" else attr)
            and r.attrs.get("GROUP-ID") == group
            and r.uri
        ]
        if uris:
            best = max(rate(playlists[u]) for u in uris)
            total += best
            parts.append(f"{attr.lower()} {best:.0f}")
    return total, parts


def bandwidth_rule(
    m: Multivariant,
    playlists: Mapping[str, MediaPlaylist],
    groups: tuple[str, ...] = ALL_GROUPS,
) -> list[str]:
    """§4.3.4.2: BANDWIDTH ≥ the largest sum of peak segment bit rates of any playable
    combination of the variant and its renditions (every segment exists: VOD). ``groups``
    narrows the renditions counted (the spec counts them all, subtitles included)."""
    out = []
    for v in m.variants:
        measured = peak_segment_bit_rate(playlists[v.uri])
        parts = [f"variant {measured:.0f}"]
        if not v.iframe:
            extra, more = _group_rates(m, playlists, v, peak_segment_bit_rate, groups)
            measured += extra
            parts += more
        declared = int(v.attrs["BANDWIDTH"])
        if declared < measured:
            out.append(
                f"{v.uri}: BANDWIDTH {declared} < measured peak {measured:.0f} b/s "
                f"({', '.join(parts)}) (§4.3.4.2)"
            )
    return out


def average_bandwidth_rule(
    m: Multivariant, playlists: Mapping[str, MediaPlaylist], tolerance: float = 0.10
) -> list[str]:
    """§4.3.4.2: AVERAGE-BANDWIDTH is the largest sum of average segment bit rates; here
    it must be present and within ``tolerance`` of what the served bytes measure."""
    out = []
    for v in m.variants:
        if "AVERAGE-BANDWIDTH" not in v.attrs:
            out.append(f"{v.uri}: no AVERAGE-BANDWIDTH")
            continue
        measured = average_segment_bit_rate(playlists[v.uri])
        if not v.iframe:
            measured += _group_rates(m, playlists, v, average_segment_bit_rate)[0]
        declared = int(v.attrs["AVERAGE-BANDWIDTH"])
        if abs(declared - measured) > tolerance * measured:
            out.append(
                f"{v.uri}: AVERAGE-BANDWIDTH {declared} is {declared / measured - 1:+.1%} off "
                f"the measured {measured:.0f} b/s (allowed ±{tolerance:.0%})"
            )
    return out


_VIDEO_CODECS = ("avc1", "avc3", "hvc1", "hev1", "av01", "vp09", "dvh1", "dvhe")


def stream_inf_rule(m: Multivariant) -> list[str]:
    """§4.3.4.2: CODECS on every variant listing the audio codecs of its AUDIO group too;
    RESOLUTION on video variants; FRAME-RATE on video STREAM-INF (SHOULD; Apple REQUIRED)."""
    out = []
    for v in m.variants:
        codecs = v.attrs.get("CODECS", "")
        if not codecs:
            out.append(f"{v.uri}: no CODECS")
            continue
        listed = {c.strip().split(".")[0] for c in codecs.split(",")}
        if not listed & set(_VIDEO_CODECS):
            continue  # an audio-only variant: RESOLUTION/FRAME-RATE do not apply
        if not re.fullmatch(r"\d+x\d+", v.attrs.get("RESOLUTION", "")):
            out.append(f"{v.uri}: video variant without RESOLUTION")
        if not v.iframe and not re.fullmatch(r"\d+(\.\d{1,3})?", v.attrs.get("FRAME-RATE", "")):
            out.append(f"{v.uri}: video variant without a FRAME-RATE of ≤ 3 decimals")
        group = v.attrs.get("AUDIO")
        if group and not v.iframe and not listed - set(_VIDEO_CODECS):
            out.append(f"{v.uri}: CODECS {codecs!r} lists no audio codec for group {group}")
    return out


def alignment_rule(playlists: Iterable[MediaPlaylist], tolerance_s: float = 0.05) -> list[str]:
    """Segment boundaries aligned across renditions (Apple authoring spec; what lets a
    player switch variants and keep audio and subtitles in step): the same count and
    cumulative EXTINF boundaries, within ``tolerance_s`` (AAC frames do not divide 2 s)."""
    lists = [p for p in playlists if not p.iframes_only]
    if not lists:
        return []
    ref = lists[0]
    ref_edges = _edges(ref)
    out = []
    for p in lists[1:]:
        edges = _edges(p)
        if len(edges) != len(ref_edges):
            out.append(f"{p.uri}: {len(edges)} segments, {ref.uri} has {len(ref_edges)}")
            continue
        worst = max((abs(a - b) for a, b in zip(edges, ref_edges, strict=True)), default=0)
        if worst > tolerance_s:
            out.append(f"{p.uri}: a segment boundary is {worst:.3f} s off {ref.uri}'s")
    return out


def _edges(p: MediaPlaylist) -> list[float]:
    edges, t = [], 0.0
    for s in p.segments:
        t += s.duration
        edges.append(t)
    return edges


def keyframe_rule(p: MediaPlaylist) -> list[str]:
    """Every media segment of a video playlist starts with a sync sample (§4.3.5.1
    EXT-X-INDEPENDENT-SEGMENTS; Apple: segments start with an IDR): the first sample of
    the first fragment has sample_is_non_sync_sample clear (ISO/IEC 14496-12 §8.8.3.1).
    Reads the clear bytes; SAMPLE-AES (cbcs) leaves the boxes and flags clear anyway."""
    if not p.bodies:
        return []  # renditions and I-frame playlists: the fetcher keeps no bodies
    out = []
    for segment, body in zip(p.segments, p.bodies, strict=True):
        index = read_track_index_bytes(p.init + body)
        if index.kind != "video":
            return []
        if not index.fragments[0].starts_with_sap:
            out.append(f"{p.uri}: segment {segment.uri} does not start with a key frame")
    return out
