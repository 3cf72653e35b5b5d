"""Job states, leases, retries: through the real catalogue (SQLite in a temp dir)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from vodstack.catalogue.models import utcnow
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services
from vodstack.errors import SourceInvalid, TranscodeError
from vodstack.jobs.worker import PoolConfig, WorkerPool


def _asset(services: Services) -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id,
        title="t",
        source_key=f"masters/{asset_id}/s.mp4",
        source_name="s.mp4",
        source_size=1,
    )
    return asset_id


def test_enqueue_is_idempotent_while_a_job_is_active(services: Services) -> None:
    asset_id = _asset(services)
    a = services.catalogue.enqueue_job(asset_id, max_attempts=3)
    b = services.catalogue.enqueue_job(asset_id, max_attempts=3)
    assert a.id == b.id
    assert services.catalogue.get_asset(asset_id).status == "queued"


def test_concurrent_claimers_never_share_a_job(services: Services) -> None:
    for _ in range(20):
        services.catalogue.enqueue_job(_asset(services), max_attempts=3)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while (job := services.catalogue.claim_job(f"w{n}", 60)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 20 and len(set(claimed)) == 20


def test_lapsed_lease_puts_the_job_back(services: Services) -> None:
    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=3)
    job = services.catalogue.claim_job("dead-worker", 60)
    assert job is not None
    assert services.catalogue.requeue_expired() == []
    later = utcnow() + timedelta(seconds=61)
    assert services.catalogue.requeue_expired(now=later) == [job.id]
    again = services.catalogue.claim_job("new-worker", 60, now=later)
    assert again is not None and again.id == job.id and again.attempt == 2
    # the dead worker can no longer record an outcome
    assert not services.catalogue.heartbeat(job, 60)


def _pool(services: Services, handler, failures: list) -> WorkerPool:
    return WorkerPool(
        services.catalogue,
        {"transcode": handler},
        lambda job, reason: failures.append(reason),
        PoolConfig(workers=1, lease_s=30, poll_s=0.05, backoff_base_s=0.01),
    )


def _run_until_idle(services: Services, pool: WorkerPool, asset_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = services.catalogue.latest_job(asset_id)
        if job is not None and job.state in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_transient_failure_is_retried_then_succeeds(services: Services) -> None:
    calls: list[int] = []

    def flaky(job, progress, cancel) -> None:
        calls.append(job.attempt)
        if job.attempt < 3:
            raise TranscodeError("FFmpeg failed (exit 1): boom")

    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=3)
    failures: list[str] = []
    pool = _pool(services, flaky, failures)
    pool.start()
    try:
        job = _run_until_idle(services, pool, asset_id)
    finally:
        pool.stop()
    assert calls == [1, 2, 3]
    assert job.state == "succeeded" and job.attempts == 3 and failures == []


def test_attempts_are_bounded_and_the_reason_kept(services: Services) -> None:
    def always(job, progress, cancel) -> None:
        raise TranscodeError("FFmpeg failed (exit 1): Invalid data")

    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=2)
    failures: list[str] = []
    pool = _pool(services, always, failures)
    pool.start()
    try:
        job = _run_until_idle(services, pool, asset_id)
    finally:
        pool.stop()
    assert job.state == "failed" and job.attempts == 2
    assert job.error == "FFmpeg failed (exit 1): Invalid data"
    assert failures == [job.error]


def test_permanent_failure_is_not_retried(services: Services) -> None:
    def invalid(job, progress, cancel) -> None:
        raise SourceInvalid("the file has no video stream (audio only)")

    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=5)
    failures: list[str] = []
    pool = _pool(services, invalid, failures)
    pool.start()
    try:
        job = _run_until_idle(services, pool, asset_id)
    finally:
        pool.stop()
    assert job.attempts == 1 and job.state == "failed"


def test_unexpected_exception_is_reported_without_internals(services: Services) -> None:
    def crash(job, progress, cancel) -> None:
        raise KeyError("streams")

    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=1)
    failures: list[str] = []
    pool = _pool(services, crash, failures)
    pool.start()
    try:
        job = _run_until_idle(services, pool, asset_id)
    finally:
        pool.stop()
    assert job.error == "internal error (KeyError); see the server log"


def test_a_job_whose_worker_always_dies_ends_in_the_dead_letter_queue(services: Services) -> None:
    """Leases lapse without an outcome each time; attempts must not grow for ever."""
    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=2)
    now = utcnow()
    for attempt in (1, 2):
        job = services.catalogue.claim_job(f"doomed-{attempt}", 60, now=now)
        assert job is not None
        assert job.attempt == attempt
        now += timedelta(seconds=61)  # the worker "died": its lease lapses
        assert services.catalogue.requeue_expired(now=now) == [job.id]
    calls: list[int] = []
    failures: list[str] = []
    pool = _pool(services, lambda job, progress, cancel: calls.append(job.attempt), failures)
    job = services.catalogue.claim_job("survivor", 60, now=now)
    assert job is not None
    assert job.attempt == 3
    outcome = pool.runner.run(job)
    assert calls == []  # not run a third time
    assert outcome in ("failed", "dead")
    assert "stopped during each of 2 attempts" in failures[0]
