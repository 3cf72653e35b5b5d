"""Probe and validate a master before any transcoding (PyAV; the FFmpeg wheel has no ffprobe).

Validation answers one question for the uploader in plain words: can this file become a
video asset? It must be a recognised container with a video stream that actually decodes,
moving pictures (not a still image), a positive duration within the configured limit.

The probe also records what real-world masters carry and the ladder must undo (issue #8):
rotation metadata (phone video), non-square pixels, interlacing, 10-bit and HDR transfer
functions, several video streams (the default one is used; cover art is ignored), every
audio stream with its language and channel count, and text subtitle streams.

Why one module: every check reads the same one PyAV open of the master (streams, side data,
the first decoded frames), and the uploader's error messages are worded together so each
names the one thing to fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av

from vodstack.errors import SourceInvalid
from vodstack.ingest.container import has_top_level_box, looks_like_mp4, opened, source_size
from vodstack.packaging import language_tag

# Containers/codecs that hold pictures, not video: a "video" of one frame is a still image.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "gif", "tiff_pipe"}
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "webp", "tiff", "gif"}
# Largest picture accepted: DCI 8K, also H.264 level 6.2's frame-size limit (139,264 macro-
# blocks). A few hundred KB of flat 8192x8192 frames otherwise cost ~1 GB of RAM per decode:
# a decompression bomb (measured: tests/reliability/test_bad_inputs.py).
MAX_SOURCE_PIXELS = 8192 * 4320
# Text subtitle codecs FFmpeg converts to WebVTT; bitmap ones (DVD, PGS) would need OCR.
TEXT_SUBTITLE_CODECS = {"mov_text", "subrip", "srt", "webvtt", "ass", "ssa", "text"}
# AVColorTransferCharacteristic values (libavutil/pixfmt.h): the HDR transfer functions.
_TRANSFERS = {16: "pq", 18: "hlg"}
# AVFieldOrder: TT, BB, TB, BT are interlaced (libavcodec/defs.h).
_INTERLACED_FIELD_ORDERS = {2, 3, 4, 5}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    codec: str
    width: int  # coded picture size
    height: int
    frame_rate: str  # exact, as "num/den" or an integer string
    pix_fmt: str | None
    index: int = 0  # among the container's video streams (FFmpeg ``0:v:N``)
    rotation: int = 0  # display matrix, degrees
    sar: str = "1:1"  # sample (pixel) aspect ratio
    interlaced: bool = False
    bit_depth: int = 8
    transfer: str | None = None  # "pq" | "hlg" | None (SDR)
    display_width: int = 0  # as shown: pixel aspect and rotation applied
    display_height: int = 0

    @property
    def hdr(self) -> bool:
        return self.transfer is not None


@dataclass(frozen=True, slots=True)
class AudioInfo:
    codec: str
    channels: int
    sample_rate: int
    index: int = 0  # among the container's audio streams (FFmpeg ``0:a:N``)
    language: str | None = None  # RFC 5646
    title: str | None = None
    default: bool = False


@dataclass(frozen=True, slots=True)
class SubtitleInfo:
    codec: str
    index: int  # among the container's subtitle streams (FFmpeg ``0:s:N``)
    language: str | None = None
    title: str | None = None
    default: bool = False
    forced: bool = False


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the pipeline needs to know about a master."""

    container: str
    duration: float
    video: VideoInfo
    audio: AudioInfo | None  # the default audio stream
    audios: tuple[AudioInfo, ...] = ()  # every audio stream, default first
    subtitles: tuple[SubtitleInfo, ...] = ()  # text subtitle streams
    video_streams: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceInfo:
        """The inverse of :meth:`to_json` (the catalogue keeps it: background steps plan
        from it without probing the master again)."""
        audio = data.get("audio")
        return cls(
            container=data["container"],
            duration=data["duration"],
            video=VideoInfo(**data["video"]),
            audio=AudioInfo(**audio) if audio else None,
            audios=tuple(AudioInfo(**a) for a in data.get("audios") or ()),
            subtitles=tuple(SubtitleInfo(**t) for t in data.get("subtitles") or ()),
            video_streams=data.get("video_streams", 1),
        )

    @property
    def fps(self) -> Fraction:
        return Fraction(self.video.frame_rate)

    @property
    def display_size(self) -> tuple[int, int]:
        v = self.video
        return (v.display_width or v.width, v.display_height or v.height)


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 300:
            return Fraction(rate).limit_denominator(1001)
    return None


def _duration(container: av.container.InputContainer, stream: av.stream.Stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def probe(source: Path | BinaryIO, *, max_duration_s: float) -> SourceInfo:
    """Open ``source`` (a file, or a seekable stream of one: a master in S3) and describe it,
    or raise SourceInvalid with a reason a person understands."""
    if source_size(source) == 0:
        raise SourceInvalid("the uploaded file is empty")
    try:
        if isinstance(source, Path):
            container = av.open(str(source), metadata_errors="ignore")
        else:
            source.seek(0)
            container = av.open(source, metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        with opened(source) as fh:
            truncated = looks_like_mp4(fh) and not has_top_level_box(fh, b"moov")
        if truncated:
            raise SourceInvalid(
                "the MP4/MOV file is incomplete: its index (the 'moov' box) is missing, so the "
                "upload was probably truncated; upload the complete file"
            ) from exc
        raise SourceInvalid(
            "not a recognised video file: it could not be opened as a media container "
            f"({exc.strerror or type(exc).__name__}); upload an MP4 or MOV master"
        ) from exc
    with container:
        return _describe(container, max_duration_s)


def check_duration(duration: float, max_duration_s: float) -> None:
    """The configured limit on a master's length (also re-checked by a job planning from a
    probe stored at ingest: the limit may have been lowered since)."""
    if duration > max_duration_s:
        raise SourceInvalid(
            f"the video is {duration:.0f} s long; the limit is {max_duration_s:.0f} s"
        )


def _describe(container: av.container.InputContainer, max_duration_s: float) -> SourceInfo:
    all_videos = list(container.streams.video)
    # Cover art / thumbnails are "video" streams of one picture: never the programme.
    videos = [
        s
        for s in all_videos
        if s.codec_context is not None and not s.disposition & av.stream.Disposition.attached_pic
    ]
    audios = list(container.streams.audio)
    if not videos and any(s.codec_context is None for s in all_videos):
        # FFmpeg found a video stream but has no decoder for its codec: say so, rather than
        # "audio only" (tests/reliability/corpus.py, unsupported_codec).
        raise SourceInvalid(
            "the video stream uses a codec that cannot be decoded; export the master as "
            "H.264, HEVC, VP9, AV1 or ProRes"
        )
    if not videos:
        found = "audio only" if audios else "no audio or video streams"
        raise SourceInvalid(f"the file has no video stream ({found}); upload a video master")
    video = _default_stream(videos)
    codec = video.codec_context.name
    if container.format.name in _IMAGE_FORMATS or (
        codec in _IMAGE_CODECS and (video.frames or 0) <= 1
    ):
        raise SourceInvalid(f"the file is a still image ({codec}), not a video")
    width, height = video.codec_context.width, video.codec_context.height
    if not width or not height:
        raise SourceInvalid("the video stream has no picture size; the file may be damaged")
    if width * height > MAX_SOURCE_PIXELS:
        raise SourceInvalid(
            f"the picture is {width}x{height} ({width * height / 1e6:.0f} megapixels); the "
            f"largest supported is {MAX_SOURCE_PIXELS / 1e6:.0f} megapixels (8192x4320, 8K)"
        )
    fps = _frame_rate(video)
    if fps is None:
        raise SourceInvalid("the video stream has no usable frame rate")
    duration = _duration(container, video)
    first = _check_decodes(container, video)
    if duration <= 0:
        raise SourceInvalid("the video has zero duration")
    check_duration(duration, max_duration_s)
    audio_infos = [_audio_info(a, i) for i, a in enumerate(audios)]
    default_audio = _default_stream(audios) if audios else None
    audio = audio_infos[audios.index(default_audio)] if default_audio is not None else None
    ordered = tuple([audio] if audio else []) + tuple(a for a in audio_infos if a is not audio)
    return SourceInfo(
        container=container.format.name,
        duration=round(duration, 6),
        video=_video_info(video, all_videos.index(video), fps, first),
        audio=audio,
        audios=ordered,
        subtitles=_subtitles(container),
        video_streams=len(videos),
    )


def _video_info(
    stream: av.video.stream.VideoStream, index: int, fps: Fraction, first: _FirstFrames
) -> VideoInfo:
    cc = stream.codec_context
    width, height = cc.width, cc.height
    sar = stream.sample_aspect_ratio or cc.sample_aspect_ratio
    sar = Fraction(sar) if sar and sar > 0 else Fraction(1)
    if not Fraction(1, 4) <= sar <= 4:  # nonsense metadata: trust the pixels
        sar = Fraction(1)
    display_w, display_h = round(width * sar), height
    if first.rotation % 180:
        display_w, display_h = display_h, display_w
    field_order = getattr(cc, "field_order", 0) or 0
    return VideoInfo(
        codec=cc.name,
        width=width,
        height=height,
        frame_rate=str(fps),
        pix_fmt=cc.pix_fmt,
        index=index,
        rotation=first.rotation,
        sar=f"{sar.numerator}:{sar.denominator}",
        interlaced=first.interlaced or field_order in _INTERLACED_FIELD_ORDERS,
        bit_depth=first.bit_depth,
        transfer=_TRANSFERS.get(first.transfer or cc.color_trc or 0),
        display_width=display_w,
        display_height=display_h,
    )


def _title(stream: av.stream.Stream) -> str | None:
    meta = stream.metadata or {}
    title = meta.get("title") or meta.get("name") or meta.get("handler_name")
    if not title or title in ("SoundHandler", "SubtitleHandler", "VideoHandler"):
        return None
    return str(title)[:100]


def _language(stream: av.stream.Stream) -> str | None:
    return language_tag((stream.metadata or {}).get("language") or stream.language)


def _audio_info(stream: av.audio.stream.AudioStream, index: int) -> AudioInfo:
    cc = stream.codec_context
    channels = cc.layout.nb_channels if cc.layout else 0
    return AudioInfo(
        codec=cc.name,
        channels=channels,
        sample_rate=cc.sample_rate or 0,
        index=index,
        language=_language(stream),
        title=_title(stream),
        default=bool(stream.disposition & av.stream.Disposition.default),
    )


def _subtitles(container: av.container.InputContainer) -> tuple[SubtitleInfo, ...]:
    found = []
    for index, stream in enumerate(container.streams.subtitles):
        codec = stream.codec_context.name if stream.codec_context else ""
        if codec not in TEXT_SUBTITLE_CODECS:
            continue  # bitmap subtitles (dvd_subtitle, hdmv_pgs_subtitle) cannot become text
        disposition = stream.disposition
        found.append(
            SubtitleInfo(
                codec=codec,
                index=index,
                language=_language(stream),
                title=_title(stream),
                default=bool(disposition & av.stream.Disposition.default),
                forced=bool(disposition & av.stream.Disposition.forced),
            )
        )
    return tuple(found)


def probe_audio(path: Path, *, max_duration_s: float) -> AudioInfo:
    """Validate a separately uploaded audio track: it must hold a decodable audio stream."""
    if path.stat().st_size == 0:
        raise SourceInvalid("the uploaded audio file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise SourceInvalid(
            "not a recognised audio file: it could not be opened as a media container "
            f"({exc.strerror or type(exc).__name__})"
        ) from exc
    with container:
        audios = list(container.streams.audio)
        if not audios:
            raise SourceInvalid("the file has no audio stream")
        stream = _default_stream(audios)
        if container.duration and container.duration / av.time_base > max_duration_s:
            raise SourceInvalid("the audio is longer than the longest master allowed")
        try:
            decoded = next((f for p in container.demux(stream) for f in p.decode()), None)
        except av.error.FFmpegError as exc:
            raise SourceInvalid(
                f"the audio stream could not be decoded ({exc.strerror or type(exc).__name__})"
            ) from exc
        if decoded is None:
            raise SourceInvalid("no audio could be decoded from the file")
        return _audio_info(stream, audios.index(stream))


def _default_stream(streams: list) -> Any:
    """The stream marked default by the container, else the first (sources with several)."""
    for stream in streams:
        if stream.disposition & av.stream.Disposition.default:
            return stream
    return streams[0]


@dataclass(frozen=True, slots=True)
class _FirstFrames:
    """What only decoded pictures tell: rotation, interlacing, bit depth, transfer."""

    rotation: int = 0
    interlaced: bool = False
    bit_depth: int = 8
    transfer: int | None = None


def _frame_facts(frame: av.VideoFrame) -> _FirstFrames:
    rotation = round(getattr(frame, "rotation", 0) or 0) % 360
    components = frame.format.components
    depth = components[0].bits if components else 8
    return _FirstFrames(rotation, bool(frame.interlaced_frame), depth, frame.color_trc or None)


def _check_decodes(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> _FirstFrames:
    """Decode the first frames: a header that parses is not proof the pictures do."""
    frames = 0
    facts = _FirstFrames()
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                frames += 1
                if frames == 1:
                    facts = _frame_facts(frame)
                elif frame.interlaced_frame and not facts.interlaced:
                    facts = _FirstFrames(facts.rotation, True, facts.bit_depth, facts.transfer)
                if frames >= 2:
                    return facts
            if packet.pos is not None and packet.pos > 64 * 1024 * 1024 and frames:
                return facts
    except av.error.FFmpegError as exc:
        if frames:
            return facts
        raise SourceInvalid(
            f"the video stream could not be decoded ({exc.strerror or type(exc).__name__}); "
            "the file may be truncated or damaged"
        ) from exc
    if frames == 0:
        raise SourceInvalid(
            "no video frame could be decoded; the file may be truncated (for example an MP4 "
            "whose upload stopped before the end) or damaged"
        )
    if frames == 1:
        raise SourceInvalid("the file holds a single picture, not a video")
    return facts
