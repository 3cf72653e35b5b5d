"""The broker side of jobs against a real Redis: what is sent where, that a duplicate message
is a no-op, that retries go back as delayed messages, and that the sweeper re-sends the jobs
of dead workers. The task bodies run here directly (``LaneRuntime``), so each step is
observable; tests/e2e/test_scaleout.py runs the same through `vodstack worker` processes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_clip_file
from tests.fixtures.scaleout import REDIS_URL, redis_available, redis_namespace

from vodstack.compose.celery_app import TASK_RUN_JOB, celery_config
from vodstack.compose.lanes import LaneRuntime, clean_stale_work, sweep
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings

pytestmark = pytest.mark.services


@pytest.fixture
def broker_services(settings: Settings) -> Iterator[tuple[Services, Any, str]]:
    import redis

    if not redis_available():
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (it runs in CI)")
    with redis_namespace() as prefix:
        services = build_services(
            settings.model_copy(
                update={
                    "broker_url": REDIS_URL,
                    "broker_key_prefix": prefix,
                    "job_backoff_s": 30.0,
                    "job_max_attempts": 2,
                }
            )
        )
        client = redis.Redis.from_url(REDIS_URL)
        try:
            yield services, client, prefix
        finally:
            services.pipeline.dispatcher.close()  # type: ignore[union-attr]
            services.close()
            client.close()


def _messages(client: Any, prefix: str, queue: str) -> list[dict[str, Any]]:
    """Messages waiting in a queue, decoded: what a worker of that lane would receive."""
    out = []
    for raw in client.lrange(f"{prefix}{queue}", 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out.append({"task": message["headers"]["task"], "args": body[0], **message["headers"]})
    return out


def test_celery_settings_make_a_killed_worker_recoverable(settings: Settings) -> None:
    conf = celery_config(settings.model_copy(update={"broker_url": "redis://x/0"}))
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    options = conf["broker_transport_options"]
    assert options["visibility_timeout"] == settings.broker_visibility_timeout_s
    assert options["visibility_timeout"] > settings.job_backoff_max_s  # delayed retries survive
    assert options["global_keyprefix"] == settings.broker_key_prefix


@pytest.mark.slow
def test_a_job_runs_once_however_often_its_message_arrives(
    broker_services: tuple[Services, Any, str], tmp_path: Path
) -> None:
    services, client, prefix = broker_services
    clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
    asset_id = services.ingestor.ingest_file(clip)
    job = services.catalogue.latest_job(asset_id)
    assert job is not None
    sent = _messages(client, prefix, "ondemand")
    assert [(m["task"], m["args"]) for m in sent] == [(TASK_RUN_JOB, [job.id])]
    lane = LaneRuntime(services, "ondemand")
    assert lane.run_job(job.id) == "succeeded"
    assert lane.run_job(job.id) == "duplicate"  # e.g. Redis re-delivered it
    assert services.catalogue.get_asset(asset_id).status == "ready"
    assert services.catalogue.get_job(job.id).attempts == 1


def test_a_failed_attempt_goes_back_as_a_delayed_message_then_dead(
    broker_services: tuple[Services, Any, str],
) -> None:
    services, client, prefix = broker_services
    asset_id = services.ingestor.ingest_chunks([b"not a video at all"], "bad.mp4")
    job = services.catalogue.latest_job(asset_id)
    assert job is not None
    client.delete(f"{prefix}ondemand")
    lane = LaneRuntime(services, "ondemand")
    # probing fails for good (SourceInvalid): no retry, straight to the dead-letter queue
    assert lane.run_job(job.id) == "dead"
    assert services.catalogue.get_job(job.id).state == "dead"
    assert services.catalogue.get_asset(asset_id).status == "failed"
    # a transient failure instead: the master vanished from the store
    services.pipeline.redrive(job.id)
    client.delete(f"{prefix}ondemand")
    services.store.delete_prefix(f"masters/{asset_id}")
    assert lane.run_job(job.id) == "retrying"
    row = services.catalogue.get_job(job.id)
    assert row.state == "queued" and row.attempts == 1 and row.not_before is not None
    (retry,) = _messages(client, prefix, "ondemand")
    assert retry["args"] == [job.id] and retry["eta"] is not None  # sent with a countdown
    assert lane.run_job(job.id) == "deferred"  # an early duplicate waits for its time
    assert len(_messages(client, prefix, "ondemand")) == 2


def test_the_sweeper_resends_jobs_whose_worker_died(
    broker_services: tuple[Services, Any, str],
) -> None:
    services, client, prefix = broker_services
    asset_id = services.ingestor.ingest_chunks([b"x"], "a.mp4")
    job = services.catalogue.latest_job(asset_id)
    assert job is not None
    claimed = services.catalogue.claim_job_by_id(job.id, "dead-host:1:ondemand:1", 1)
    assert claimed is not None
    (services.settings.work_dir / job.id).mkdir(parents=True)
    assert clean_stale_work(services.settings, services.catalogue) == 0  # still running
    client.delete(f"{prefix}ondemand")
    dispatcher = services.pipeline.dispatcher
    assert dispatcher is not None
    assert sweep(services.catalogue, dispatcher) == []  # lease still valid
    time.sleep(1.1)  # the worker was killed: nobody renews the lease
    assert sweep(services.catalogue, dispatcher) == [job.id]
    assert services.catalogue.get_job(job.id).state == "queued"
    assert [m["args"] for m in _messages(client, prefix, "ondemand")] == [[job.id]]
    assert clean_stale_work(services.settings, services.catalogue) == 1  # scratch reclaimed
