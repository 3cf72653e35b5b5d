"""``vodstack worker`` with a broker: one supervisor, one Celery worker process per *lane*.

A lane consumes one queue with its own slots, so bulk work can never take the slot a new
upload needs:

* ``ondemand`` — new uploads (and single re-transcodes), normal CPU priority;
* ``backfill`` — catalogue-wide re-transcodes, run ``nice``\\ d (``backfill_nice``): while
  both run, the kernel gives the upload's FFmpeg the cores first;
* ``webhooks`` — webhook deliveries, a few threads of network I/O.

Why processes and not one Celery worker consuming every queue: Celery has no per-queue
concurrency, and a worker whose slots are all busy with backfill jobs takes no upload until
one finishes (measured in ``bench/backfill.py``). Lanes use Celery's thread pool: the work is
FFmpeg subprocesses and I/O, and threads keep database engines and S3 clients fork-free.

The supervisor also runs the *sweeper*: jobs whose lease lapsed (their worker was killed) go
back to the queue and are sent again; and it restarts a lane that dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from vodstack.catalogue import Catalogue, is_valid_id, utcnow
from vodstack.compose.celery_app import (
    BACKFILL,
    LANES,
    ONDEMAND,
    TASK_DELIVER_WEBHOOK,
    TASK_RUN_JOB,
    TASK_RUN_OPERATION,
    WEBHOOKS,
    make_celery,
)
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings
from vodstack.errors import NotFound
from vodstack.jobs import JobDispatcher
from vodstack.jobs.operations import resume_stale
from vodstack.jobs.owner import owner_prefix
from vodstack.jobs.webhooks import Delivery as WebhookDelivery
from vodstack.jobs.worker import reclaim_dead_local

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

WEBHOOK_THREADS = 4
_PR_SET_PDEATHSIG = 1


# -- one lane ------------------------------------------------------------------------------------
class LaneRuntime:
    """What a lane's tasks need: the services of this process and a job runner."""

    def __init__(self, services: Services, lane: str) -> None:
        self.services = services
        self.lane = lane
        self.runner = services.pipeline.runner()
        self.owner_prefix = f"{owner_prefix()}:{lane}"

    def run_job(self, job_id: str) -> str:
        """Claim the job (conditional update) and run it; a no-op unless it is ours to run."""
        catalogue = self.services.catalogue
        owner = f"{self.owner_prefix}:{threading.get_native_id()}"
        job = catalogue.claim_job_by_id(job_id, owner, self.services.settings.job_lease_s)
        if job is None:
            return self._not_claimed(job_id)
        log.info("job %s attempt %d on %s", job.id, job.attempt, owner)
        return self.runner.run(job)

    def _not_claimed(self, job_id: str) -> str:
        try:
            row = self.services.catalogue.get_job(job_id)
        except NotFound:
            return "gone"  # its asset was deleted
        if row.state == "queued" and row.not_before is not None:
            # Early (a duplicate of a delayed retry): come back when it is due.
            wait = (row.not_before - utcnow()).total_seconds()
            if wait > 0:
                self.services.pipeline.dispatch(job_id, row.queue, wait)
                return "deferred"
        log.info("job %s is %s: nothing to do", job_id, row.state)
        return "duplicate"

    def run_operation(self, operation_id: str) -> str:
        """Drive a catalogue-wide operation (a no-op when another driver holds it)."""
        from vodstack.jobs.operations import drive

        return drive(self.services, operation_id).state

    def deliver_webhook(self, delivery: dict[str, Any], attempt: int) -> bool:
        webhooks = self.services.webhooks
        if webhooks is None:
            log.warning("webhook delivery received but no webhook_urls are configured here")
            return False
        return webhooks.attempt(WebhookDelivery.from_dict(delivery), attempt)


def register_tasks(app: Celery, runtime: LaneRuntime) -> None:
    """The task types; each carries ids/data only, the catalogue has the state."""

    @app.task(name=TASK_RUN_JOB, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def run_job(job_id: str) -> str:
        return runtime.run_job(job_id)

    @app.task(
        name=TASK_RUN_OPERATION, acks_late=True, reject_on_worker_lost=True, ignore_result=True
    )
    def run_operation(operation_id: str) -> str:
        return runtime.run_operation(operation_id)

    @app.task(name=TASK_DELIVER_WEBHOOK, acks_late=True, ignore_result=True)
    def deliver_webhook(delivery: dict[str, Any], attempt: int) -> bool:
        return runtime.deliver_webhook(delivery, attempt)


def lane_concurrency(settings: Settings, lane: str) -> int:
    return {
        ONDEMAND: settings.worker_ondemand_concurrency,
        BACKFILL: settings.worker_backfill_concurrency,
        WEBHOOKS: WEBHOOK_THREADS,
    }[lane]


def lower_cpu_priority(nice: int) -> None:
    """Backfill yields the CPU: ``SCHED_IDLE`` (runs only on cores nothing else wants) where
    the kernel has it, plus ``nice``. Threads and FFmpeg processes started afterwards from this
    thread inherit both, so an upload's transcode on the same machine keeps its speed."""
    if nice:
        os.nice(nice)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def run_lane(settings: Settings, lane: str) -> int:
    """Run one lane's Celery worker in this process until it is told to stop."""
    if lane not in LANES:
        raise ValueError(f"unknown lane {lane!r}")
    if lane == BACKFILL:
        lower_cpu_priority(settings.backfill_nice)
    services = build_services(settings)
    app = make_celery(settings)
    register_tasks(app, LaneRuntime(services, lane))
    worker = app.Worker(
        hostname=f"{lane}-{os.getpid()}@{socket.gethostname()}",
        queues=[lane],
        pool_cls="threads",
        concurrency=lane_concurrency(settings, lane),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        quiet=True,
        loglevel=settings.log_level,
    )
    try:
        worker.start()
    finally:
        services.close()
    return worker.exitcode or 0


# -- the supervisor ------------------------------------------------------------------------------
def sweep(catalogue: Catalogue, dispatcher: JobDispatcher) -> list[str]:
    """Put jobs whose worker died back in their queue and send them again."""
    resent = []
    for job_id in [*catalogue.requeue_expired(), *reclaim_dead_local(catalogue)]:
        try:
            job = catalogue.get_job(job_id)
        except NotFound:
            continue
        dispatcher.send(job_id, job.queue)
        resent.append(job_id)
        log.warning("job %s: its worker stopped; sent again", job_id)
    return resent


def clean_stale_work(settings: Settings, catalogue: Catalogue) -> int:
    """Remove scratch directories of jobs that are not running (left by a killed worker)."""
    if not settings.work_dir.is_dir():
        return 0
    removed = 0
    for path in settings.work_dir.iterdir():
        if not is_valid_id(path.name):
            continue
        try:
            if catalogue.get_job(path.name).state == "running":
                continue
        except NotFound:
            pass
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def _die_with_parent() -> None:
    """In the child before exec: if the supervisor dies (even ``kill -9``), so does the lane."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    def __init__(self, services: Services, lanes: tuple[str, ...]) -> None:
        self.services = services
        self.settings = services.settings
        self.lanes = lanes
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()

    def _spawn(self, lane: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "vodstack.cli", "worker", "--lane", lane]
        return subprocess.Popen(argv, preexec_fn=_die_with_parent)  # noqa: PLW1509

    def _sweeper(self) -> None:
        dispatcher = self.services.pipeline.dispatcher
        assert dispatcher is not None
        while not self.stopping.wait(self.settings.job_sweep_s):
            try:
                sweep(self.services.catalogue, dispatcher)
                resume_stale(self.services)  # catalogue-wide operations whose driver died
            except Exception:
                log.warning("sweeper could not reach the catalogue or broker", exc_info=True)

    def run(self) -> int:
        clean_stale_work(self.settings, self.services.catalogue)
        for lane in self.lanes:
            self.procs[lane] = self._spawn(lane)
        threading.Thread(target=self._sweeper, name="vodstack-sweeper", daemon=True).start()
        restarts: dict[str, float] = {}
        while not self.stopping.wait(0.5):
            for lane, proc in list(self.procs.items()):
                if proc.poll() is None:
                    continue
                # A lane died (crash, OOM kill): start it again, at most every 5 s.
                if time.monotonic() - restarts.get(lane, float("-inf")) < 5:
                    continue
                log.error("lane %s exited with %s; restarting", lane, proc.returncode)
                restarts[lane] = time.monotonic()
                self.procs[lane] = self._spawn(lane)
        return self._stop_lanes()

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def _stop_lanes(self) -> int:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # Celery's warm shutdown: running jobs finish first
        deadline = time.monotonic() + 60
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()  # unacknowledged: another worker will take the job over
                proc.wait()
        return 0


def supervise(services: Services, lanes: tuple[str, ...] = LANES) -> int:
    """Run ``lanes`` as child processes until SIGTERM/SIGINT; returns the exit code."""
    supervisor = Supervisor(services, lanes)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()
