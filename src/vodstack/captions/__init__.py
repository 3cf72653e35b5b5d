"""Captions and subtitles: WebVTT/SRT parsing and validation (pure), sidecar uploads, and the
WebVTT segments HLS and the text tracks DASH deliver (issue #8)."""
