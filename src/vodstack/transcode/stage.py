"""The transcode stage: plan → run → commit one revision of an asset.

* **plan** (no catalogue write): read the asset once, stage the master, take the probe made at
  ingest (probe now only for an asset ingested before), bound the master's length, plan the
  ladder (per-title when the template asks); the result is one :class:`TranscodeRun`.
* **run**: one single-pass FFmpeg ladder, or windows (``windowed_job``): accelerated, or
  progressive — served after its first window, the rest in the background and on demand.
* **commit**: outputs indexed (``outputs``), moved into the store under the revision's prefix
  in one step, then committed in the catalogue in one transaction with everything the
  revision names (``catalogue.revisions``).

The catalogue is written through three steps only: :meth:`TranscodeStage._begin` (the asset
is ``transcoding``), :meth:`TranscodeStage._publish_first_window` (progressive: a playable
revision early) and :meth:`TranscodeStage._commit` (the result). A crash at any point leaves
either the previous revision served or nothing served — never half an asset; re-running the
stage redoes the work from the retained master.

Issue #8 steps, in order: the ladder template (the job's, else the one chosen at upload,
else the default) with its mode and codecs; separately uploaded audio tracks as extra
inputs; a per-title probe when the template asks for one. The asset is ready when its
ladder (and the embedded subtitles) is committed; the extras derived from the rungs (poster,
storyboard, download, VMAF) are a job of their own afterwards (``transcode.extras_job``).
Each step's wall and CPU time goes to the job's :class:`StageTimer`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vodstack.catalogue import AudioUpload, Catalogue, MediaCatalogue
from vodstack.catalogue.revisions import RevisionMedia
from vodstack.config import LadderTemplate, Settings
from vodstack.errors import SourceInvalid, StorageError, TranscodeError
from vodstack.ingest import SourceInfo, probe_audio
from vodstack.ingest.probe import check_duration, probe
from vodstack.media import ffmpeg_exe, run_ffmpeg, run_ffmpeg_capture
from vodstack.storage import ObjectStore, packaged_prefix, windows_prefix
from vodstack.transcode.bounds import MediaBound
from vodstack.transcode.command import ladder_command
from vodstack.transcode.ladder import LadderPlan
from vodstack.transcode.outputs import (
    index_outputs,
    revision_files,
    rungs_info,
    windowed_renditions,
)
from vodstack.transcode.pertitle import run_probe
from vodstack.transcode.planning import LadderPlanner
from vodstack.transcode.progressive import WindowScheduler
from vodstack.transcode.quality import sample_windows
from vodstack.transcode.run import (
    PROBE_SHARE,
    AssetSnapshot,
    JobControl,
    ProbedSource,
    TranscodeRun,
)
from vodstack.transcode.timing import StageTimer
from vodstack.transcode.windowed import LAYOUT_FILE
from vodstack.transcode.windowed_job import WindowedEncode

log = logging.getLogger(__name__)


def check_length(source: Path, info: SourceInfo, bound: MediaBound) -> None:
    """Fail before any encode when there is media past the declared duration (bounds.py)."""
    argv = bound.tail_probe_argv(ffmpeg_exe(), source, info.video.index)
    bound.check_tail(run_ffmpeg_capture(argv, timeout_s=bound.watchdog_s))


class TranscodeStage:
    def __init__(self, settings: Settings, catalogue: Catalogue, store: ObjectStore) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.store = store
        self.media = MediaCatalogue(catalogue.db)
        self.windows = WindowScheduler(settings, catalogue, store, sources=self.master_path)
        self.windowed = WindowedEncode(settings, store, self.windows)
        self.planner = LadderPlanner(settings)
        self._masters_lock = threading.Lock()

    def run(
        self,
        asset_id: str,
        job_id: str,
        on_progress: Callable[[float], None],
        cancel: threading.Event,
        ladder: str | None = None,
        on_ready: Callable[[int], None] | None = None,
        timer: StageTimer | None = None,
    ) -> int:
        """Transcode the asset's master with the named ladder template (default: the one
        chosen at upload, else the configured ladder); returns the committed revision.

        ``on_ready`` is called when a progressive revision becomes playable, before the job
        ends (the pipeline announces the asset then)."""
        control = JobControl(on_progress, cancel, timer or StageTimer(), on_ready)
        asset = AssetSnapshot.of(self.catalogue.get_asset(asset_id))
        name = ladder or asset.ladder or "default"
        profile = self.planner.profile(name)  # an unknown template changes nothing
        work = self.settings.work_dir / job_id
        shutil.rmtree(work, ignore_errors=True)  # a retry starts clean (idempotent)
        (work / "out").mkdir(parents=True)
        try:
            if asset.source_info is not None:  # a video since ingest: transcoding from now
                self._begin(asset)
            run = self._plan_run(asset, job_id, work, name, profile, control)
            if asset.source_info is None:  # probed only now: a master refused at ingest never
                self._begin(asset)  # shows "transcoding" on its way back to "failed"
            control.on_progress(PROBE_SHARE)
            if self.planner.windowable(run.plan, run.uploads):
                return self._run_windowed(run)
            return self._run_single(run)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- plan ----------------------------------------------------------------------------------
    def _plan_run(
        self,
        asset: AssetSnapshot,
        job_id: str,
        work: Path,
        name: str,
        profile: LadderTemplate,
        control: JobControl,
    ) -> TranscodeRun:
        """Everything the attempt needs, decided before its first ladder encode (no catalogue
        write): the master probed and bounded, the ladder planned, per-title when asked."""
        with control.timer.stage("probe"):
            source = self._probe_source(asset, work)
            inputs = self._audio_inputs(asset.id, work)
            plan = self.planner.plan(source.info, profile=profile, uploads=[u for u, _ in inputs])
        control.timer.media_s = source.info.duration
        ladder_info = self.planner.describe(name, profile)
        if profile.mode == "per_title":
            with control.timer.stage("per_title"):
                plan, decision = self._per_title(source, plan, work, control)
            ladder_info["per_title"] = decision
        ladder_info["rungs"] = rungs_info(plan)
        return TranscodeRun(asset, job_id, work, source, plan, ladder_info, tuple(inputs), control)

    def _per_title(
        self, source: ProbedSource, plan: LadderPlan, work: Path, control: JobControl
    ) -> tuple[LadderPlan, dict[str, Any]]:
        """The ladder's rate control chosen from sampled encodes of the master (pertitle.py)."""
        plan, decision = run_probe(
            ffmpeg_exe(),
            source.path,
            work / "probe",
            plan,
            windows=sample_windows(
                source.info.duration,
                count=self.settings.vmaf_windows,
                length_s=self.settings.vmaf_window_s,
                fragment_s=self.settings.fragment_s,
            ),
            preset=self.settings.x264_preset,
            slack=self.settings.per_title_vmaf_slack,
            tuning=self.planner.tuning(),
            run=control.runner(source.bound.watchdog_s),
        )
        return plan, decision.to_json()

    def _probe_source(self, asset: AssetSnapshot, work: Path) -> ProbedSource:
        """The master as a local file and what it holds: the probe made at ingest, else (an
        asset ingested before, or a re-drive after the master was replaced) a probe now.
        Either way its length is checked against the limit and the media itself."""
        path = self._local_source(asset.source_key, work)
        limit = self.settings.max_source_duration_s
        info = asset.source_info or probe(path, max_duration_s=limit)
        check_duration(info.duration, limit)
        bound = MediaBound(info.duration, self.settings.ffmpeg_timeout_factor)
        check_length(path, info, bound)
        return ProbedSource(path, info, bound, probed_now=asset.source_info is None)

    # -- run -----------------------------------------------------------------------------------
    def _run_single(self, run: TranscodeRun) -> int:
        """One FFmpeg process: one decode, every rung, audio rendition and subtitle."""
        argv = ladder_command(
            ffmpeg_exe(),
            run.source.path,
            run.out,
            run.plan,
            fragment_s=self.settings.fragment_s,
            preset=self.settings.x264_preset,
            cpus=self.settings.cpus,
            audio_inputs=[path for _, path in run.audio_inputs],
            av1_preset=self.settings.av1_preset,
            hevc_preset=self.settings.hevc_preset,
            input_args=run.source.bound.input_args(),
        )
        with run.timer.stage("ladder"):
            run_ffmpeg(
                argv,
                duration_s=run.info.duration,
                on_progress=run.ladder_progress,
                cancel=run.control.cancel,
                timeout_s=run.source.bound.watchdog_s,
            )
        return self._commit(run, run.asset.revision + 1)

    def _run_windowed(self, run: TranscodeRun) -> int:
        """Accelerated (windows in parallel, joined, committed) or progressive (ready after the
        first window, the rest on demand and in the background, then joined in place)."""
        asset, windowed = run.asset, self.windowed
        revision = asset.revision + 1
        if windowed.progressive and self.served_windowed(asset.id, asset.revision):
            revision = asset.revision  # a retry: go on filling the served revision
        else:
            windowed.lay_out(run, revision)
            if windowed.progressive:
                self._publish_first_window(run, revision)
        with run.timer.stage("ladder"):
            windowed.fill(run, revision)
        with run.timer.stage("join"):
            windowed.join(run, revision)
        if not windowed.progressive:
            self._commit(run, revision)
            windowed.drop_chunks(asset.id, revision)
            return revision
        self._commit(run, revision, joined=True)
        windowed.forget_chunks_later(asset.id, revision)
        return revision

    def served_windowed(self, asset_id: str, revision: int) -> bool:
        """The revision is served from window chunks that still exist (a final failure
        reclaims them; a re-drive then starts a fresh revision)."""
        if revision == 0:
            return False
        rows = self.catalogue.renditions(asset_id, revision)
        return (
            bool(rows)
            and all(r.layout == "windowed" for r in rows)
            and self.store.exists(f"{windows_prefix(asset_id, revision)}/{LAYOUT_FILE}")
        )

    # -- catalogue writes ----------------------------------------------------------------------
    def _begin(self, asset: AssetSnapshot) -> None:
        """The asset is ``transcoding`` (a re-transcode leaves a served asset ``ready``)."""
        if asset.revision == 0:
            self.catalogue.mark_transcoding(asset.id)

    def _publish_first_window(self, run: TranscodeRun, revision: int) -> None:
        """Progressive: serve the revision as soon as its first window exists (every other
        window is made when asked for or in the background), and announce it."""
        asset_id = run.asset.id
        with run.timer.stage("first_window"):
            self.windowed.first_window(run, revision)
            layout = self.windows.layout(asset_id, revision)
            chunks = windows_prefix(asset_id, revision)
            rows = windowed_renditions(self.store, layout, chunks, run.plan)
            self.catalogue.commit_revision(asset_id, revision, rows, round(run.info.duration, 6))
        run.timer.mark_ready()
        self._drop_old_revisions(asset_id, revision)
        if run.control.on_ready is not None:
            run.control.on_ready(revision)

    def _commit(self, run: TranscodeRun, revision: int, *, joined: bool = False) -> int:
        """Store the revision's files under its prefix, then commit them in one transaction:
        a new served revision, or (``joined``) a progressive revision's windows swapped for
        the joined files."""
        asset_id = run.asset.id
        with run.timer.stage("commit"):
            tracks = index_outputs(run.out, run.info, run.plan)
            prefix = packaged_prefix(asset_id, revision)
            # Files under an uncommitted revision's prefix (or beside a progressive one's
            # windows) can only be a crashed attempt's leftovers.
            self.store.delete_prefix(prefix)
            files = revision_files(run.out, prefix, run.plan, tracks)
            self.store.publish_directory(run.out, prefix)
            media = RevisionMedia(
                captions=files.captions,
                ladder_info=run.ladder_info,
                source_info=run.info.to_json() if run.source.probed_now else None,
            )
            if not joined:
                self.catalogue.commit_revision(
                    asset_id, revision, files.renditions, files.duration, media=media
                )
            elif not self.catalogue.replace_renditions(
                asset_id, revision, files.renditions, files.duration, media=media
            ):
                raise TranscodeError("the asset moved to another revision while it was joined")
        if not joined:
            run.timer.mark_ready()
            self._drop_old_revisions(asset_id, revision)
        return revision

    def _drop_old_revisions(self, asset_id: str, current: int) -> None:
        """Keep the current and the previous revision's files (players finishing old URLs)."""
        for revision in range(1, current - 1):
            try:
                self.store.delete_prefix(packaged_prefix(asset_id, revision))
                self.store.delete_prefix(windows_prefix(asset_id, revision))
            except StorageError:
                log.warning("could not delete revision %d of %s", revision, asset_id)

    def master_path(self, key: str) -> Path:
        """A local file of the master for on-demand window encodes: the store's own file, or
        one download per process kept under the work directory (S3)."""
        path = self.store.local_path(key)
        if path is not None and path.is_file():
            return path
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        cached = self.settings.work_dir / "masters" / name
        with self._masters_lock:
            if not cached.is_file():
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_suffix(".part")
                with self.store.open(key) as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
                os.replace(partial, cached)
        return cached

    # -- inputs -------------------------------------------------------------------------------
    def _local_source(self, key: str, work: Path, name: str = "source") -> Path:
        path = self.store.local_path(key)
        if path is not None and path.is_file():
            return path
        staged = work / name
        with self.store.open(key) as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
        return staged

    def _audio_inputs(self, asset_id: str, work: Path) -> list[tuple[AudioUpload, Path]]:
        """Uploaded audio tracks that still probe fine (a bad one fails the job clearly)."""
        inputs = []
        for n, upload in enumerate(self.media.audio_uploads(asset_id)):
            path = self._local_source(upload.source_key, work, f"audio{n}")
            try:
                probe_audio(path, max_duration_s=self.settings.max_source_duration_s)
            except SourceInvalid as exc:
                raise SourceInvalid(f"uploaded audio track {upload.label!r}: {exc}") from exc
            inputs.append((upload, path))
        return inputs
