"""The description of one transcode attempt: what the plan step decided, before any encode.

``TranscodeStage.run`` is plan → run → commit. The plan step reads the asset once
(:class:`AssetSnapshot`), stages the master, takes the probe made at ingest (or probes now),
checks the master's length and plans the ladder; everything the run and commit steps need is
then in one frozen :class:`TranscodeRun` instead of long parameter lists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vodstack.catalogue import Asset, AudioUpload
from vodstack.errors import TranscodeError
from vodstack.ingest import SourceInfo
from vodstack.media import run_ffmpeg
from vodstack.transcode.bounds import MediaBound
from vodstack.transcode.ladder import LadderPlan
from vodstack.transcode.timing import StageTimer

# Share of the job's progress bar per step.
PROBE_SHARE, LADDER_SHARE = 0.1, 0.75

Progress = Callable[[float], None]
Runner = Callable[[list[str]], None]


@dataclass(frozen=True, slots=True)
class AssetSnapshot:
    """The asset as the job found it at its start (the row is not read again)."""

    id: str
    source_key: str
    revision: int  # the served revision; 0: none yet
    ladder: str | None  # the template chosen at upload
    source_info: SourceInfo | None  # the probe made at ingest; None: ingested before

    @classmethod
    def of(cls, asset: Asset) -> AssetSnapshot:
        info = SourceInfo.from_json(asset.source_info) if asset.source_info else None
        return cls(asset.id, asset.source_key, asset.revision, asset.ladder, info)


@dataclass(frozen=True, slots=True)
class JobControl:
    """How the job that runs the stage follows and steers it."""

    on_progress: Progress
    cancel: threading.Event
    timer: StageTimer
    on_ready: Callable[[int], None] | None = None  # a progressive revision became playable

    def runner(self, timeout_s: float | None) -> Runner:
        """Runs one FFmpeg argv unless the job was cancelled, under the watchdog."""

        def run(argv: list[str]) -> None:
            if self.cancel.is_set():
                raise TranscodeError("transcode cancelled")
            run_ffmpeg(argv, cancel=self.cancel, timeout_s=timeout_s)

        return run


@dataclass(frozen=True, slots=True)
class ProbedSource:
    """The master as a local file, what it holds, and the time bound of every run over it."""

    path: Path
    info: SourceInfo
    bound: MediaBound
    probed_now: bool  # not probed at ingest: the job's probe is committed with the revision


@dataclass(frozen=True, slots=True)
class TranscodeRun:
    """Everything one attempt needs, decided before its first encode."""

    asset: AssetSnapshot
    job_id: str
    work: Path  # the attempt's private directory (removed when it ends)
    source: ProbedSource
    plan: LadderPlan
    ladder_info: dict[str, Any]  # what the catalogue shows of the decision
    audio_inputs: tuple[tuple[AudioUpload, Path], ...]  # separately uploaded tracks
    control: JobControl

    @property
    def out(self) -> Path:
        """Where the encodes write the revision's files."""
        return self.work / "out"

    @property
    def info(self) -> SourceInfo:
        return self.source.info

    @property
    def uploads(self) -> list[AudioUpload]:
        return [upload for upload, _ in self.audio_inputs]

    @property
    def timer(self) -> StageTimer:
        return self.control.timer

    def ffmpeg(self) -> Runner:
        return self.control.runner(self.source.bound.watchdog_s)

    def ladder_progress(self, fraction: float) -> None:
        self.control.on_progress(PROBE_SHARE + LADDER_SHARE * fraction)
