"""What the origin answers with, independent of the web framework (pure value types)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MANIFEST_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "mpd": "application/dash+xml"}
IMMUTABLE = "public, max-age=31536000, immutable"


def manifest_cache_control(max_age_s: int) -> str:
    return f"public, max-age={max_age_s}"


@dataclass(frozen=True, slots=True)
class BytesResource:
    """A generated document (a manifest)."""

    body: bytes
    content_type: str
    cache_control: str
    etag: str


@dataclass(frozen=True, slots=True)
class FileSlice:
    """A contiguous slice of a stored object (init or media segment), served without copying
    it into memory: ``path`` when the store is local, else ``key`` for a streamed read."""

    key: str
    path: Path | None
    offset: int
    length: int
    content_type: str
    cache_control: str
    etag: str


Resource = BytesResource | FileSlice
