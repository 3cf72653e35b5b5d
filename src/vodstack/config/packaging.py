"""Packaging and delivery formats: segments, manifests, the download rendition (packaging/)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from vodstack.config.fields import url_ttl


class PackagingSettings(BaseModel):
    segment_s: int = Field(
        default=4,
        ge=1,
        le=30,
        description="Delivered segment duration (a multiple of fragment_s); changing it needs "
        "no re-transcode.",
    )
    manifest_max_age_s: int = Field(
        default=2, ge=0, description="Cache-Control max-age of manifests (seconds)."
    )
    dash_trick_mode: bool = Field(
        default=False,
        description="Offer a DASH trick-mode AdaptationSet (key frames only, for Shaka's "
        "trickPlay). Off by default: clients that ignore EssentialProperty (FFmpeg's DASH "
        "reader) take it for one more video stream.",
    )
    download_max_height: int = Field(
        default=720,
        ge=0,
        description="Height of the progressive MP4 download rendition (the highest rung not "
        "above it); 0 = no download rendition.",
    )
    download_url_ttl_s: int = url_ttl(3600, "Lifetime of download signed URLs.")
