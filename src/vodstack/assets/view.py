"""One view of an asset, read once from the catalogue; the admin API (``GET /api/assets/{id}``)
and the CLI (``vodstack assets show``, ``ingest --json``…) each format it.

What one of them shows and the other does not is a formatting choice made in the formatter
(web/api.py ``asset_out``, cli/common.py ``asset_dict``), never a second reading of the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vodstack.catalogue import Asset, Catalogue, Job, Rendition
from vodstack.packaging.layout import PlaybackUrls, asset_url, playback_urls
from vodstack.transcode import extras_status


@dataclass(frozen=True, slots=True)
class RenditionView:
    track: str
    kind: str
    codec: str
    width: int | None
    height: int | None
    frame_rate: str | None
    sample_rate: int | None
    channels: int | None
    bitrate: int
    peak_bitrate: int
    language: str | None
    label: str | None
    default: bool
    vmaf: float | None  # sampled VMAF against the source
    layout: str  # file, or windowed: a progressive revision still being encoded

    @classmethod
    def of(cls, r: Rendition) -> RenditionView:
        return cls(
            track=r.track_id,
            kind=r.kind,
            codec=r.codec,
            width=r.width,
            height=r.height,
            frame_rate=r.frame_rate,
            sample_rate=r.sample_rate,
            channels=r.channels,
            bitrate=r.bitrate_avg,
            peak_bitrate=r.bitrate_peak,
            language=r.language,
            label=r.label,
            default=r.is_default,
            vmaf=r.vmaf,
            layout=r.layout,
        )


@dataclass(frozen=True, slots=True)
class JobView:
    """The latest transcode job."""

    id: str
    state: str
    attempts: int
    progress: float  # 0..1, rounded to 4 places
    error: str | None
    stages: Any  # wall and CPU seconds per stage (transcode/timing.py)

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(job.id, job.state, job.attempts, round(job.progress, 4), job.error, job.stages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "attempts": self.attempts,
            "progress": self.progress,
            "error": self.error,
            "stages": self.stages,
        }


@dataclass(frozen=True, slots=True)
class AssetView:
    asset: Asset  # the catalogue row: title, status, error, duration, drm, publish state…
    playable: bool  # ready, with a committed revision
    renditions: tuple[RenditionView, ...]  # of the committed revision (empty before one)
    playback: PlaybackUrls | None  # None until playable
    job: JobView | None  # None without a job, or when not asked for (detail=False)
    extras: dict[str, Any] | None  # poster, storyboard, download, VMAF (transcode/extras_job)


def asset_view(
    catalogue: Catalogue, base_url: str, asset: Asset, *, detail: bool = True
) -> AssetView:
    """The view of ``asset``; ``base_url``: the configured public URL (never a request's Host:
    a forged Host must not reach any URL handed out). ``detail=False`` skips the job and the
    extras (an asset list)."""
    playable = asset.status == "ready" and asset.revision > 0
    rows = catalogue.renditions(asset.id, asset.revision) if asset.revision else []
    job = catalogue.latest_job(asset.id) if detail else None
    return AssetView(
        asset=asset,
        playable=playable,
        renditions=tuple(RenditionView.of(r) for r in rows),
        playback=playback_urls(asset_url(base_url, asset.id)) if playable else None,
        job=JobView.of(job) if job is not None else None,
        extras=extras_status(catalogue, asset) if detail else None,
    )
