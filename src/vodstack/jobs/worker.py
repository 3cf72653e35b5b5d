"""In-process worker pool: claims jobs from the catalogue, runs them, retries with backoff.

Jobs live in the catalogue, not in memory, so nothing is lost when the process dies: a job's
lease is renewed while it runs, and a lapsed lease (worker crashed) puts it back in the queue
for any worker — this process after a restart, or another one sharing the database.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vodstack.catalogue import Catalogue, ClaimedJob
from vodstack.errors import SourceInvalid, VodstackError
from vodstack.jobs.owner import host_name, is_gone, owner_prefix, parse_owner
from vodstack.telemetry import logs

log = logging.getLogger(__name__)

_RECLAIM_EVERY_S = 5.0

ProgressFn = Callable[[float], None]
JobHandler = Callable[[ClaimedJob, ProgressFn, threading.Event], None]
FailureHook = Callable[[ClaimedJob, str], None]
RetryHook = Callable[[ClaimedJob, float], None]
# Told once per job that ended (``succeeded`` or ``failed``; a dead-lettered job has failed)
# with the run time of its last attempt, in seconds. Not told of retries or lost leases.
EndHook = Callable[[ClaimedJob, str, float], None]


# Errors that will not go away by trying again: fail at once, do not burn attempts.
class WorkerKilled(VodstackError):
    """Attempts were used up by workers that died mid-job."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (SourceInvalid, WorkerKilled)


@dataclass(frozen=True, slots=True)
class PoolConfig:
    workers: int = 1
    lease_s: int = 10
    poll_s: float = 0.5
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    # Final failures land in the dead-letter queue (job state ``dead``) instead of ``failed``.
    dead_letter: bool = False


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, VodstackError):
        return exc.message
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        # any stage that writes (window chunks, joins, indexes) can meet a full disk
        return f"the disk is full: {exc.strerror} (free space in the work or media directory)"
    return f"internal error ({type(exc).__name__}); see the server log"


def backoff_delay(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential backoff: ``base``, 2×``base``, 4×``base``, … capped at ``max_s``."""
    return min(max_s, base_s * 2 ** max(0, attempt - 1))


def reclaim_dead_local(catalogue: Catalogue) -> list[str]:
    """Requeue, now, the running jobs of processes of this host that no longer exist.

    Why: a restarted ``serve`` (or a sibling process on the same machine) need not wait out
    the lease of a worker killed with ``kill -9``; see ``jobs/owner.py``."""
    host = host_name()
    reclaimed = []
    for job_id, owner in catalogue.running_leases(f"{host}:"):
        parsed = parse_owner(owner)
        if parsed is None or parsed.host != host or not is_gone(parsed):
            continue
        if catalogue.requeue_lease(job_id, owner, "worker stopped while running; retrying"):
            log.warning("job %s: its worker %s is gone; queued again", job_id, owner)
            reclaimed.append(job_id)
    return reclaimed


def split_kind(kind: str) -> tuple[str, str | None]:
    """``"transcode:hd"`` → ``("transcode", "hd")``: a job kind may carry one parameter (the
    ladder template), so the job row alone says everything needed to run it again."""
    base, _, param = kind.partition(":")
    return base, (param or None)


class JobRunner:
    """Runs one claimed job under a lease heartbeat and records its outcome.

    Shared by the in-process pool and the Celery task, so both modes have the same retry,
    backoff and dead-letter rules. ``on_retry`` is told when a job went back to the queue with
    a delay (the broker mode sends a delayed message then; the pool just polls); ``on_end``
    when a job ended (for metrics).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        handlers: dict[str, JobHandler],
        on_final_failure: FailureHook,
        config: PoolConfig,
        *,
        on_retry: RetryHook | None = None,
        on_end: EndHook | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.handlers = handlers
        self.on_final_failure = on_final_failure
        self.config = config
        self.on_retry = on_retry
        self.on_end = on_end

    def run(self, job: ClaimedJob) -> str:
        """Run the job; returns ``succeeded``, ``retrying``, ``failed``/``dead`` or ``lost``
        (the lease was taken over, another worker owns the outcome)."""
        token = logs.job_id.set(job.id)  # every log record of this job carries its id
        try:
            return self._run(job)
        finally:
            logs.job_id.reset(token)

    def _run(self, job: ClaimedJob) -> str:
        started = time.monotonic()
        if job.attempt > job.max_attempts:
            # Every earlier attempt ended with its worker dying (the lease lapsed, so no
            # outcome was recorded): a job that kills its worker must still reach the
            # dead-letter queue instead of being retried for ever.
            return self._failed(
                job,
                WorkerKilled(
                    f"the worker stopped during each of {job.max_attempts} attempts "
                    "(crash, out of memory or kill); the job was not retried again"
                ),
                started,
            )
        handler = self.handlers.get(split_kind(job.kind)[0])
        cancel = threading.Event()
        progress = {"value": 0.0}

        def heartbeat() -> None:
            interval = max(1.0, self.config.lease_s / 4)
            while not cancel.wait(interval):
                try:
                    held = self.catalogue.heartbeat(job, self.config.lease_s, progress["value"])
                except Exception:  # the catalogue is briefly unreachable: keep trying
                    log.warning("job %s: heartbeat failed", job.id, exc_info=True)
                    continue
                if not held:
                    log.warning("job %s: lease lost, cancelling", job.id)
                    cancel.set()

        def on_progress(value: float) -> None:
            progress["value"] = value

        beat = threading.Thread(target=heartbeat, name=f"lease-{job.id}", daemon=True)
        beat.start()
        try:
            if handler is None:
                raise VodstackError(f"no handler for job kind {job.kind!r}")
            handler(job, on_progress, cancel)
        except BaseException as exc:
            cancel.set()
            beat.join()
            outcome = self._failed(job, exc, started)
            if not isinstance(exc, Exception):
                raise
            return outcome
        cancel.set()
        beat.join()
        try:
            self.catalogue.finish_job(job)
        except VodstackError as exc:
            log.warning("job %s finished but could not be recorded: %s", job.id, exc.message)
            return "lost"
        self._ended(job, "succeeded", started)
        return "succeeded"

    def _ended(self, job: ClaimedJob, outcome: str, started: float) -> None:
        if self.on_end is None:
            return
        try:
            self.on_end(job, outcome, time.monotonic() - started)
        except Exception:  # a metrics hook must never change a job's outcome
            log.exception("job %s: end hook failed", job.id)

    def _failed(self, job: ClaimedJob, exc: BaseException, started: float) -> str:
        reason = describe_error(exc)
        permanent = isinstance(exc, PERMANENT_ERRORS)
        if isinstance(exc, VodstackError) and not permanent:
            log.warning("job %s attempt %d failed: %s", job.id, job.attempt, reason)
        elif not permanent:
            log.exception("job %s attempt %d crashed", job.id, job.attempt, exc_info=exc)
        if not permanent and job.attempt < job.max_attempts:
            delay = backoff_delay(
                job.attempt, self.config.backoff_base_s, self.config.backoff_max_s
            )
            self.catalogue.retry_job(job, error=reason, delay_s=delay)
            if self.on_retry is not None:
                self.on_retry(job, delay)
            return "retrying"
        try:
            self.catalogue.finish_job(job, error=reason, dead_letter=self.config.dead_letter)
        except VodstackError:
            return "lost"  # lease lost: another worker owns the outcome now
        # Before the failure hook: it marks the asset failed, and whoever sees that may read
        # the metrics next.
        self._ended(job, "failed", started)
        self.on_final_failure(job, reason)
        return "dead" if self.config.dead_letter else "failed"


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
        only_kind: str | None = None,
        on_end: EndHook | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.config = config
        self.only_asset = only_asset
        self.only_kind = only_kind
        self.runner = JobRunner(catalogue, handlers, on_final_failure, config, on_end=on_end)
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._owner_prefix = owner_prefix()

    def start(self) -> None:
        if self.config.workers:
            try:
                reclaim_dead_local(self.catalogue)
            except Exception:
                log.exception("could not look for jobs of dead workers on this host")
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
        next_reclaim = time.monotonic() + _RECLAIM_EVERY_S
        while not self._stop.is_set():
            try:
                self.catalogue.requeue_expired()
                if n == 0 and time.monotonic() >= next_reclaim:
                    next_reclaim = time.monotonic() + _RECLAIM_EVERY_S
                    reclaim_dead_local(self.catalogue)  # a sibling process died
                job = self.catalogue.claim_job(
                    owner, self.config.lease_s, asset_id=self.only_asset, kind=self.only_kind
                )
            except Exception:
                log.exception("worker %s could not reach the catalogue", owner)
                job = None
            if job is None:
                self.wake.wait(self.config.poll_s)
                self.wake.clear()
                continue
            self.run_one(job)

    def run_one(self, job: ClaimedJob) -> str:
        """Run a claimed job with a lease heartbeat; record success, retry or failure."""
        return self.runner.run(job)
