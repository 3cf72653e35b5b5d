"""DASH MPD (ISO/IEC 23009-1) for the same CMAF tracks, written from a Presentation (pure).

A static MPD in the ``isoff-live`` profile: every Representation has a ``SegmentTemplate``
with ``$Number$`` URLs and an exact ``SegmentTimeline``, so HLS and DASH request the very same
segment URLs (one cache entry per segment, whatever the protocol) [DASH-IF IOP §3.2].

Why one module: the MPD is one XML document whose parts refer to each other (periods,
adaptation sets, representations, segment templates and timelines, content protection) and
must come out in schema order; writing it in one place keeps it checkable against the
schema in one read (tests/dash_schema.py).
"""

from __future__ import annotations

import base64
import math
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import partial
from typing import Any

from vodstack.packaging.language import language_name
from vodstack.packaging.layout import VariantTag, text_file_uri
from vodstack.packaging.model import Presentation, TextTrack, Track
from vodstack.packaging.segments import (
    Segment,
    ServedSizes,
    index_memo,
    peak_bitrate,
    segment_track,
)

NS = "urn:mpeg:dash:schema:mpd:2011"
CENC_NS = "urn:mpeg:cenc:2013"
DASHIF_NS = "https://dashif.org/CPS"
MP4_PROTECTION = "urn:mpeg:dash:mp4protection:2011"
# DASH-IF ClearKey scheme (licence URL) and the W3C common PSSH system (key ids for the CDM).
CLEARKEY_SCHEME = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"
COMMON_PSSH_SCHEME = "urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"


@dataclass(frozen=True, slots=True)
class DashProtection:
    """Signalling for CENC-protected AdaptationSets [ISO/IEC 23001-7 §11; DASH-IF IOP §7]."""

    scheme: str  # "cenc" | "cbcs"
    kid: bytes
    license_url: str | None  # None: no ClearKey signalling (keys of a commercial DRM)
    # W3C common + any from the key service, whole boxes (the MPD carries only the latter)
    pssh_boxes: tuple[bytes, ...]


def _content_protection(aset: ET.Element, protection: DashProtection) -> None:
    ET.SubElement(
        aset,
        "ContentProtection",
        {
            "schemeIdUri": MP4_PROTECTION,
            "value": protection.scheme,
            f"{{{CENC_NS}}}default_KID": str(uuid.UUID(bytes=protection.kid)),
        },
    )
    if protection.license_url is not None:
        clearkey = ET.SubElement(
            aset, "ContentProtection", schemeIdUri=CLEARKEY_SCHEME, value="ClearKey1.0"
        )
        ET.SubElement(
            clearkey, f"{{{DASHIF_NS}}}Laurl", Lic_type="EME-1.0"
        ).text = protection.license_url
    for box in protection.pssh_boxes:
        system = uuid.UUID(bytes=box[12:28]) if box[8] == 0 or box[8] == 1 else None
        # The W3C common PSSH (1077efec…) is not a key system, so it is no ClearKey signal
        # [DASH-IF IOP 4.3 §7.6.2.4]: it stays in the init segments for the CDM, not here.
        # In an MPD, dash.js takes it for a ClearKey system, prefers it to e2719d58 and calls
        # generateRequest("keyids", <that pssh box>): TypeError, its error 113.
        if system is None or f"urn:uuid:{system}" == COMMON_PSSH_SCHEME:
            continue
        element = ET.SubElement(aset, "ContentProtection", schemeIdUri=f"urn:uuid:{system}")
        ET.SubElement(element, f"{{{CENC_NS}}}pssh").text = base64.b64encode(box).decode()


PROFILE = "urn:mpeg:dash:profile:isoff-live:2011"
CHANNEL_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
ROLE_SCHEME = "urn:mpeg:dash:role:2011"


def xs_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def _timeline(parent: ET.Element, segments: tuple[Segment, ...]) -> None:
    """``<S t d r>`` entries, run-length encoded; ``t`` only where the timeline is not
    contiguous [23009-1 §5.3.9.6]."""
    timeline = ET.SubElement(parent, "SegmentTimeline")
    for start, duration, repeats in index_memo.get(segments, "timeline", lambda: _runs(segments)):
        run = ET.SubElement(timeline, "S")
        if start is not None:
            run.set("t", str(start))
        run.set("d", str(duration))
        if repeats:
            run.set("r", str(repeats))


def _runs(segments: tuple[Segment, ...]) -> tuple[tuple[int | None, int, int], ...]:
    """(t where not contiguous, d, r) per run of equal, contiguous segments."""
    runs: list[list[Any]] = []
    expected: int | None = None
    for seg in segments:
        contiguous = expected is not None and seg.start == expected
        if runs and contiguous and seg.duration == runs[-1][1]:
            runs[-1][2] += 1
        else:
            runs.append([None if contiguous else seg.start, seg.duration, 0])
        expected = seg.start + seg.duration
    return tuple((t, d, r) for t, d, r in runs)


def _template(
    parent: ET.Element, track: Track, tag: VariantTag, segments: tuple[Segment, ...]
) -> None:
    template = ET.SubElement(
        parent,
        "SegmentTemplate",
        timescale=str(track.timescale),
        # Media time that maps to Period start: the edit list's media_time [23009-1 §5.3.9.2].
        presentationTimeOffset=str(track.media_time),
        initialization=f"{tag}/$RepresentationID$/init.mp4",
        media=f"{tag}/$RepresentationID$/$Number$.m4s",
        startNumber="1",
    )
    _timeline(template, segments)


def _video_set(
    period: ET.Element,
    set_id: int,
    videos: tuple[Track, ...],
    tag: VariantTag,
    protection: DashProtection | None,
    served: ServedSizes,
) -> None:
    top = max(videos, key=lambda t: (t.width or 0) * (t.height or 0))
    aset = ET.SubElement(
        period,
        "AdaptationSet",
        id=str(set_id),
        contentType="video",
        mimeType="video/mp4",
        segmentAlignment="true",
        startWithSAP="1",
        maxWidth=str(top.width or 0),
        maxHeight=str(top.height or 0),
    )
    if top.frame_rate:
        aset.set("maxFrameRate", top.frame_rate)
    if protection is not None:
        _content_protection(aset, protection)
    for video in videos:
        segments = segment_track(video, tag.segment_s)
        rep = ET.SubElement(
            aset,
            "Representation",
            id=video.track_id,
            bandwidth=str(peak_bitrate(video, segments, served.get(video.track_id))),
            codecs=video.codec,
            width=str(video.width or 0),
            height=str(video.height or 0),
            sar="1:1",
        )
        if video.frame_rate:
            rep.set("frameRate", video.frame_rate)
        _template(rep, video, tag, segments)


TRICKMODE_SCHEME = "http://dashif.org/guidelines/trickmode"


def _trick_set(
    period: ET.Element, set_id: int, main_id: int, videos: tuple[Track, ...], tag: VariantTag
) -> None:
    """Key-frame-only Representations for fast forward and scrubbing [DASH-IF IOP §3.2.9]:
    fragment n of each rung, cut down to its key frame (packaging/trickplay.py). Players
    without trick-mode support drop the set for its EssentialProperty (ISO/IEC 23009-1
    §5.8.4.8); Shaka uses it for ``trickPlay()``."""
    aset = ET.SubElement(
        period,
        "AdaptationSet",
        id=str(set_id),
        contentType="video",
        mimeType="video/mp4",
        segmentAlignment="true",
        startWithSAP="1",
    )
    ET.SubElement(aset, "EssentialProperty", schemeIdUri=TRICKMODE_SCHEME, value=str(main_id))
    for video in videos:
        frames = [f for f in video.fragments if f.starts_with_sap and f.key_sample_end > f.offset]
        if len(frames) != len(video.fragments) or not frames:
            continue
        peak = max(
            (f.key_sample_end - f.offset) * 8 * video.timescale / f.duration
            for f in frames
            if f.duration
        )
        seconds = frames[0].duration / video.timescale
        rep = ET.SubElement(
            aset,
            "Representation",
            id=f"{video.track_id}k",
            bandwidth=str(int(peak) + 1),
            codecs=video.codec,
            width=str(video.width or 0),
            height=str(video.height or 0),
            sar="1:1",
            frameRate=f"1/{round(seconds)}" if seconds >= 1 else "1",
            maxPlayoutRate=str(max(1, round(seconds * float(video.fps or 30)))),
            codingDependency="false",
        )
        template = ET.SubElement(
            rep,
            "SegmentTemplate",
            timescale=str(video.timescale),
            presentationTimeOffset=str(video.media_time),
            initialization=f"{tag}/{video.track_id}/init.mp4",
            media=f"{tag}/{video.track_id}/k$Number$.m4s",
            startNumber="1",
        )
        _timeline(template, _fragment_segments(video))


def _fragment_segments(track: Track) -> tuple[Segment, ...]:
    """One "segment" per fragment: the trick track's timeline (remembered, like every
    segment list, so its timeline runs are too)."""
    return index_memo.get(
        track.fragments,
        "fragment-segments",
        lambda: tuple(
            Segment(i + 1, f.presentation_time, f.duration, f.offset, f.size, i, 1)
            for i, f in enumerate(track.fragments)
        ),
    )


def _audio_set(
    period: ET.Element,
    set_id: int,
    audio: Track,
    tag: VariantTag,
    protection: DashProtection | None,
    main: bool,
    served: ServedSizes,
) -> None:
    """One AdaptationSet per audio track: languages and channel layouts are not switchable
    [DASH-IF IOP §3.9]; Role main marks the default, alternate the others."""
    aset = ET.SubElement(
        period,
        "AdaptationSet",
        id=str(set_id),
        contentType="audio",
        mimeType="audio/mp4",
        segmentAlignment="true",
        startWithSAP="1",
    )
    if audio.language:
        aset.set("lang", audio.language)
    if protection is not None:
        _content_protection(aset, protection)
    if audio.channels:
        ET.SubElement(
            aset,
            "AudioChannelConfiguration",
            schemeIdUri=CHANNEL_SCHEME,
            value=str(audio.channels),
        )
    role = "main" if main else "alternate"
    ET.SubElement(aset, "Role", schemeIdUri=ROLE_SCHEME, value=role)
    if label := audio.label or language_name(audio.language):
        ET.SubElement(aset, "Label").text = label
    segments = segment_track(audio, tag.segment_s)
    rep = ET.SubElement(
        aset,
        "Representation",
        id=audio.track_id,
        bandwidth=str(peak_bitrate(audio, segments, served.get(audio.track_id))),
        codecs=audio.codec,
    )
    if audio.sample_rate:
        rep.set("audioSamplingRate", str(audio.sample_rate))
    _template(rep, audio, tag, segments)


def _text_set(
    period: ET.Element, set_id: int, text: TextTrack, tag: VariantTag, duration_ms: int
) -> None:
    """Side-loaded WebVTT: the whole file is one segment spanning the Period [DASH-IF IOP
    §6.4.5]. The ``isoff-live`` profile wants every Representation addressed by a segment
    list or template [23009-1 §8.4.2], so the file is the single ``SegmentURL`` of a
    ``SegmentList`` rather than a bare ``BaseURL`` (which GPAC rejects as non-compliant);
    dash.js and Shaka fetch it once either way. Role subtitle/caption, forced-subtitle for
    forced narratives [23009-1 §5.8.5.5]."""
    aset = ET.SubElement(
        period, "AdaptationSet", id=str(set_id), contentType="text", mimeType="text/vtt"
    )
    if text.language:
        aset.set("lang", text.language)
    role = "caption" if text.kind == "captions" else "subtitle"
    if text.forced:
        role = "forced-subtitle"
    ET.SubElement(aset, "Role", schemeIdUri=ROLE_SCHEME, value=role)
    ET.SubElement(aset, "Label").text = text.label
    rep = ET.SubElement(aset, "Representation", id=text.track_id, bandwidth="256")
    segments = ET.SubElement(
        rep, "SegmentList", timescale="1000", duration=str(max(1, duration_ms))
    )
    ET.SubElement(segments, "SegmentURL", media=text_file_uri(tag, text.track_id))


# Child elements of AdaptationSet and Representation in the order of the official schema's
# sequences (ISO/IEC 23009-1 DASH-MPD.xsd: RepresentationBaseType, then AdaptationSetType's
# and RepresentationType's own elements). XML Schema sequences are ordered: a Label after a
# Role, or a ContentProtection before an AudioChannelConfiguration, makes the MPD invalid,
# and strict parsers (TVs, set-top boxes) may drop what they did not expect.
_BASE_ORDER = (
    "FramePacking", "AudioChannelConfiguration", "ContentProtection", "OutputProtection",
    "EssentialProperty", "SupplementalProperty", "InbandEventStream", "Switching",
    "RandomAccess", "GroupLabel", "Label", "ProducerReferenceTime", "ContentPopularityRate",
    "Resync",
)  # fmt: skip
_CHILD_ORDER = {
    "AdaptationSet": (
        *_BASE_ORDER, "Accessibility", "Role", "Rating", "Viewpoint", "ContentComponent",
        "BaseURL", "SegmentBase", "SegmentList", "SegmentTemplate", "Representation",
    ),
    "Representation": (
        *_BASE_ORDER, "BaseURL", "ExtendedBandwidth", "SubRepresentation", "SegmentBase",
        "SegmentList", "SegmentTemplate",
    ),
}  # fmt: skip
_RANK = {
    parent: {name: i for i, name in enumerate(names)} for parent, names in _CHILD_ORDER.items()
}


def _schema_order(element: ET.Element) -> None:
    """Sort ``element``'s children into schema order (stable: repeated elements, e.g. several
    ContentProtection, keep the order they were written in)."""
    rank = _RANK.get(str(element.tag))
    if rank is None or len(element) < 2:
        return
    element[:] = sorted(element, key=lambda child: rank.get(str(child.tag), len(rank)))


def _longest(segments: tuple[Segment, ...]) -> int:
    return max((g.duration for g in segments), default=0)


def _min_buffer_s(p: Presentation, tag: VariantTag) -> float:
    """At least the longest segment (ms, rounded up). With every @bandwidth at or above its
    Representation's peak segment rate, that makes §5.3.5.2 hold: delivered at @bandwidth
    from any segment start, each segment is complete before its playout time once
    minBufferTime × @bandwidth bits are buffered. Segments run a little over the nominal
    duration (AAC frames: 4.011 s), so the nominal duration alone would not do."""
    longest = 0.0
    for track in p.tracks:
        if track.kind in ("video", "audio"):
            segments = segment_track(track, tag.segment_s)
            ticks = index_memo.get(segments, "longest", partial(_longest, segments))
            longest = max(longest, ticks / track.timescale)
    return max(float(tag.segment_s), math.ceil(longest * 1000) / 1000)


def mpd(
    p: Presentation,
    tag: VariantTag,
    protection: DashProtection | None = None,
    *,
    trick_mode: bool = False,
    served: ServedSizes | None = None,
) -> str:
    """Video AdaptationSets per codec (H.264 first; AV1/HEVC sets for players that decode
    them), a key-frame trick-mode set for the H.264 one (clear media only), one set per audio
    track, one per text track. ``served``: bytes per segment as served, per track, where
    protection makes them differ from the stored ones (@bandwidth covers what is downloaded,
    23009-1 §5.3.5.2)."""
    ET.register_namespace("cenc", CENC_NS)
    ET.register_namespace("dashif", DASHIF_NS)
    root = ET.Element(
        "MPD",
        xmlns=NS,
        type="static",
        profiles=PROFILE,
        mediaPresentationDuration=xs_duration(p.duration_s),
        minBufferTime=xs_duration(_min_buffer_s(p, tag)),
    )
    period = ET.SubElement(root, "Period", id="0", start="PT0S", duration=xs_duration(p.duration_s))
    set_id = 0
    for videos in p.video_sets().values():
        _video_set(period, set_id, videos, tag, protection, served or {})
        set_id += 1
    h264 = p.video_sets().get("h264")
    if trick_mode and protection is None and tag.scheme is None and h264 and not p.windowed:
        _trick_set(period, set_id, 0, h264, tag)
        set_id += 1
    default = next((a for a in p.audios if a.is_default), p.audios[0] if p.audios else None)
    for audio in p.audios:
        _audio_set(period, set_id, audio, tag, protection, audio is default, served or {})
        set_id += 1
    for text in p.texts:
        _text_set(period, set_id, text, tag, round(p.duration_s * 1000))
        set_id += 1
    for element in root.iter():
        _schema_order(element)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
