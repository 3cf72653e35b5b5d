"""Orchestration of the prepare path: ``source.created`` → transcode job → ``asset.ready`` →
extras job → ``asset.extras_ready``.

Stages do not call each other: ingest announces a source, this module turns that event into a
persisted job, and the job's outcome into asset state and further events.

Where jobs run is the dispatcher's business: without one, the in-process pools of this
process poll the catalogue; with the broker's (``CeleryDispatcher``), every queued job is
also sent to Redis as a nudge carrying its id, and ``vodstack worker`` processes run it.
Either way the job row is the truth and final failures land in the dead-letter queue
(job state ``dead``) while the asset ends ``failed`` with the reason.

Why one module: every job kind's outcome (transcode, extras, fetch) turns into asset state and
events here, side by side, so a reader sees that each failure ends in exactly one state.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sqlalchemy import func, select

from vodstack.base import (
    ASSET_EXTRAS_FAILED,
    ASSET_EXTRAS_READY,
    ASSET_FAILED,
    ASSET_READY,
    JOB_DEAD_LETTERED,
    SOURCE_CREATED,
    TRANSCODE_COMPLETED,
    TRANSCODE_FAILED,
    TRANSCODE_PROGRESS,
    TRANSCODE_STARTED,
    UPLOAD_FAILED,
    DomainEvent,
    EventBus,
)
from vodstack.catalogue import (
    ACTIVE_JOB_STATES,
    EXTRAS_KIND,
    FINAL_JOB_STATES,
    QUEUE_PRIORITY,
    Catalogue,
    ClaimedJob,
    Job,
    PurgeScope,
    Scope,
)
from vodstack.catalogue.repository import FETCH_KIND
from vodstack.config import Settings
from vodstack.errors import ConfigError, NotFound, StorageError
from vodstack.jobs.lifecycle import ProgressSteps
from vodstack.jobs.worker import (
    JobHandler,
    JobRunner,
    PoolConfig,
    ProgressFn,
    WorkerPool,
    split_kind,
)
from vodstack.storage import PACKAGED, packaged_prefix, windows_prefix
from vodstack.telemetry import JobMetrics
from vodstack.transcode import ExtrasStage, StageTimer, TranscodeStage

log = logging.getLogger(__name__)

JOB_REDRIVEN = "job.redriven"
TRANSCODE = "transcode"


class JobDispatcher(Protocol):
    """Tells workers elsewhere that a job may run (after ``delay_s``)."""

    runs_locally: bool

    def send(self, job_id: str, queue: str, delay_s: float = 0.0) -> None: ...


def transcode_kind(ladder: str | None) -> str:
    """The job kind for a ladder template; the default ladder keeps the plain kind."""
    return TRANSCODE if ladder in (None, "default") else f"{TRANSCODE}:{ladder}"


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        bus: EventBus,
        stage: TranscodeStage,
        dispatcher: JobDispatcher | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.bus = bus
        self.stage = stage
        self.extras = ExtrasStage(stage)
        self.dispatcher = dispatcher
        self.metrics = JobMetrics()  # jobs that ended in this process (see JobMetrics)
        self._pools: list[WorkerPool] = []
        bus.subscribe(SOURCE_CREATED, self._on_source_created)

    @property
    def runs_locally(self) -> bool:
        """Whether jobs run in this process's pools (no broker configured)."""
        return self.dispatcher is None

    def _on_source_created(self, event: DomainEvent) -> None:
        assert event.asset_id is not None
        self.enqueue_transcode(event.asset_id)

    def enqueue_transcode(
        self, asset_id: str, queue: str = "ondemand", ladder: str | None = None
    ) -> str:
        if (ladder or "default") not in self.settings.ladder_templates:
            known = ", ".join(self.settings.ladder_templates)
            raise ConfigError(f"no ladder named {ladder!r}; known: {known}")
        job = self.catalogue.enqueue_job(
            asset_id,
            kind=transcode_kind(ladder),
            queue=queue,
            max_attempts=self.settings.job_max_attempts,
        )
        # Also for a job that already existed: a duplicate nudge is a no-op, a lost one is not.
        self.dispatch(job.id, job.queue)
        return job.id

    def enqueue_extras(self, asset_id: str) -> str:
        """Queue the extras of the asset's committed revision, on the backfill queue: the
        ladder of a new upload always comes before them."""
        job = self.catalogue.enqueue_job(
            asset_id,
            kind=EXTRAS_KIND,
            queue="backfill",
            max_attempts=self.settings.job_max_attempts,
        )
        self.dispatch(job.id, job.queue)
        return job.id

    def dispatch(self, job_id: str, queue: str, delay_s: float = 0.0) -> None:
        if self.dispatcher is not None:
            self.dispatcher.send(job_id, queue, delay_s)
            return
        for pool in self._pools:
            pool.wake.set()

    # -- gauges ------------------------------------------------------------------------------
    def job_counts(self) -> dict[str, int]:
        """Jobs per state across all processes, every state listed: a state that emptied must
        read 0, not keep the last count a gauge was set to."""
        counts = dict.fromkeys((*ACTIVE_JOB_STATES, *FINAL_JOB_STATES), 0)
        return counts | self.catalogue.job_counts()

    def queue_depths(self) -> dict[str, int]:
        """Queued jobs per queue (retries waiting out their backoff included), every queue
        listed."""
        with self.catalogue.db.session() as session:
            rows = session.execute(
                select(Job.queue, func.count()).where(Job.state == "queued").group_by(Job.queue)
            )
            return dict.fromkeys(QUEUE_PRIORITY, 0) | dict(rows.all())

    def _job_ended(self, job: ClaimedJob, outcome: str, seconds: float) -> None:
        if split_kind(job.kind)[0] == TRANSCODE:
            self.metrics.transcode_ended(outcome, seconds)

    # -- dead-letter queue --------------------------------------------------------------------
    def dead_jobs(self, limit: int = 1000) -> list[Job]:
        return self.catalogue.list_jobs(state="dead", limit=limit)

    def redrive(self, job_id: str) -> Job:
        """Put a dead job back in its queue with fresh attempts (after fixing its cause)."""
        previous = self.catalogue.get_job(job_id)
        job = self.catalogue.redrive_job(job_id)
        if split_kind(job.kind)[0] == FETCH_KIND:  # downloading again, not failed any more
            self.catalogue.mark_fetching(job.asset_id)
        self.bus.publish(
            JOB_REDRIVEN,
            job.asset_id,
            job_id=job.id,
            queue=job.queue,
            previous_attempts=previous.attempts,
            previous_error=previous.error,
        )
        self.dispatch(job.id, job.queue)
        return job

    def resend_queued(self) -> list[str]:
        """Dispatch every queued job again (after a broker lost its data). Idempotent: a job
        runs once, whichever worker claims it first; duplicates find it claimed."""
        queued = self.catalogue.list_jobs(state="queued", limit=1_000_000)
        for job in queued:
            self.dispatch(job.id, job.queue)
        return [job.id for job in queued]

    # -- handlers -------------------------------------------------------------------------------
    def _timer(self, job: ClaimedJob) -> StageTimer:
        """Stage timings saved in the job row (the API shows them) and fed to /metrics."""
        return StageTimer(
            save=lambda data: self.catalogue.set_job_stages(job.id, data),
            on_stage=self.metrics.stage_ended,
        )

    def _transcode(self, job: ClaimedJob, progress: ProgressFn, cancel: threading.Event) -> None:
        _, ladder = split_kind(job.kind)
        self.bus.publish(
            TRANSCODE_STARTED,
            job.asset_id,
            job_id=job.id,
            attempt=job.attempt,
            ladder=ladder or "default",
        )
        progress = _announced(progress, self.settings.webhook_progress_step, self.bus, job)
        try:
            self._refresh_master(job.asset_id)
            revision = self.stage.run(
                job.asset_id,
                job.id,
                progress,
                cancel,
                ladder=ladder,
                on_ready=lambda rev: self.bus.publish(
                    ASSET_READY,
                    job.asset_id,
                    revision=rev,
                    progressive=True,
                    purge=_revision_purge(rev),
                ),
                timer=self._timer(job),
            )
        except NotFound:
            self._clean_deleted(job.asset_id)
            raise
        self.bus.publish(
            TRANSCODE_COMPLETED,
            job.asset_id,
            job_id=job.id,
            revision=revision,
            ladder=ladder or "default",
            worker=job.owner,
            attempt=job.attempt,
        )
        self.bus.publish(
            ASSET_READY, job.asset_id, revision=revision, purge=_revision_purge(revision)
        )
        self.enqueue_extras(job.asset_id)

    def _fetch(self, job: ClaimedJob, progress: ProgressFn, cancel: threading.Event) -> None:
        """Download a master from its URL (ingest/url_ingest.py)."""
        from vodstack.ingest.url_ingest import UrlIngestor

        UrlIngestor(self.settings, self.catalogue, self.stage.store, self.bus).run(
            job, progress, cancel
        )

    def _extras(self, job: ClaimedJob, progress: ProgressFn, cancel: threading.Event) -> None:
        """Make the extras of the current revision; a revision committed meanwhile (a
        re-transcode while this job ran) gets its own turn in the same job."""
        done: int | None = None
        while True:
            try:
                asset = self.catalogue.get_asset(job.asset_id)
            except NotFound:
                return  # deleted: nothing to make
            if asset.revision in (done, 0):
                return
            timer = self._timer(job)
            try:
                revision = self.extras.run(job.asset_id, job.id, progress, cancel, timer)
            except NotFound:
                return  # deleted or replaced meanwhile
            if revision is None:
                return
            # new poster, storyboard and download: what lives outside the tags, and playlists
            self.bus.publish(
                ASSET_EXTRAS_READY,
                job.asset_id,
                revision=revision,
                extras=timer.extras,
                purge=PurgeScope(Scope.REVISION).to_payload(),
            )
            done = revision

    def _refresh_master(self, asset_id: str) -> None:
        """Forget cached metadata of the master: an operator may have replaced it in the bucket
        (the fix before a re-drive), and a stale size/ETag would read the old bytes."""
        forget = getattr(self.stage.store, "forget", None)
        if forget is not None:
            forget(self.catalogue.get_asset(asset_id).source_key)

    def _clean_deleted(self, asset_id: str) -> None:
        """The asset was deleted while it transcoded: drop whatever the job published."""
        try:
            self.catalogue.get_asset(asset_id)
        except NotFound:
            self.stage.store.delete_prefix(f"{PACKAGED}/{asset_id}")

    def _drop_revision(self, asset_id: str, revision: int) -> None:
        """Reclaim the files of a revision nothing will serve (a failed job's uncommitted
        revision: a windowed job's layout and chunks, a crashed publish; or a progressive
        revision with holes), unless a newer job has already started on it. A re-drive then
        starts a fresh revision from the master."""
        latest = self.catalogue.latest_job(asset_id)
        if latest is not None and latest.state in ACTIVE_JOB_STATES:
            return
        try:
            self.stage.store.delete_prefix(packaged_prefix(asset_id, revision))
            self.stage.store.delete_prefix(windows_prefix(asset_id, revision))
        except StorageError:
            log.warning("could not reclaim revision %d of %s", revision, asset_id)

    def _failed(self, job: ClaimedJob, reason: str) -> None:
        kind = split_kind(job.kind)[0]
        self.bus.publish(
            JOB_DEAD_LETTERED,
            job.asset_id,
            job_id=job.id,
            kind=job.kind,
            attempts=job.attempt,
            error=reason,
        )
        if kind == EXTRAS_KIND:  # extras never fail the asset
            self.bus.publish(ASSET_EXTRAS_FAILED, job.asset_id, job_id=job.id, error=reason)
            return
        if kind == FETCH_KIND:  # a URL ingest that could not download its master
            try:
                self.catalogue.mark_failed(job.asset_id, reason)
            except NotFound:
                return
            self.bus.publish(UPLOAD_FAILED, job.asset_id, job_id=job.id, error=reason)
            self.bus.publish(ASSET_FAILED, job.asset_id, error=reason)
            return
        try:
            asset = self.catalogue.get_asset(job.asset_id)
        except NotFound:
            return  # deleted meanwhile: nothing left to mark
        # The unserved revision's files go first: whoever sees the failed state (a client
        # polling the asset) finds nothing of it left in the store.
        self._drop_revision(job.asset_id, asset.revision + 1)
        if asset.revision > 0 and self.stage.served_windowed(job.asset_id, asset.revision):
            # a progressive revision that can never be completed: stop offering a title with
            # holes in it (served: its state changes before its files go)
            self.catalogue.mark_failed(job.asset_id, reason)
            self._drop_revision(job.asset_id, asset.revision)
        elif asset.revision > 0:  # a failed re-transcode: the committed revision keeps serving
            self.catalogue.note_failed_retranscode(job.asset_id, reason)
        else:
            self.catalogue.mark_failed(job.asset_id, reason)
        self.bus.publish(
            TRANSCODE_FAILED,
            job.asset_id,
            job_id=job.id,
            error=reason,
            attempts=job.attempt,
            dead_letter=True,
        )
        self.bus.publish(ASSET_FAILED, job.asset_id, error=reason)

    # -- runners --------------------------------------------------------------------------------
    def _config(self, workers: int) -> PoolConfig:
        return PoolConfig(
            workers=workers,
            lease_s=self.settings.job_lease_s,
            backoff_base_s=self.settings.job_backoff_s,
            backoff_max_s=self.settings.job_backoff_max_s,
            dead_letter=True,
        )

    def _handlers(self) -> dict[str, JobHandler]:
        return {TRANSCODE: self._transcode, EXTRAS_KIND: self._extras, FETCH_KIND: self._fetch}

    def runner(self) -> JobRunner:
        """Runs one claimed job (broker workers); a retry is sent back as a delayed nudge."""

        def on_retry(job: ClaimedJob, delay_s: float) -> None:
            try:
                queue = self.catalogue.get_job(job.id).queue
            except NotFound:
                return
            self.dispatch(job.id, queue, delay_s)

        return JobRunner(
            self.catalogue,
            self._handlers(),
            self._failed,
            self._config(1),
            on_retry=on_retry,
            on_end=self._job_ended,
        )

    def pool(
        self,
        *,
        workers: int | None = None,
        only_asset: str | None = None,
        only_kind: str | None = None,
    ) -> WorkerPool:
        """A worker pool running this pipeline's jobs (of one base kind: ``only_kind``) (not
        started).

        With a broker the pool has no threads: jobs run in ``vodstack worker`` processes, so
        ``serve`` and ``ingest --wait`` only watch the catalogue.
        """
        count = (workers or self.settings.workers) if self.runs_locally else 0
        pool = WorkerPool(
            self.catalogue,
            self._handlers(),
            self._failed,
            self._config(count),
            only_asset=only_asset,
            only_kind=only_kind,
            on_end=self._job_ended,
        )
        self._pools.append(pool)
        return pool


def _announced(progress: ProgressFn, step: float, bus: EventBus, job: ClaimedJob) -> ProgressFn:
    """``progress``, also publishing ``transcode.progress`` at each step crossed."""
    steps = ProgressSteps(
        step,
        lambda fraction: bus.publish(
            TRANSCODE_PROGRESS, job.asset_id, job_id=job.id, progress=fraction
        ),
    )

    def both(value: float) -> None:
        progress(value)
        steps(value)

    return both


def _revision_purge(revision: int) -> dict[str, object]:
    """A new revision changes manifests, playlists and the untagged files (poster,
    thumbnails, storyboard, download); its segments have URLs of their own, and the
    previous revision's stay served (players finishing) — older ones are retired."""
    return PurgeScope(Scope.REVISION, revision=revision).to_payload()
