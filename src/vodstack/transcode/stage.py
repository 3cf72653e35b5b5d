"""The transcode stage: master → probed → planned ladder → CMAF tracks → committed revision.

Outputs are written to a private work directory, indexed, moved into the store under a new
revision prefix in one step, and only then committed in the catalogue in one transaction. A
crash at any point leaves either the previous revision served or nothing served — never half
an asset. Re-running the stage after a crash redoes the work from the retained master.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from vodstack.catalogue.models import Rendition
from vodstack.catalogue.repository import Catalogue
from vodstack.config import RungTemplate, Settings
from vodstack.errors import ConfigError, StorageError, TranscodeError
from vodstack.ingest.probe import SourceInfo, probe
from vodstack.packaging.model import fragment_to_row
from vodstack.packaging.track_index import TrackIndex, read_track_index
from vodstack.storage import ObjectStore
from vodstack.storage.base import packaged_prefix
from vodstack.transcode.command import ladder_command
from vodstack.transcode.ladder import LadderPlan, plan_ladder
from vodstack.transcode.runner import ffmpeg_exe, run_ffmpeg

log = logging.getLogger(__name__)

# Tracks must cover the source to within this many seconds, else something was lost.
_DURATION_SLACK_S = 0.5


def _frame_rate_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


class TranscodeStage:
    def __init__(self, settings: Settings, catalogue: Catalogue, store: ObjectStore) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.store = store

    def run(
        self,
        asset_id: str,
        job_id: str,
        on_progress: Callable[[float], None],
        cancel: threading.Event,
        ladder: str | None = None,
    ) -> int:
        """Transcode the asset's master with the named ladder template (default: the
        configured ladder); returns the committed revision."""
        template = self.template(ladder)
        asset = self.catalogue.get_asset(asset_id)
        if asset.revision == 0:  # a re-transcode leaves a served asset "ready"
            self.catalogue.update_asset(asset_id, status="transcoding", error=None)
        work = self.settings.work_dir / job_id
        shutil.rmtree(work, ignore_errors=True)  # a retry starts clean (idempotent)
        out = work / "out"
        out.mkdir(parents=True)
        try:
            source = self._local_source(asset.source_key, work)
            info = probe(source, max_duration_s=self.settings.max_source_duration_s)
            self.catalogue.update_asset(
                asset_id, source_info=info.to_json(), duration=info.duration
            )
            plan = self.plan(info, template)
            argv = ladder_command(
                ffmpeg_exe(),
                source,
                out,
                plan,
                fragment_s=self.settings.fragment_s,
                preset=self.settings.x264_preset,
                cpus=self.settings.cpus,
            )
            run_ffmpeg(argv, duration_s=info.duration, on_progress=on_progress, cancel=cancel)
            tracks = self._index_outputs(out, info, plan)
            revision = asset.revision + 1
            prefix = packaged_prefix(asset_id, revision)
            # A prefix for an uncommitted revision can only be a crashed attempt's leftovers.
            self.store.delete_prefix(prefix)
            rows = [self._rendition(prefix, tid, t, plan) for tid, t in tracks.items()]
            self.store.publish_directory(out, prefix)
            duration = max(t.duration / t.timescale for t in tracks.values())
            self.catalogue.commit_revision(asset_id, revision, rows, round(duration, 6))
            self._drop_old_revisions(asset_id, revision)
            return revision
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def template(self, ladder: str | None) -> tuple[RungTemplate, ...]:
        templates = self.settings.ladder_templates
        if (ladder or "default") not in templates:
            raise ConfigError(f"no ladder named {ladder!r}; known: {', '.join(templates)}")
        return templates[ladder or "default"]

    def plan(
        self, info: SourceInfo, template: tuple[RungTemplate, ...] | None = None
    ) -> LadderPlan:
        return plan_ladder(
            width=info.video.width,
            height=info.video.height,
            fps=info.fps,
            has_audio=info.audio is not None,
            template=template or self.settings.ladder,
            fragment_s=self.settings.fragment_s,
            audio_kbps=self.settings.audio_bitrate_kbps,
        )

    def _local_source(self, key: str, work: Path) -> Path:
        path = self.store.local_path(key)
        if path is not None and path.is_file():
            return path
        staged = work / "source"
        with self.store.open(key) as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
        return staged

    def _index_outputs(
        self, out: Path, info: SourceInfo, plan: LadderPlan
    ) -> dict[str, TrackIndex]:
        expected = [r.track_id for r in plan.rungs]
        if plan.audio_kbps is not None:
            expected.append("a0")
        tracks: dict[str, TrackIndex] = {}
        for track_id in expected:
            path = out / f"{track_id}.mp4"
            if not path.is_file():
                raise TranscodeError(f"FFmpeg produced no output for track {track_id}")
            with open(path, "rb") as fh:
                index = read_track_index(fh)
            seconds = index.duration / index.timescale
            if index.kind == "video" and seconds + _DURATION_SLACK_S < info.duration:
                raise TranscodeError(
                    f"track {track_id} covers {seconds:.2f} s of a {info.duration:.2f} s source"
                )
            tracks[track_id] = index
        return tracks

    def _rendition(self, prefix: str, track_id: str, t: TrackIndex, plan: LadderPlan) -> Rendition:
        seconds = t.duration / t.timescale
        media_bytes = sum(f.size for f in t.fragments)
        return Rendition(
            track_id=track_id,
            kind=t.kind,
            codec=t.codec,
            width=t.width,
            height=t.height,
            frame_rate=_frame_rate_text(plan.fps) if t.kind == "video" else None,
            sample_rate=t.sample_rate,
            channels=t.channels,
            language=t.language,
            bitrate_avg=int(media_bytes * 8 / seconds) if seconds else 0,
            bitrate_peak=max(
                (int(f.size * 8 * t.timescale / f.duration) for f in t.fragments if f.duration),
                default=0,
            ),
            timescale=t.timescale,
            media_time=t.media_time,
            init_size=t.init_size,
            file_key=f"{prefix}/{track_id}.mp4",
            file_size=t.file_size,
            duration=round(seconds, 6),
            fragments=[fragment_to_row(f) for f in t.fragments],
        )

    def _drop_old_revisions(self, asset_id: str, current: int) -> None:
        """Keep the current and the previous revision's files (players finishing old URLs)."""
        for revision in range(1, current - 1):
            try:
                self.store.delete_prefix(packaged_prefix(asset_id, revision))
            except StorageError:
                log.warning("could not delete revision %d of %s", revision, asset_id)
