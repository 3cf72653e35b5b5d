"""Plan the ABR ladder for one source: a pure function of the source and the template.

Rules (issue #2): rungs from the template that do not exceed the source height (never
upscale); always at least one rung; a source between template rungs gets a top rung at its
own height so its full quality is kept; widths keep the display aspect ratio, rounded to even
numbers because H.264 4:2:0 needs even dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from vodstack.config import RungTemplate

# A source within this factor above the top fitting rung gets no extra rung of its own:
# a 1088-line source is a 1080p source, not a reason for a 1088p rung.
_NATIVE_RUNG_MARGIN = 1.15


@dataclass(frozen=True, slots=True)
class Rung:
    """One video rendition to encode."""

    track_id: str  # e.g. "v720": stable name used in files and URLs
    width: int
    height: int
    crf: int
    maxrate_kbps: int
    bufsize_kbps: int


@dataclass(frozen=True, slots=True)
class LadderPlan:
    rungs: tuple[Rung, ...]  # lowest first
    fps: Fraction
    gop_frames: int  # frames per fragment: every rung keyframes at the same instants
    audio_kbps: int | None  # None when the source has no audio


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _rung(template: RungTemplate, height: int, src_w: int, src_h: int) -> Rung:
    width = _even(src_w * height / src_h)
    maxrate = template.maxrate_kbps
    return Rung(
        track_id=f"v{height}",
        width=width,
        height=height,
        crf=template.crf,
        maxrate_kbps=maxrate,
        bufsize_kbps=int(maxrate * template.bufsize_factor),
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
) -> LadderPlan:
    """The rungs to encode for a ``width``×``height`` source at ``fps``."""
    if width <= 0 or height <= 0:
        raise ValueError("source dimensions must be positive")
    ordered = sorted(template, key=lambda r: r.height)
    src_h = _even(height) if height >= 2 else 2
    fitting = [t for t in ordered if t.height <= src_h]
    rungs = [_rung(t, t.height, width, height) for t in fitting]
    above = [t for t in ordered if t.height > src_h]
    top = fitting[-1].height if fitting else 0
    if above and src_h > top * _NATIVE_RUNG_MARGIN:
        # Native-height top rung, bitrate cap scaled by pixel count from the next rung up.
        nxt = above[0]
        scale = (src_h / nxt.height) ** 2
        native = RungTemplate(
            height=src_h,
            maxrate_kbps=max(100, int(nxt.maxrate_kbps * scale)),
            crf=nxt.crf,
            bufsize_factor=nxt.bufsize_factor,
        )
        rungs.append(_rung(native, src_h, width, height))
    if not rungs:  # pragma: no cover - unreachable: a source always fits or gets a native rung
        raise AssertionError("ladder planning produced no rung")
    gop = max(1, round(float(fps) * fragment_s))
    return LadderPlan(
        rungs=tuple(rungs),
        fps=fps,
        gop_frames=gop,
        audio_kbps=audio_kbps if has_audio else None,
    )
