"""Planning a transcode from a probed master and the settings (pure: no I/O, unit-tested).

Which ladder template applies, how AV1/HEVC twins derive from the H.264 rungs, the ladder
itself (``ladder.plan_ladder`` plus the master's audio and subtitle streams and separately
uploaded audio), and whether it can be encoded window by window. Used by the transcode
stage's plan step and by the extras job (which re-plans the committed ladder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from vodstack.catalogue import AudioUpload
from vodstack.config import LadderTemplate, RungTemplate, Settings
from vodstack.errors import ConfigError
from vodstack.ingest import SourceInfo
from vodstack.transcode.ladder import (
    AudioSource,
    CodecTuning,
    LadderPlan,
    TextExtraction,
    plan_audio,
    plan_ladder,
    source_filters,
)


def codec_tuning(s: Settings) -> dict[str, CodecTuning]:
    """How AV1/HEVC rungs derive from H.264 ones, from the settings."""
    return {
        "h264": CodecTuning(0, 1.0),
        "av1": CodecTuning(s.av1_crf_offset, s.av1_bitrate_factor),
        "hevc": CodecTuning(s.hevc_crf_offset, s.hevc_bitrate_factor),
    }


class LadderPlanner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def template(self, ladder: str | None) -> tuple[RungTemplate, ...]:
        """The rungs of the named ladder template (None: the default)."""
        return self.profile(ladder).rungs

    def profile(self, ladder: str | None) -> LadderTemplate:
        """The named ladder template (None: the default); ConfigError for an unknown one."""
        profiles = self.settings.ladder_profiles
        if (ladder or "default") not in profiles:
            raise ConfigError(f"no ladder named {ladder!r}; known: {', '.join(profiles)}")
        return profiles[ladder or "default"]

    def describe(self, name: str, profile: LadderTemplate) -> dict[str, Any]:
        """What the catalogue shows of the decision (``ladder_info``; the transcode adds the
        per-title decision and the rungs)."""
        return {
            "template": name,
            "version": profile.version,
            "mode": profile.mode,
            "codecs": list(profile.codecs),
            "max_height": self.max_height(profile),
        }

    def max_height(self, profile: LadderTemplate) -> int:
        cap = self.settings.ladder_max_height
        return min(cap, profile.max_height) if profile.max_height else cap

    def tuning(self) -> dict[str, CodecTuning]:
        return codec_tuning(self.settings)

    def plan(
        self,
        info: SourceInfo,
        template: tuple[RungTemplate, ...] | None = None,
        *,
        profile: LadderTemplate | None = None,
        uploads: list[AudioUpload] | None = None,
    ) -> LadderPlan:
        """The ladder for a master: rungs of the template (``template`` replaces its rungs)
        that fit the picture, audio renditions of the master's streams and the uploaded
        tracks (an uploaded default wins), and the text subtitles to extract."""
        profile = profile or self.profile(None)
        if template is not None:
            profile = profile.model_copy(update={"rungs": template})
        width, height = info.display_size
        base = plan_ladder(
            width=width,
            height=height,
            fps=info.fps,
            has_audio=info.audio is not None or bool(uploads),
            template=profile.rungs,
            fragment_s=self.settings.fragment_s,
            audio_kbps=self.settings.audio_bitrate_kbps,
            codecs=profile.codecs,
            max_height=self.max_height(profile),
            mode="fixed" if profile.mode == "fixed" else "crf",
            tuning=self.tuning(),
        )
        sources = [
            AudioSource(0, a.index, a.channels, a.language, a.title, a.default)
            for a in info.audios or ((info.audio,) if info.audio else ())
        ]
        if sources and not any(s.default for s in sources):
            sources[0] = replace(sources[0], default=True)
        for n, upload in enumerate(uploads or (), start=1):
            sources.append(AudioSource(n, 0, 2, upload.language, upload.label, upload.is_default))
        if any(u.is_default for u in uploads or ()):  # an uploaded default wins
            sources = [replace(s, default=s.default and s.input > 0) for s in sources]
        audios = plan_audio(
            sources,
            kbps=self.settings.audio_bitrate_kbps,
            surround=self.settings.audio_surround,
            surround_kbps=self.settings.audio_surround_kbps,
        )
        texts = tuple(
            TextExtraction(f"e{s.index}", s.index, s.language, s.title, s.default, s.forced)
            for s in info.subtitles
        )
        return LadderPlan(
            rungs=base.rungs,
            fps=base.fps,
            gop_frames=base.gop_frames,
            audio_kbps=base.audio_kbps,
            video_stream=info.video.index,
            source_filters=source_filters(
                interlaced=info.video.interlaced, transfer=info.video.transfer
            ),
            audios=audios,
            texts=texts,
            sdr_tags=info.video.hdr,
        )

    def windowable(self, plan: LadderPlan, uploads: Sequence[object]) -> bool:
        """Windowed encoding: H.264 ladders with audio from the master; others single-pass."""
        if self.settings.transcode_mode == "single" or uploads:
            return False
        # AV1/HEVC windows are not verified to splice (encoder headers per window): single.
        h264 = all(r.codec == "h264" for r in plan.rungs)
        return h264 and all(a.input == 0 for a in plan.audio_outputs)
