"""Transcoding: the ladder, its codecs and quality checks, and windowed/progressive encoding
(transcode/)."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from vodstack.config.fields import cores, positive
from vodstack.config.ladder import (
    DEFAULT_LADDER,
    LadderMode,
    LadderTemplate,
    RungTemplate,
    VideoCodec,
)


def _crf_offset(codec: str, default: int, most: int, note: str = "") -> Any:
    """A codec's CRF against the rung's H.264 CRF (the codecs' scales differ)."""
    return Field(
        default=default, ge=0, le=most, description=f"{codec} CRF = rung CRF + this{note}."
    )


def _caps_factor(codec: str, default: float) -> Any:
    """A codec's bit-rate caps against H.264's (it needs fewer bits for the same quality)."""
    return Field(default=default, gt=0, le=1, description=f"{codec} caps = H.264 caps × this.")


class TranscodeSettings(BaseModel):
    ffmpeg_timeout_factor: float = positive(
        20,
        "Watchdog: an FFmpeg run over a master is killed after this many seconds "
        "per second of its probed duration (at least 120 s); every such run is also bounded "
        "to the probed duration plus a slack, so a header that understates the media cannot "
        "buy unbounded work.",
    )
    cpus: int = Field(
        default_factory=cores,
        ge=1,
        description="CPU cores FFmpeg may use; encoder threads are shared out by rung size.",
    )

    # -- the ladder ------------------------------------------------------------------------
    ladder: tuple[RungTemplate, ...] = Field(
        default=DEFAULT_LADDER, description="Ladder template, lowest rung first."
    )
    x264_preset: str = Field(default="veryfast", description="libx264 preset for every rung.")
    audio_bitrate_kbps: int = positive(128, "AAC stereo bitrate.")
    fragment_s: int = Field(
        default=2, ge=1, le=10, description="Keyframe/fragment interval (seconds), all rungs."
    )
    ladders: dict[str, tuple[RungTemplate, ...] | LadderTemplate] = Field(
        default_factory=dict,
        description="Named ladder templates for uploads (`POST /api/assets?ladder=NAME`) and "
        '`vodstack assets retranscode --ladder NAME`, as JSON {"name": [{height, '
        'maxrate_kbps, crf}, …]} or {"name": {"version": 2, "mode": "per_title", "codecs": '
        '["h264", "av1"], "max_height": 1080, "rungs": […]}}; "default" is `ladder`.',
    )
    ladder_mode: LadderMode = Field(
        default="crf",
        description="Rate control of the default ladder: crf (capped CRF), fixed (each rung at "
        "its maxrate) or per_title (a probe picks each rung's CRF and cap).",
    )
    video_codecs: tuple[VideoCodec, ...] = Field(
        default=("h264",),
        description='Codecs of the default ladder, e.g. ["h264", "av1"]: AV1 (SVT-AV1) and HEVC '
        "(x265) renditions are offered beside H.264 in the same manifests.",
    )
    ladder_max_height: int = Field(
        default=1080,
        gt=0,
        le=4320,
        description="Top rung cap for every ladder: taller template rungs are dropped.",
    )
    av1_preset: int = Field(default=10, ge=0, le=13, description="SVT-AV1 preset (13 fastest).")
    av1_crf_offset: int = _crf_offset("AV1", 12, 40, " (SVT-AV1's 0-63 scale)")
    av1_bitrate_factor: float = _caps_factor("AV1", 0.7)
    hevc_preset: str = Field(default="veryfast", description="x265 preset.")
    hevc_crf_offset: int = _crf_offset("HEVC", 4, 20)
    hevc_bitrate_factor: float = _caps_factor("HEVC", 0.75)
    per_title_vmaf_slack: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="Per-title: the VMAF a rung may lose against the fixed ladder's quality.",
    )
    audio_surround: bool = Field(
        default=True,
        description="Keep a 5.1 AAC rendition (besides the stereo one) of multichannel sources.",
    )
    audio_surround_kbps: int = positive(384, "5.1 AAC bitrate.")
    quality_scores: bool = Field(
        default=True, description="Measure each rung's VMAF (sampled windows) in the job."
    )
    vmaf_windows: int = Field(default=3, ge=1, le=20, description="Windows sampled for VMAF.")
    vmaf_window_s: float = positive(2.0, "Length of each window.", le=60)
    vmaf_subsample: int = Field(
        default=3, ge=1, le=30, description="VMAF scores every Nth frame of the windows."
    )

    # -- windowed and progressive transcoding ----------------------------------------------
    transcode_mode: Literal["single", "windowed", "progressive"] = Field(
        default="progressive",
        description="progressive (default): the title is cut into keyframe-aligned windows; "
        "the asset is ready once its first window is encoded (seconds after the upload), "
        "later windows are made on first request or by the background job, then joined. "
        "windowed (accelerated): the windows are encoded in parallel and joined before the "
        "asset is ready. single: one FFmpeg run makes the whole ladder. AV1/HEVC ladders and "
        "assets with uploaded audio tracks always use single.",
    )
    window_s: int = Field(
        default=4, ge=1, le=60, description="Window length (a multiple of fragment_s)."
    )
    window_workers: int = Field(
        default_factory=cores,
        ge=1,
        description="Windows encoded at once by a job (accelerated transcoding).",
    )
    window_batch: int = Field(
        default=4,
        ge=1,
        description="Progressive background: consecutive windows per FFmpeg run (fewer seeks).",
    )
    ondemand_encodes: int = Field(
        default=1, ge=1, description="On-demand window encodes at once per origin process."
    )
    ondemand_wait_s: float = positive(10, "How long a viewer's request waits for a free slot.")
    ondemand_timeout_s: float = positive(60, "Longest on-demand window encode before it fails.")
    progressive_cleanup_s: float = Field(
        default=60,
        ge=0,
        description="After a progressive asset's tracks are joined, how long its window "
        "chunks stay for origins that still hold the old index.",
    )

    @field_validator("window_s")
    @classmethod
    def _window_multiple_of_fragment(cls, value: int, info: ValidationInfo) -> int:
        fragment = info.data.get("fragment_s", 2)
        if value % fragment:
            raise ValueError(f"window_s ({value}) must be a multiple of fragment_s ({fragment})")
        return value

    @field_validator("ladder")
    @classmethod
    def _ladder_sorted(cls, value: tuple[RungTemplate, ...]) -> tuple[RungTemplate, ...]:
        if not value:
            raise ValueError("the ladder needs at least one rung")
        return tuple(sorted(value, key=lambda r: r.height))

    @field_validator("ladders")
    @classmethod
    def _ladders_valid(
        cls, value: dict[str, tuple[RungTemplate, ...] | LadderTemplate]
    ) -> dict[str, tuple[RungTemplate, ...] | LadderTemplate]:
        for name, rungs in value.items():
            if not (0 < len(name) <= 20 and name.replace("-", "").replace("_", "").isalnum()):
                raise ValueError(f"ladder name {name!r}: 1-20 letters, digits, '-' or '_'")
            if not isinstance(rungs, LadderTemplate) and not rungs:
                raise ValueError(f"ladder {name!r} needs at least one rung")
        return {
            n: r if isinstance(r, LadderTemplate) else tuple(sorted(r, key=lambda x: x.height))
            for n, r in value.items()
        }

    @cached_property
    def ladder_templates(self) -> dict[str, tuple[RungTemplate, ...]]:
        """Every named ladder's rungs; "default" is `ladder` unless `ladders` names one."""
        return {name: profile.rungs for name, profile in self.ladder_profiles.items()}

    @cached_property
    def ladder_profiles(self) -> dict[str, LadderTemplate]:
        """Every named ladder as a full template (rungs, mode, codecs, version, cap).

        A plain list of rungs in `ladders` inherits the default ladder's mode and codecs."""
        default = LadderTemplate(rungs=self.ladder, mode=self.ladder_mode, codecs=self.video_codecs)
        profiles = {"default": default}
        for name, value in self.ladders.items():
            profiles[name] = (
                value
                if isinstance(value, LadderTemplate)
                else default.model_copy(update={"rungs": value})
            )
        return profiles
