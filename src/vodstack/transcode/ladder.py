"""Plan the ABR ladder for one source: a pure function of the source and the template.

Rules (issue #2): rungs from the template that do not exceed the source height (never
upscale); always at least one rung; a source between template rungs gets a top rung at its
own height so its full quality is kept; widths keep the display aspect ratio, rounded to even
numbers because H.264 4:2:0 needs even dimensions.

Issue #8 adds: a top-rung cap (``max_height``: no 4K rung nobody watches); portrait sources
planned on their short side (a 1080×1920 phone video gets a "1080p" rung of 1080×1920, not a
608×1080 one); AV1/HEVC renditions beside every H.264 rung; rate control per template (capped
CRF, fixed bitrate, or per-title caps); every audio stream, uploaded audio tracks and 5.1
kept as a second rendition; text subtitle streams extracted as WebVTT; and the source filters
real-world masters need before scaling (deinterlace, HDR → SDR tone mapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from vodstack.config import RungTemplate
from vodstack.packaging import language_name

# A source within this factor above the top fitting rung gets no extra rung of its own:
# a 1088-line source is a 1080p source, not a reason for a 1088p rung.
_NATIVE_RUNG_MARGIN = 1.15
# Track-id suffix per codec: "v720" (H.264), "v720av1", "v720hevc".
CODEC_SUFFIX = {"h264": "", "av1": "av1", "hevc": "hevc"}


@dataclass(frozen=True, slots=True)
class CodecTuning:
    """How an AV1/HEVC rung derives from its H.264 twin: CRF on the encoder's own scale, and
    a cap scaled by the codec's efficiency (the same picture needs fewer bits)."""

    crf_offset: int
    bitrate_factor: float


DEFAULT_TUNING = {
    "h264": CodecTuning(0, 1.0),
    "av1": CodecTuning(12, 0.7),  # SVT-AV1 CRF 35 ≈ x264 CRF 23
    "hevc": CodecTuning(4, 0.75),  # x265 CRF 27 ≈ x264 CRF 23
}


@dataclass(frozen=True, slots=True)
class Rung:
    """One video rendition to encode."""

    track_id: str  # e.g. "v720": stable name used in files and URLs
    width: int
    height: int
    crf: int
    maxrate_kbps: int
    bufsize_kbps: int
    codec: str = "h264"  # h264 | av1 | hevc
    rate_control: str = "crf"  # crf: capped CRF; fixed: encode to maxrate (classic ladder)
    label: int = 0  # the "p" number (short side), e.g. 720 for 1280×720 and 720×1280

    @property
    def p(self) -> int:
        return self.label or min(self.width, self.height)


@dataclass(frozen=True, slots=True)
class AudioRendition:
    """One AAC track: which input stream, how many channels, and how players present it."""

    track_id: str
    input: int  # FFmpeg input: 0 = the master, 1… = separately uploaded audio files
    stream: int  # audio stream index within that input (``{input}:a:{stream}``)
    channels: int  # 2 = stereo (a 5.1 source is downmixed), 6 = 5.1
    kbps: int
    language: str | None = None  # RFC 5646
    label: str | None = None
    default: bool = False


@dataclass(frozen=True, slots=True)
class TextExtraction:
    """A text subtitle stream of the master, converted to WebVTT by the ladder run."""

    track_id: str
    stream: int  # ``0:s:{stream}``
    language: str | None = None
    label: str | None = None
    default: bool = False
    forced: bool = False


@dataclass(frozen=True, slots=True)
class LadderPlan:
    rungs: tuple[Rung, ...]  # lowest first; AV1/HEVC twins after the H.264 rungs
    fps: Fraction
    gop_frames: int  # frames per fragment: every rung keyframes at the same instants
    audio_kbps: int | None  # None when the source has no audio
    video_stream: int = 0  # ``0:v:{video_stream}``: the master's default video stream
    source_filters: tuple[str, ...] = ()  # before fps/scaling: deinterlace, tone map
    audios: tuple[AudioRendition, ...] = ()  # empty: one stereo track of ``0:a:0``
    texts: tuple[TextExtraction, ...] = ()
    sdr_tags: bool = False  # tag outputs BT.709 (after tone-mapping an HDR source)

    @property
    def audio_outputs(self) -> tuple[AudioRendition, ...]:
        if self.audios:
            return self.audios
        if self.audio_kbps is None:
            return ()
        return (AudioRendition("a0", 0, 0, 2, self.audio_kbps, default=True),)

    def rungs_for(self, codec: str) -> tuple[Rung, ...]:
        return tuple(r for r in self.rungs if r.codec == codec)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _rung(template: RungTemplate, p: int, src_w: int, src_h: int, mode: str) -> Rung:
    """A rung whose short side is ``p`` (landscape: the height; portrait: the width)."""
    if src_w >= src_h:
        width, height = _even(src_w * p / src_h), p
    else:
        width, height = p, _even(src_h * p / src_w)
    maxrate = template.maxrate_kbps
    return Rung(
        track_id=f"v{p}",
        width=width,
        height=height,
        crf=template.crf,
        maxrate_kbps=maxrate,
        bufsize_kbps=int(maxrate * template.bufsize_factor),
        rate_control="fixed" if mode == "fixed" else "crf",
        label=p,
    )


def codec_twin(rung: Rung, codec: str, tuning: CodecTuning) -> Rung:
    """The same picture size in another codec."""
    return replace(
        rung,
        track_id=rung.track_id + CODEC_SUFFIX[codec],
        codec=codec,
        crf=rung.crf + tuning.crf_offset,
        maxrate_kbps=max(50, int(rung.maxrate_kbps * tuning.bitrate_factor)),
        bufsize_kbps=max(100, int(rung.bufsize_kbps * tuning.bitrate_factor)),
    )


def plan_ladder(
    *,
    width: int,
    height: int,
    fps: Fraction,
    has_audio: bool,
    template: tuple[RungTemplate, ...],
    fragment_s: int,
    audio_kbps: int,
    codecs: Sequence[str] = ("h264",),
    max_height: int | None = None,
    mode: str = "crf",
    tuning: dict[str, CodecTuning] | None = None,
) -> LadderPlan:
    """The rungs to encode for a ``width``×``height`` (display size) source at ``fps``."""
    if width <= 0 or height <= 0:
        raise ValueError("source dimensions must be positive")
    short = min(width, height)
    ordered = sorted(template, key=lambda r: r.height)
    if max_height is not None:
        capped = [t for t in ordered if t.height <= max_height]
        ordered = capped or [ordered[0].model_copy(update={"height": max_height})]
    src_p = _even(short) if short >= 2 else 2
    if max_height is not None:
        src_p = min(src_p, max_height)
    fitting = [t for t in ordered if t.height <= src_p]
    rungs = [_rung(t, t.height, width, height, mode) for t in fitting]
    above = [t for t in ordered if t.height > src_p]
    top = fitting[-1].height if fitting else 0
    if above and src_p > top * _NATIVE_RUNG_MARGIN:
        # Native-size top rung, bitrate cap scaled by pixel count from the next rung up.
        nxt = above[0]
        scale = (src_p / nxt.height) ** 2
        native = RungTemplate(
            height=src_p,
            maxrate_kbps=max(100, int(nxt.maxrate_kbps * scale)),
            crf=nxt.crf,
            bufsize_factor=nxt.bufsize_factor,
        )
        rungs.append(_rung(native, src_p, width, height, mode))
    if not rungs:  # pragma: no cover - unreachable: a source always fits or gets a native rung
        raise AssertionError("ladder planning produced no rung")
    tuning = {**DEFAULT_TUNING, **(tuning or {})}
    twins = [codec_twin(r, c, tuning[c]) for c in codecs if c != "h264" for r in rungs]
    gop = max(1, round(float(fps) * fragment_s))
    return LadderPlan(
        rungs=tuple(rungs + twins),
        fps=fps,
        gop_frames=gop,
        audio_kbps=audio_kbps if has_audio else None,
    )


def source_filters(*, interlaced: bool, transfer: str | None) -> tuple[str, ...]:
    """Filters that make a real-world master look right before scaling.

    Interlaced → ``bwdif`` one frame per frame (only frames flagged interlaced are touched).
    HDR (PQ/HLG, BT.2020) → linear light, Hable tone map, BT.709 SDR: H.264 8-bit players
    would otherwise show washed-out grey pictures. 10-bit SDR needs only the ``yuv420p``
    conversion every rung gets anyway.
    """
    filters: list[str] = []
    if interlaced:
        filters.append("bwdif=mode=send_frame:parity=auto:deint=interlaced")
    if transfer in ("pq", "hlg"):
        tin = "smpte2084" if transfer == "pq" else "arib-std-b67"
        filters += [
            f"zscale=tin={tin}:min=bt2020nc:pin=bt2020:rin=tv:t=linear:npl=100",
            "format=gbrpf32le",
            "zscale=p=bt709",
            "tonemap=tonemap=hable:desat=0",
            "zscale=t=bt709:m=bt709:r=tv",
        ]
    return tuple(filters)


@dataclass(frozen=True, slots=True)
class AudioSource:
    """An audio stream the ladder can use (from the probe or an uploaded track)."""

    input: int
    stream: int
    channels: int
    language: str | None = None
    label: str | None = None
    default: bool = False


def plan_audio(
    sources: Sequence[AudioSource], *, kbps: int, surround: bool, surround_kbps: int
) -> tuple[AudioRendition, ...]:
    """One stereo AAC rendition per audio stream (a 5.1 source downmixed, players everywhere
    decode stereo AAC), plus the 5.1 itself as a second rendition when ``surround``. Exactly
    one rendition is the default: the first source marked default, else the first."""
    out: list[AudioRendition] = []
    default_index = next((i for i, s in enumerate(sources) if s.default), 0)
    for i, src in enumerate(sources):
        label = src.label or language_name(src.language)  # "English", not "en"
        out.append(
            AudioRendition(
                f"a{i}", src.input, src.stream, 2, kbps, src.language, label, i == default_index
            )
        )
        if surround and src.channels >= 6:
            out.append(
                AudioRendition(
                    f"a{i}s",
                    src.input,
                    src.stream,
                    6,
                    surround_kbps,
                    src.language,
                    f"{label or 'Main'} (5.1)",
                    False,
                )
            )
    return tuple(out)
