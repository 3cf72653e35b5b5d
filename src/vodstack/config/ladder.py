"""Ladder templates: the rungs a title is encoded to, and how (models used by settings).

Pure data with validation; planning a title's ladder from them is ``transcode/ladder.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class RungTemplate(BaseModel):
    """One rung of a ladder template: a target height with its quality-capped VBR settings.

    ``crf`` targets quality; ``maxrate_kbps`` caps the peak (with a VBV buffer of
    ``bufsize_factor`` × maxrate) — our analogue of MediaConvert's QVBR.
    """

    height: int = Field(gt=0, le=4320)
    maxrate_kbps: int = Field(gt=0)
    crf: int = Field(default=23, ge=0, le=51)
    bufsize_factor: float = Field(default=2.0, gt=0)


VideoCodec = Literal["h264", "av1", "hevc"]
LadderMode = Literal["crf", "fixed", "per_title"]


class LadderTemplate(BaseModel):
    """A named, versioned ladder: its rungs and how they are encoded.

    ``mode``: ``crf`` = capped CRF (quality-targeted VBR, the default); ``fixed`` = each rung
    encoded to its ``maxrate_kbps`` (the classic fixed-bitrate ladder); ``per_title`` = a quick
    probe of the title picks each rung's CRF and bitrate cap so the quality of the fixed ladder
    is kept with the bits this title needs (transcode/pertitle.py). ``codecs``: H.264 always
    first (every device decodes it), AV1 and/or HEVC renditions alongside in the same
    manifests. ``max_height`` drops rungs above it (the cap wins over a template's rungs).
    ``version`` is recorded with each asset, so a changed template is visible per asset.
    """

    version: int = Field(default=1, ge=1)
    rungs: tuple[RungTemplate, ...] = Field(min_length=1)
    mode: LadderMode = "crf"
    codecs: tuple[VideoCodec, ...] = ("h264",)
    max_height: int | None = Field(default=None, gt=0, le=4320)

    @field_validator("rungs")
    @classmethod
    def _sorted(cls, value: tuple[RungTemplate, ...]) -> tuple[RungTemplate, ...]:
        return tuple(sorted(value, key=lambda r: r.height))

    @field_validator("codecs")
    @classmethod
    def _h264_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        rest = [c for c in dict.fromkeys(value) if c != "h264"]
        return ("h264", *rest)  # type: ignore[return-value]


DEFAULT_LADDER: tuple[RungTemplate, ...] = (
    RungTemplate(height=240, maxrate_kbps=400, crf=23),
    RungTemplate(height=360, maxrate_kbps=800, crf=23),
    RungTemplate(height=480, maxrate_kbps=1400, crf=23),
    RungTemplate(height=720, maxrate_kbps=3000, crf=23),
    RungTemplate(height=1080, maxrate_kbps=6000, crf=23),
)
