"""Probe and validate a master before any transcoding (PyAV; the FFmpeg wheel has no ffprobe).

Validation answers one question for the uploader in plain words: can this file become a
video asset? It must be a recognised container with a video stream that actually decodes,
moving pictures (not a still image), a positive duration within the configured limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vodstack.errors import SourceInvalid

# Containers/codecs that hold pictures, not video: a "video" of one frame is a still image.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "gif", "tiff_pipe"}
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "webp", "tiff", "gif"}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    frame_rate: str  # exact, as "num/den" or an integer string
    pix_fmt: str | None


@dataclass(frozen=True, slots=True)
class AudioInfo:
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the pipeline needs to know about a master."""

    container: str
    duration: float
    video: VideoInfo
    audio: AudioInfo | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.video.frame_rate)


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


def probe(path: Path, *, max_duration_s: float) -> SourceInfo:
    """Open ``path`` and describe it, or raise SourceInvalid with a reason a person understands."""
    if path.stat().st_size == 0:
        raise SourceInvalid("the uploaded file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _looks_like_mp4(path) and not _has_top_level_box(path, b"moov"):
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


def _looks_like_mp4(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head[4:8] in (b"ftyp", b"wide", b"mdat", b"free", b"moov")


def _has_top_level_box(path: Path, box: bytes, max_boxes: int = 10_000) -> bool:
    """Walk top-level ISO-BMFF box headers (cheap: a few reads) looking for ``box``."""
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as fh:
        for _ in range(max_boxes):
            if offset + 8 > size:
                return False
            fh.seek(offset)
            header = fh.read(16)
            length, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if kind == box:
                return True
            if length == 1 and len(header) == 16:
                length = int.from_bytes(header[8:16], "big")
            if length < 8:
                return False
            offset += length
    return False


def _describe(container: av.container.InputContainer, max_duration_s: float) -> SourceInfo:
    videos = [s for s in container.streams.video if s.codec_context is not None]
    audios = list(container.streams.audio)
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
    fps = _frame_rate(video)
    if fps is None:
        raise SourceInvalid("the video stream has no usable frame rate")
    duration = _duration(container, video)
    _check_decodes(container, video)
    if duration <= 0:
        raise SourceInvalid("the video has zero duration")
    if duration > max_duration_s:
        raise SourceInvalid(
            f"the video is {duration:.0f} s long; the limit is {max_duration_s:.0f} s"
        )
    audio = None
    if audios:
        a = _default_stream(audios)
        channels = a.codec_context.layout.nb_channels if a.codec_context.layout else 0
        audio = AudioInfo(a.codec_context.name, channels, a.codec_context.sample_rate or 0)
    return SourceInfo(
        container=container.format.name,
        duration=round(duration, 6),
        video=VideoInfo(codec, width, height, str(fps), video.codec_context.pix_fmt),
        audio=audio,
    )


def _default_stream(streams: list) -> Any:
    """The stream marked default by the container, else the first (sources with several)."""
    for stream in streams:
        if stream.disposition & av.stream.Disposition.default:
            return stream
    return streams[0]


def _check_decodes(container: av.container.InputContainer, stream: av.stream.Stream) -> None:
    """Decode the first frames: a header that parses is not proof the pictures do."""
    frames = 0
    try:
        for packet in container.demux(stream):
            for _frame in packet.decode():
                frames += 1
                if frames >= 2:
                    return
            if packet.pos is not None and packet.pos > 64 * 1024 * 1024 and frames:
                return
    except av.error.FFmpegError as exc:
        if frames:
            return
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
