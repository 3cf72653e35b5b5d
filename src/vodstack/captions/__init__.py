"""Captions and subtitles: WebVTT/SRT parsing and validation (pure), sidecar uploads, and the
WebVTT segments HLS and the text tracks DASH deliver (issue #8)."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.captions.service import CaptionRequest, CaptionService, read_cues
    from vodstack.captions.webvtt import (
        CaptionInvalid,
        hls_segment,
        hls_segment_rates,
        parse_webvtt,
        write_webvtt,
    )

__all__ = [
    "CaptionInvalid",
    "CaptionRequest",
    "CaptionService",
    "hls_segment",
    "hls_segment_rates",
    "parse_webvtt",
    "read_cues",
    "write_webvtt",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "service": ["CaptionRequest", "CaptionService", "read_cues"],
        "webvtt": [
            "CaptionInvalid",
            "hls_segment",
            "hls_segment_rates",
            "parse_webvtt",
            "write_webvtt",
        ],
    },
)
