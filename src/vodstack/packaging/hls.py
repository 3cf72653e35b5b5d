"""HLS playlists for fMP4/CMAF VOD (RFC 8216), written from a Presentation (pure).

Hand-written on purpose: the format is a few lines per segment, and writing it directly keeps
every tag and attribute under our control (VERSION choice, attribute order, number formats);
the independent ``m3u8`` parser checks the output in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from vodstack.packaging.encryption import aes128_init_iv, aes128_segment_iv, hls_iv
from vodstack.packaging.language import language_name
from vodstack.packaging.layout import (
    VariantTag,
    iframes_uri,
    init_uri,
    media_playlist_uri,
    segment_uri,
    text_segment_uri,
)
from vodstack.packaging.model import Presentation, TextTrack, Track
from vodstack.packaging.segments import (
    ServedSizes,
    average_bitrate,
    index_memo,
    peak_bitrate,
    segment_track,
)

AUDIO_GROUP = "aud"
SUBTITLE_GROUP = "subs"
# EXT-X-MAP in a media playlist needs VERSION 6 [RFC 8216 §4.3.2.5, §7].
VERSION = 6


#: KEYFORMAT of W3C Clear Key (the EME key system name, as hls.js and Shaka expect it).
CLEARKEY_KEYFORMAT = "org.w3.clearkey"


def _quoted(value: str) -> str:
    # Quoted-string values may not contain '"', CR or LF [RFC 8216 §4.2].
    return '"' + value.replace('"', "'").replace("\n", " ").replace("\r", " ") + '"'


def _frame_rate(track: Track) -> str | None:
    fps = track.fps
    return f"{float(fps):.3f}" if fps else None


def target_duration(durations_s: list[float]) -> int:
    """Each EXTINF rounded to the nearest integer must be ≤ TARGETDURATION [§4.3.3.1]."""
    return max((int(d + 0.5) for d in durations_s), default=1) or 1


_CAPTION_CHARACTERISTICS = (
    "public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"
)


def _unique_names(names: list[str]) -> list[str]:
    """NAME must differ between the renditions of a group [RFC 8216 §4.3.4.1.1]."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _audio_media(p: Presentation, tag: VariantTag) -> list[str]:
    """One EXT-X-MEDIA per audio track in one group; exactly one DEFAULT=YES."""
    audios = p.audios
    default = next((a for a in audios if a.is_default), audios[0] if audios else None)
    names = _unique_names([a.label or language_name(a.language) or "Main" for a in audios])
    lines = []
    for audio, name in zip(audios, names, strict=True):
        attrs = ["TYPE=AUDIO", f"GROUP-ID={_quoted(AUDIO_GROUP)}", f"NAME={_quoted(name)}"]
        if audio.language:
            attrs.append(f"LANGUAGE={_quoted(audio.language)}")
        attrs += [f"DEFAULT={'YES' if audio is default else 'NO'}", "AUTOSELECT=YES"]
        if audio.channels:
            attrs.append(f"CHANNELS={_quoted(str(audio.channels))}")
        attrs.append(f"URI={_quoted(media_playlist_uri(tag, audio.track_id))}")
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    return lines


def _subtitle_media(p: Presentation, tag: VariantTag) -> list[str]:
    """WebVTT subtitle renditions [RFC 8216 §4.3.4.1]: URI required, FORCED only here."""
    default = next((t for t in p.texts if t.is_default), None)
    names = _unique_names([t.label for t in p.texts])
    lines = []
    for text, name in zip(p.texts, names, strict=True):
        attrs = ["TYPE=SUBTITLES", f"GROUP-ID={_quoted(SUBTITLE_GROUP)}", f"NAME={_quoted(name)}"]
        if text.language:
            attrs.append(f"LANGUAGE={_quoted(text.language)}")
        attrs += [f"DEFAULT={'YES' if text is default else 'NO'}", "AUTOSELECT=YES"]
        attrs.append(f"FORCED={'YES' if text.forced else 'NO'}")
        if text.kind == "captions":
            attrs.append(f"CHARACTERISTICS={_quoted(_CAPTION_CHARACTERISTICS)}")
        attrs.append(f"URI={_quoted(media_playlist_uri(tag, text.track_id))}")
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    return lines


def multivariant_playlist(
    p: Presentation,
    tag: VariantTag,
    *,
    iframes: bool = True,
    served: ServedSizes | None = None,
    text_rates: tuple[int, int] = (0, 0),
) -> str:
    """Master playlist: one STREAM-INF per video track (H.264 first, then HEVC and AV1 with
    their own CODECS, so a player picks what it decodes), audio and subtitles as EXT-X-MEDIA
    groups, and an I-frame playlist per video track for trick play.

    ``served``: the bytes each segment is served as, per track, when protection makes them
    differ from the stored ones (encrypted segments are larger): BANDWIDTH must cover the
    bytes a player actually downloads [§4.3.4.2]. ``text_rates``: (peak, average) bit rate of
    the largest subtitle rendition's WebVTT segments, which join every variant too."""
    served = served or {}

    def peak(track: Track) -> int:
        segments = segment_track(track, tag.segment_s)
        return peak_bitrate(track, segments, served.get(track.track_id))

    def average(track: Track) -> int:
        return average_bitrate(track, served.get(track.track_id))

    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    audios = p.audios
    audio_peak = max((peak(a) for a in audios), default=0)
    audio_avg = max((average(a) for a in audios), default=0)
    text_peak, text_avg = text_rates if p.texts else (0, 0)
    audio_codecs = list(dict.fromkeys(a.codec for a in audios))
    lines += _audio_media(p, tag)
    lines += _subtitle_media(p, tag)
    for video in p.videos:
        # BANDWIDTH is the peak of the variant *with* its audio and subtitles; CODECS lists
        # the codecs of its media [§4.3.4.2].
        peak_bps = peak(video) + audio_peak + text_peak
        avg = average(video) + audio_avg + text_avg
        codecs = ",".join([video.codec, *audio_codecs])
        attrs = [f"BANDWIDTH={peak_bps}", f"AVERAGE-BANDWIDTH={avg}", f"CODECS={_quoted(codecs)}"]
        if video.width and video.height:
            attrs.append(f"RESOLUTION={video.width}x{video.height}")
        if (rate := _frame_rate(video)) is not None:
            attrs.append(f"FRAME-RATE={rate}")
        if audios:
            attrs.append(f"AUDIO={_quoted(AUDIO_GROUP)}")
        if p.texts:
            attrs.append(f"SUBTITLES={_quoted(SUBTITLE_GROUP)}")
        attrs.append("CLOSED-CAPTIONS=NONE")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(media_playlist_uri(tag, video.track_id))
    if iframes and tag.scheme is None and not p.windowed:
        lines += _iframe_stream_infs(p, tag)
    return "\n".join(lines) + "\n"


def _iframe_stream_infs(p: Presentation, tag: VariantTag) -> list[str]:
    """[RFC 8216 §4.3.4.3] STREAM-INF attributes less FRAME-RATE/AUDIO/SUBTITLES, plus URI.
    BANDWIDTH: the peak rate of I-frame bytes over the time each one stands for."""
    lines = []
    for video in p.videos:
        frames = iframe_ranges(video)
        if not frames:
            continue
        peak, avg = index_memo.get(
            frames, f"rates/{video.timescale}", partial(_iframe_rates, video, frames)
        )
        attrs = [
            f"BANDWIDTH={peak}",
            f"AVERAGE-BANDWIDTH={avg}",
            f"CODECS={_quoted(video.codec)}",
        ]
        if video.width and video.height:
            attrs.append(f"RESOLUTION={video.width}x{video.height}")
        attrs.append(f"URI={_quoted(iframes_uri(tag, video.track_id))}")
        lines.append("#EXT-X-I-FRAME-STREAM-INF:" + ",".join(attrs))
    return lines


def _iframe_rates(video: Track, frames: tuple[tuple[int, int, int, int], ...]) -> tuple[int, int]:
    rates = [size * 8 * video.timescale / dur for _, _, size, dur in frames if dur]
    avg = sum(f[2] for f in frames) * 8 / max(video.duration_s, 0.001)
    return int(max(rates, default=0)) + 1, int(avg) + 1


def iframe_ranges(
    track: Track, segment_s: int | None = None
) -> tuple[tuple[int, int, int, int], ...]:
    """(segment number, offset within that segment, size, duration) of each key frame.

    The fragment index records where each fragment's first (key) sample ends
    (``key_sample_end``): moof + mdat header + that sample is a decodable I-frame
    [RFC 8216 §4.3.3.6; Apple's fMP4 I-frame playlists]. Ranges point into the delivered
    media segments, so I-frame fetches hit the segments the edge already caches.
    """
    if track.kind != "video":
        return ()
    return index_memo.get(
        track.fragments, f"iframes/{segment_s or 2}", lambda: _iframe_ranges(track, segment_s or 2)
    )


def _iframe_ranges(track: Track, segment_s: int) -> tuple[tuple[int, int, int, int], ...]:
    segments = segment_track(track, segment_s)
    out = []
    for seg in segments:
        for index in range(seg.first_fragment, seg.first_fragment + seg.fragment_count):
            frag = track.fragments[index]
            if not frag.starts_with_sap or frag.key_sample_end <= frag.offset:
                continue
            size = frag.key_sample_end - frag.offset
            out.append((seg.number, frag.offset - seg.offset, size, frag.duration))
    return tuple(out)


def iframe_playlist(track: Track, tag: VariantTag) -> str:
    """I-frames-only media playlist: each EXTINF runs to the next key frame, each BYTERANGE
    is one key frame inside a media segment; EXT-X-MAP still names the CMAF header."""
    frames = iframe_ranges(track, tag.segment_s)
    durations = [d / track.timescale for *_, d in frames]
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(durations)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-I-FRAMES-ONLY",
        '#EXT-X-MAP:URI="init.mp4"',
    ]
    for (number, offset, size, _), seconds in zip(frames, durations, strict=True):
        lines.append(f"#EXTINF:{seconds:.6f},")
        lines.append(f"#EXT-X-BYTERANGE:{size}@{offset}")
        lines.append(f"{number}.m4s")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def subtitle_playlist(text: TextTrack, tag: VariantTag, duration_s: float) -> str:
    """WebVTT media playlist: one segment per delivered-segment interval of the title, each
    a standalone WebVTT file [RFC 8216 §3.5]; URIs relative to the tag directory."""
    windows = text_segments(duration_s, tag.segment_s)
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration([(e - s) / 1000 for s, e in windows])}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for number, (start, end) in enumerate(windows, start=1):
        lines.append(f"#EXTINF:{(end - start) / 1000:.3f},")
        lines.append(_relative(text_segment_uri(tag, text.track_id, number)))
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def text_segments(duration_s: float, segment_s: int) -> list[tuple[int, int]]:
    """[start, end) in ms of each subtitle segment: the delivered segment grid."""
    total = max(1, round(duration_s * 1000))
    step = segment_s * 1000
    return [(start, min(start + step, total)) for start in range(0, total, step)]


@dataclass(frozen=True, slots=True)
class HlsKey:
    """How a media playlist's segments are protected [RFC 8216 §4.3.2.4].

    ``AES-128``: every segment is encrypted whole with its own explicit IV (derived from
    ``iv_base``, the segment number and ``track_tag`` so no two resources share an IV under
    one key). The init section is encrypted too: a KEY with the init's own IV precedes the
    EXT-X-MAP [§4.3.2.4: a KEY applies to the MAPs after it; §4.3.2.5: the IV attribute is
    then REQUIRED, the media sequence number being undefined for a header]. A clear header
    behind the map is equally valid, but players that apply the first segment's key to the
    header (GStreamer's hlsdemux/hlsdemux2, GPAC per issue 14) read garbage from it.
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
        # One line per key system for the same key [RFC 8216 §4.3.2.4: tags with different
        # KEYFORMATs apply to the same segments]: "identity" (the key itself at the URI, for
        # players that decrypt in software) and W3C ClearKey (EME: the KID is in the init
        # segment's tenc/pssh, the key comes from the licence server; hls.js picks this line
        # when configured with drmSystems["org.w3.clearkey"]).
        for keyformat in ("identity", CLEARKEY_KEYFORMAT):
            lines.append(
                f"#EXT-X-KEY:METHOD=SAMPLE-AES,URI={_quoted(key.uri)},IV={hls_iv(key.iv_base)},"
                f'KEYFORMAT="{keyformat}",KEYFORMATVERSIONS="1"'
            )
    if key is not None and key.method == "AES-128":
        iv = aes128_init_iv(key.iv_base, key.track_tag)
        lines.append(f"#EXT-X-KEY:METHOD=AES-128,URI={_quoted(key.uri)},IV={hls_iv(iv)}")
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
