"""HLS playlists for fMP4/CMAF VOD (RFC 8216), written from a Presentation (pure).

Hand-written on purpose: the format is a few lines per segment, and writing it directly keeps
every tag and attribute under our control (VERSION choice, attribute order, number formats);
the independent ``m3u8`` parser checks the output in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from vodstack.packaging.encryption import aes128_segment_iv, hls_iv
from vodstack.packaging.layout import VariantTag, init_uri, media_playlist_uri, segment_uri
from vodstack.packaging.model import Presentation, Track
from vodstack.packaging.segments import average_bitrate, peak_bitrate, segment_track

AUDIO_GROUP = "aud"
# EXT-X-MAP in a media playlist needs VERSION 6 [RFC 8216 §4.3.2.5, §7].
VERSION = 6


def _quoted(value: str) -> str:
    # Quoted-string values may not contain '"', CR or LF [RFC 8216 §4.2].
    return '"' + value.replace('"', "'").replace("\n", " ").replace("\r", " ") + '"'


def _frame_rate(track: Track) -> str | None:
    fps = track.fps
    return f"{float(fps):.3f}" if fps else None


def target_duration(durations_s: list[float]) -> int:
    """Each EXTINF rounded to the nearest integer must be ≤ TARGETDURATION [§4.3.3.1]."""
    return max((int(d + 0.5) for d in durations_s), default=1) or 1


def multivariant_playlist(p: Presentation, tag: VariantTag) -> str:
    """Master playlist: one STREAM-INF per video rung, audio as an EXT-X-MEDIA group."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    audio = p.audios[0] if p.audios else None
    audio_peak = audio_avg = 0
    if audio is not None:
        audio_peak = peak_bitrate(audio, segment_track(audio, tag.segment_s))
        audio_avg = average_bitrate(audio)
        attrs = [
            "TYPE=AUDIO",
            f"GROUP-ID={_quoted(AUDIO_GROUP)}",
            f"NAME={_quoted(audio.language or 'Main')}",
        ]
        if audio.language:
            attrs.append(f"LANGUAGE={_quoted(audio.language)}")
        attrs += ["DEFAULT=YES", "AUTOSELECT=YES"]
        if audio.channels:
            attrs.append(f"CHANNELS={_quoted(str(audio.channels))}")
        attrs.append(f"URI={_quoted(media_playlist_uri(tag, audio.track_id))}")
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    for video in p.videos:
        # BANDWIDTH is the peak of the variant *with* its audio; CODECS lists both [§4.3.4.2].
        peak = peak_bitrate(video, segment_track(video, tag.segment_s)) + audio_peak
        avg = average_bitrate(video) + audio_avg
        codecs = video.codec + (f",{audio.codec}" if audio else "")
        attrs = [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={avg}", f"CODECS={_quoted(codecs)}"]
        if video.width and video.height:
            attrs.append(f"RESOLUTION={video.width}x{video.height}")
        if (rate := _frame_rate(video)) is not None:
            attrs.append(f"FRAME-RATE={rate}")
        if audio is not None:
            attrs.append(f"AUDIO={_quoted(AUDIO_GROUP)}")
        attrs.append("CLOSED-CAPTIONS=NONE")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(media_playlist_uri(tag, video.track_id))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class HlsKey:
    """How a media playlist's segments are protected [RFC 8216 §4.3.2.4].

    ``AES-128``: every segment is encrypted whole with its own explicit IV (derived from
    ``iv_base``, the segment number and ``track_tag`` so no two resources share an IV under
    one key); the init segment stays clear (its EXT-X-MAP precedes the first EXT-X-KEY).
    ``SAMPLE-AES``: CMAF ``cbcs`` media, one key line with the constant IV, before the map.
    """

    method: str  # "AES-128" | "SAMPLE-AES"
    iv_base: bytes
    track_tag: int
    uri: str = "key"  # relative to the playlist: {tag}/key


def media_playlist(track: Track, tag: VariantTag, key: HlsKey | None = None) -> str:
    """VOD media playlist: EXT-X-MAP to the CMAF header, one URI per segment, ENDLIST.

    URIs are relative to this playlist, which lives in the tag directory.
    """
    segments = segment_track(track, tag.segment_s)
    durations = [s.duration / track.timescale for s in segments]
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(durations)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if key is not None and key.method == "SAMPLE-AES":
        lines.append(
            f"#EXT-X-KEY:METHOD=SAMPLE-AES,URI={_quoted(key.uri)},IV={hls_iv(key.iv_base)},"
            'KEYFORMAT="identity",KEYFORMATVERSIONS="1"'
        )
    lines.append(f"#EXT-X-MAP:URI={_quoted(_relative(init_uri(tag, track.track_id)))}")
    for seg, seconds in zip(segments, durations, strict=True):
        if key is not None and key.method == "AES-128":
            iv = aes128_segment_iv(key.iv_base, seg.number, key.track_tag)
            lines.append(f"#EXT-X-KEY:METHOD=AES-128,URI={_quoted(key.uri)},IV={hls_iv(iv)}")
        # Three decimals at least so rounding does not accumulate drift [§4.3.2.1].
        lines.append(f"#EXTINF:{seconds:.6f},")
        lines.append(_relative(segment_uri(tag, track.track_id, seg.number)))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _relative(uri_from_asset_root: str) -> str:
    """Strip the tag directory: media playlists live inside it."""
    return uri_from_asset_root.split("/", 1)[1]
