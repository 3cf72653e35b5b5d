"""Catalogue-wide operations with a broker (Redis): the API hands the driver to the backfill
lane, the lane's task drives it, the batch's nudges are well-formed Celery messages on the
backfill queue, and a worker's sweeper sends a dead driver's operation again."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.fixtures.catalogue_rows import add_assets
from tests.fixtures.scaleout import REDIS_URL, redis_available, redis_namespace

from vodstack.catalogue.models import Job
from vodstack.catalogue.operations import Operation, Operations
from vodstack.compose import build_server
from vodstack.compose.celery_app import TASK_RUN_JOB, TASK_RUN_OPERATION
from vodstack.compose.lanes import LaneRuntime
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings
from vodstack.jobs.operations import resume_stale
from vodstack.web.app import create_app

pytestmark = pytest.mark.services


@pytest.fixture
def broker(settings: Settings) -> Iterator[tuple[Services, Any, str]]:
    import redis

    if not redis_available():
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (it runs in CI)")
    with redis_namespace() as prefix:
        services = build_services(
            settings.model_copy(update={"broker_url": REDIS_URL, "broker_key_prefix": prefix})
        )
        client = redis.Redis.from_url(REDIS_URL)
        try:
            yield services, client, prefix
        finally:
            services.pipeline.dispatcher.close()  # type: ignore[union-attr]
            services.close()
            client.close()


def messages(client: Any, prefix: str, queue: str) -> list[tuple[str, list[Any]]]:
    """(task, args) of the messages waiting in a queue, as a worker would decode them."""
    out = []
    for raw in client.lrange(f"{prefix}{queue}", 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out.append((message["headers"]["task"], body[0]))
    return out


def test_the_backfill_lane_drives_an_operation(broker: tuple[Services, Any, str]) -> None:
    services, redis_client, prefix = broker
    with services.store.writer("masters/x/source.mp4") as fh:
        fh.write(b"master")
    ids = add_assets(services.db, 40)
    api = TestClient(create_app(build_server(services, run_workers=False)))
    auth = {"Authorization": f"Bearer {services.admin_token}"}
    r = api.post("/api/operations", json={"kind": "retranscode"}, headers=auth)
    assert r.status_code == 202, r.text
    op_id = r.json()["id"]
    assert messages(redis_client, prefix, "backfill") == [(TASK_RUN_OPERATION, [op_id])]
    redis_client.delete(f"{prefix}backfill")

    assert LaneRuntime(services, "backfill").run_operation(op_id) == "succeeded"
    with services.db.session() as session:
        jobs = {j.id: j.asset_id for j in session.query(Job)}
    assert sorted(jobs.values()) == sorted(ids)
    sent = messages(redis_client, prefix, "backfill")
    assert sorted(args[0] for task, args in sent if task == TASK_RUN_JOB) == sorted(jobs)
    assert messages(redis_client, prefix, "ondemand") == []


def test_the_sweeper_sends_a_dead_drivers_operation_again(
    broker: tuple[Services, Any, str],
) -> None:
    services, redis_client, prefix = broker
    ops = Operations(services.db)
    op = ops.create("retranscode", {}, 0)
    assert ops.claim(op.id, "elsewhere:1.x:op:1", lease_s=60)
    assert resume_stale(services) == []  # its driver is alive
    with services.db.session() as session:
        row = session.get(Operation, op.id)
        assert row is not None and row.lease_until is not None
        row.lease_until = row.lease_until.replace(year=2000)
    assert resume_stale(services) == [op.id]
    assert messages(redis_client, prefix, "backfill") == [(TASK_RUN_OPERATION, [op.id])]
