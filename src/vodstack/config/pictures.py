"""Pictures: storyboards, posters and thumbnails cut on the fly, and who may fetch them
(thumbnails/, the picture routes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from vodstack.config.fields import burst, concurrency, rate, url_ttl


def _sheet(what: str) -> Any:
    """Thumbnails along one side of a storyboard sprite sheet."""
    return Field(default=5, ge=1, le=20, description=f"Sprite sheet {what}.")


class PictureSettings(BaseModel):
    storyboard_interval_s: float = Field(
        default=0,
        ge=0,
        description="Seconds between storyboard thumbnails (0: 2 s up to ~300 thumbnails, "
        "always a multiple of the fragment).",
    )
    storyboard_width: int = Field(default=160, ge=32, le=640, description="Thumbnail width.")
    storyboard_columns: int = _sheet("columns")
    storyboard_rows: int = _sheet("rows")
    poster_max_height: int = Field(default=720, ge=64, le=2160, description="Poster height cap.")
    protected_pictures: bool = Field(
        default=True,
        description="Serve pictures (poster, thumbnail.jpg, storyboard and its sheets) of "
        "assets served only protected, behind the same signature as their segments. Off: "
        "404 for them (frames of DRM content are that content, in low resolution).",
    )
    thumbnail_rate_per_s: float = rate(
        10,
        "thumbnail.jpg requests per second per address, a bucket of their own (0 = off).",
    )
    thumbnail_burst: int = burst(40)
    thumbnail_concurrency: int = concurrency(
        2,
        "Frames cut on the fly (thumbnail.jpg, a poster chosen by time) at once per "
        "origin process; more wait up to thumbnail_wait_s, then get 503 with Retry-After.",
    )
    thumbnail_wait_s: float = Field(
        default=2.0, ge=0, description="How long a thumbnail waits for a free cut slot."
    )
    picture_url_ttl_s: int = url_ttl(
        86400,
        "Lifetime of the signed picture URLs (poster, thumbnail, storyboard) in "
        "the asset API, for catalogue pages that show titles without POST /play.",
    )
    picture_rate_per_s: float = rate(50, "Picture requests (p/ tokens) per second per address.")
    picture_burst: int = burst(500)
