"""Orchestration of the prepare path: ``source.created`` → transcode job → ``asset.ready``.

Stages do not call each other: ingest announces a source, this module turns that event into a
persisted job, and the job's outcome into asset state and further events.
"""

from __future__ import annotations

import threading

from vodstack.catalogue.repository import Catalogue, ClaimedJob
from vodstack.config import Settings
from vodstack.jobs.bus import (
    ASSET_FAILED,
    ASSET_READY,
    SOURCE_CREATED,
    TRANSCODE_COMPLETED,
    TRANSCODE_FAILED,
    DomainEvent,
    EventBus,
)
from vodstack.jobs.worker import PoolConfig, ProgressFn, WorkerPool
from vodstack.transcode.stage import TranscodeStage


class Pipeline:
    def __init__(
        self, settings: Settings, catalogue: Catalogue, bus: EventBus, stage: TranscodeStage
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.bus = bus
        self.stage = stage
        self._pools: list[WorkerPool] = []
        bus.subscribe(SOURCE_CREATED, self._on_source_created)

    def _on_source_created(self, event: DomainEvent) -> None:
        assert event.asset_id is not None
        self.enqueue_transcode(event.asset_id)

    def enqueue_transcode(self, asset_id: str, queue: str = "ondemand") -> str:
        job = self.catalogue.enqueue_job(
            asset_id, queue=queue, max_attempts=self.settings.job_max_attempts
        )
        for pool in self._pools:
            pool.wake.set()
        return job.id

    def _transcode(self, job: ClaimedJob, progress: ProgressFn, cancel: threading.Event) -> None:
        revision = self.stage.run(job.asset_id, job.id, progress, cancel)
        self.bus.publish(TRANSCODE_COMPLETED, job.asset_id, job_id=job.id, revision=revision)
        self.bus.publish(ASSET_READY, job.asset_id, revision=revision)

    def _failed(self, job: ClaimedJob, reason: str) -> None:
        asset = self.catalogue.get_asset(job.asset_id)
        if asset.revision > 0:  # a failed re-transcode: the committed revision keeps serving
            self.catalogue.update_asset(job.asset_id, error=f"re-transcode failed: {reason}")
        else:
            self.catalogue.update_asset(job.asset_id, status="failed", error=reason)
        self.bus.publish(TRANSCODE_FAILED, job.asset_id, job_id=job.id, error=reason)
        self.bus.publish(ASSET_FAILED, job.asset_id, error=reason)

    def pool(self, *, workers: int | None = None, only_asset: str | None = None) -> WorkerPool:
        """A worker pool running this pipeline's jobs (not started)."""
        pool = WorkerPool(
            self.catalogue,
            {"transcode": self._transcode},
            self._failed,
            PoolConfig(workers=workers or self.settings.workers, lease_s=self.settings.job_lease_s),
            only_asset=only_asset,
        )
        self._pools.append(pool)
        return pool
