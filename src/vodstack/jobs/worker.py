"""In-process worker pool: claims jobs from the catalogue, runs them, retries with backoff.

Jobs live in the catalogue, not in memory, so nothing is lost when the process dies: a job's
lease is renewed while it runs, and a lapsed lease (worker crashed) puts it back in the queue
for any worker — this process after a restart, or another one sharing the database.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from vodstack.catalogue.repository import Catalogue, ClaimedJob
from vodstack.errors import SourceInvalid, VodstackError

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]
JobHandler = Callable[[ClaimedJob, ProgressFn, threading.Event], None]
FailureHook = Callable[[ClaimedJob, str], None]

# Errors that will not go away by trying again: fail at once, do not burn attempts.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (SourceInvalid,)


@dataclass(frozen=True, slots=True)
class PoolConfig:
    workers: int = 1
    lease_s: int = 60
    poll_s: float = 0.5
    backoff_base_s: float = 2.0


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, VodstackError):
        return exc.message
    return f"internal error ({type(exc).__name__}); see the server log"


class WorkerPool:
    """N threads that each claim and run one job at a time."""

    def __init__(
        self,
        catalogue: Catalogue,
        handlers: dict[str, JobHandler],
        on_final_failure: FailureHook,
        config: PoolConfig,
        *,
        only_asset: str | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.handlers = handlers
        self.on_final_failure = on_final_failure
        self.config = config
        self.only_asset = only_asset
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._owner_prefix = f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> None:
        for n in range(self.config.workers):
            t = threading.Thread(
                target=self._loop, args=(n,), name=f"vodstack-worker-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        for t in self._threads:
            t.join(timeout)

    def _loop(self, n: int) -> None:
        owner = f"{self._owner_prefix}:{n}"
        while not self._stop.is_set():
            try:
                self.catalogue.requeue_expired()
                job = self.catalogue.claim_job(owner, self.config.lease_s, asset_id=self.only_asset)
            except Exception:
                log.exception("worker %s could not reach the catalogue", owner)
                job = None
            if job is None:
                self.wake.wait(self.config.poll_s)
                self.wake.clear()
                continue
            self.run_one(job)

    def run_one(self, job: ClaimedJob) -> None:
        """Run a claimed job with a lease heartbeat; record success, retry or failure."""
        handler = self.handlers.get(job.kind)
        cancel = threading.Event()
        progress = {"value": 0.0}

        def heartbeat() -> None:
            interval = max(1.0, self.config.lease_s / 4)
            while not cancel.wait(interval):
                if not self.catalogue.heartbeat(job, self.config.lease_s, progress["value"]):
                    log.warning("job %s: lease lost, cancelling", job.id)
                    cancel.set()

        def on_progress(value: float) -> None:
            progress["value"] = value

        beat = threading.Thread(target=heartbeat, daemon=True)
        beat.start()
        try:
            if handler is None:
                raise VodstackError(f"no handler for job kind {job.kind!r}")
            handler(job, on_progress, cancel)
        except BaseException as exc:
            cancel.set()
            beat.join()
            self._failed(job, exc)
            if not isinstance(exc, Exception):
                raise
            return
        cancel.set()
        beat.join()
        try:
            self.catalogue.finish_job(job)
        except VodstackError as exc:
            log.warning("job %s finished but could not be recorded: %s", job.id, exc.message)

    def _failed(self, job: ClaimedJob, exc: BaseException) -> None:
        reason = describe_error(exc)
        permanent = isinstance(exc, PERMANENT_ERRORS)
        if isinstance(exc, VodstackError) and not permanent:
            log.warning("job %s attempt %d failed: %s", job.id, job.attempt, reason)
        elif not permanent:
            log.exception("job %s attempt %d crashed", job.id, job.attempt, exc_info=exc)
        if not permanent and job.attempt < job.max_attempts:
            delay = self.config.backoff_base_s * 2 ** (job.attempt - 1)
            self.catalogue.retry_job(job, error=reason, delay_s=delay)
            return
        try:
            self.catalogue.finish_job(job, error=reason)
        except VodstackError:
            return  # lease lost: another worker owns the outcome now
        self.on_final_failure(job, reason)
