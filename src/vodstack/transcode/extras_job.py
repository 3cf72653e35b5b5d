"""The extras of a committed revision, made after it is ready: poster and storyboard, the MP4
download, sampled VMAF per rung (issue #16: "ready means the ladder, not the extras").

Why a job of its own: quality scores alone cost about 45 % of the ladder's CPU, and a viewer
needs none of these to press play. The transcode job commits the ladder and queues this one
(on the backfill queue, so a new upload's ladder always comes first). It reads the committed
tracks back from the store, writes its files under ``{revision prefix}/extras/`` in one step,
then records them (and the VMAF of each rendition) in the catalogue. A failed extra is logged
with its reason in the job's ``stages.extras``; it never fails the asset.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from vodstack.catalogue import (
    ACTIVE_JOB_STATES,
    EXTRAS_KIND,
    FINAL_JOB_STATES,
    Asset,
    AssetFile,
    Catalogue,
    Rendition,
)
from vodstack.errors import NotFound, TranscodeError
from vodstack.ingest import SourceInfo
from vodstack.media import ffmpeg_exe, run_ffmpeg
from vodstack.storage import packaged_prefix
from vodstack.transcode.bounds import MediaBound
from vodstack.transcode.derive import Derived, derive
from vodstack.transcode.stage import TranscodeStage
from vodstack.transcode.timing import StageTimer

log = logging.getLogger(__name__)

EXTRAS_DIR = "extras"


class ExtrasStage:
    def __init__(self, stage: TranscodeStage) -> None:
        self.stage = stage
        self.settings = stage.settings
        self.catalogue = stage.catalogue
        self.store = stage.store
        self.media = stage.media

    def run(
        self,
        asset_id: str,
        job_id: str,
        on_progress: Callable[[float], None],
        cancel: threading.Event,
        timer: StageTimer,
    ) -> int | None:
        """Make the extras of the asset's current revision; returns that revision, or None
        when there is nothing to do (not committed yet, or still a progressive revision whose
        transcode job will queue extras again when it has joined the windows)."""
        asset = self.catalogue.get_asset(asset_id)
        revision = asset.revision
        rows = self.catalogue.renditions(asset_id, revision) if revision else []
        if not rows or any(r.layout == "windowed" for r in rows) or not asset.source_info:
            return None
        timer.revision = revision
        info = SourceInfo.from_json(asset.source_info)
        timer.media_s = info.duration
        template = (asset.ladder_info or {}).get("template")
        known = template in self.settings.ladder_profiles
        profile = self.stage.planner.profile(template if known else None)
        uploads = self.media.audio_uploads(asset_id)
        plan = self.stage.planner.plan(info, profile=profile, uploads=uploads)
        present = {r.track_id for r in rows}
        plan = replace(plan, rungs=tuple(r for r in plan.rungs if r.track_id in present))
        if not plan.rungs_for("h264"):
            return None
        work = self.settings.work_dir / job_id
        shutil.rmtree(work, ignore_errors=True)
        out = work / "out"
        out.mkdir(parents=True)

        # The master's length was checked by the transcode job (bounds.py): a watchdog here too
        watchdog_s = MediaBound(info.duration, self.settings.ffmpeg_timeout_factor).watchdog_s

        def run(argv: list[str]) -> None:
            if cancel.is_set():
                raise TranscodeError("extras cancelled")
            run_ffmpeg(argv, cancel=cancel, timeout_s=watchdog_s)

        try:
            with timer.stage("fetch"):
                for row in rows:
                    if row.kind in ("video", "audio"):
                        self._link(row, out / f"{row.track_id}.mp4")
            derived = derive(
                ffmpeg_exe(),
                lambda: self.stage._local_source(asset.source_key, work),
                out,
                plan,
                {r.track_id: len(r.fragments or ()) for r in rows},
                info,
                self.settings,
                run,
                timer,
                title=asset.title,
                on_step=on_progress,
                cancel=cancel,
            )
            with timer.stage("publish"):
                self._publish(asset_id, revision, out, work / EXTRAS_DIR, derived)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return revision

    def _link(self, row: Rendition, target: Path) -> None:
        """The committed track as a local file: the store's own, else downloaded."""
        path = self.store.local_path(row.file_key)
        if path is not None and path.is_file():
            target.symlink_to(path)
            return
        if not self.store.exists(row.file_key):  # not NotFound: that means the asset is gone
            raise TranscodeError(f"track {row.track_id} of revision {row.revision} is missing")
        with self.store.open(row.file_key) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 * 1024 * 1024)

    def _publish(
        self, asset_id: str, revision: int, out: Path, staged: Path, derived: Derived
    ) -> None:
        """Store the files in one step, then record them: a file row always names a file."""
        staged.mkdir()
        for rel, _, _ in derived.files.values():
            shutil.move(out / rel, staged / rel)
        prefix = f"{packaged_prefix(asset_id, revision)}/{EXTRAS_DIR}"
        self.store.delete_prefix(prefix)  # a crashed attempt's files, never recorded
        if derived.files:
            self.store.publish_directory(staged, prefix)
        files = [
            AssetFile(kind=kind, file_key=f"{prefix}/{rel}", size=size, meta=meta)
            for kind, (rel, size, meta) in derived.files.items()
        ]
        try:
            if self.catalogue.get_asset(asset_id).revision not in (revision, revision + 1):
                raise NotFound("the revision was replaced while its extras were made")
        except NotFound:
            self.store.delete_prefix(prefix)
            raise
        self.media.set_files(asset_id, revision, files)
        self.media.set_quality(asset_id, revision, derived.vmaf)


def extras_status(catalogue: Catalogue, asset: Asset) -> dict[str, Any] | None:
    """What the API and ``assets show`` say about the extras of the served revision:
    ``state`` (pending: not started yet, e.g. while a progressive ladder is still encoded;
    queued; running; ready; failed: their job gave up), each extra's state and the job's
    stage timings. None before any revision is committed."""
    if asset.revision == 0:
        return None
    job = catalogue.latest_job(asset.id, kind=EXTRAS_KIND)
    stages = dict(job.stages or {}) if job is not None else {}
    items = stages.pop("extras", {})
    current = stages.get("revision") == asset.revision
    if job is None or (job.state in FINAL_JOB_STATES and not current):
        return {"state": "pending", "revision": asset.revision, "items": {}}
    if job.state in ACTIVE_JOB_STATES:
        state = job.state
    else:
        state = "ready" if job.state == "succeeded" else "failed"
    return {
        "state": state,
        "revision": asset.revision,
        "job": job.id,
        "error": job.error if state == "failed" else None,
        "items": items if current else {},
        "timings": stages if current else None,
    }
