"""WebVTT timestamps (W3C WebVTT §4.2), the one piece of WebVTT both text tracks need.

Caption cues (:mod:`vodstack.captions.webvtt`) and storyboard thumbnail cues
(:mod:`vodstack.thumbnails.storyboard`) write the same timing lines; the formatting lives here,
in the pure formats layer, so neither of those packages imports the other.
"""

from __future__ import annotations

__all__ = ["format_timestamp"]


def format_timestamp(ms: int) -> str:
    """WebVTT timestamp with hours (``00:01:02.345``), §4.2."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
