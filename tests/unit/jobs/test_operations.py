"""Catalogue-wide operations (jobs.operations): batched keyset walks that queue backfill jobs,
stop and resume from their cursor, survive a dead driver, and report progress through the
API, /metrics and the CLI (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from tests.fixtures.catalogue_rows import add_assets

from vodstack.catalogue.models import Event, Job
from vodstack.catalogue.operations import BatchOutcome, Operation, Operations
from vodstack.catalogue.repository import is_valid_id
from vodstack.compose import build_server
from vodstack.compose.services import Services
from vodstack.jobs import operations as engine
from vodstack.jobs.bulk_enqueue import new_ids
from vodstack.web.app import create_app

MASTER = "masters/x/source.mp4"  # what catalogue_rows' assets point at


@pytest.fixture
def catalogue(services: Services) -> list[str]:
    with services.store.writer(MASTER) as fh:
        fh.write(b"not really a master")
    return add_assets(services.db, 600)


def jobs_by_asset(services: Services) -> dict[str, list[Job]]:
    with services.db.session() as session:
        found: dict[str, list[Job]] = {}
        for job in session.query(Job):
            found.setdefault(job.asset_id, []).append(job)
        return found


def test_retranscode_everything_in_batches(services: Services, catalogue: list[str]) -> None:
    op = engine.create(services, "retranscode", {"batch": 250})
    assert (op.total, op.state) == (600, "queued")
    batches: list[tuple[int, int]] = []
    final = engine.drive(
        services, op.id, on_batch=lambda row, out: batches.append((row.done, out.done))
    )
    assert final.state == "succeeded" and final.done == 600 and final.cursor == max(catalogue)
    assert batches == [(250, 250), (500, 250), (600, 100)]  # one batch in memory at a time
    jobs = jobs_by_asset(services)
    assert set(jobs) == set(catalogue) and all(len(j) == 1 for j in jobs.values())
    job = jobs[catalogue[0]][0]
    assert (job.queue, job.state, job.kind) == ("backfill", "queued", "transcode")
    assert services.catalogue.get_asset(catalogue[0]).status == "ready"  # serves meanwhile
    audit = services.catalogue.events(catalogue[0], 5, types=["asset.retranscode"])
    assert audit[0].payload == {
        "job_id": job.id,
        "queue": "backfill",
        "ladder": "default",
        "operation": op.id,
    }
    # again: the queued jobs are reused, not doubled
    engine.drive(services, engine.create(services, "retranscode", {}).id)
    assert all(len(j) == 1 for j in jobs_by_asset(services).values())


def test_batch_job_ids_are_like_new_id() -> None:
    ids = new_ids(5000)
    assert len(set(ids)) == 5000 and all(is_valid_id(i) for i in ids)
    assert len({i[0] for i in ids}) == 36  # every character, from the first position on


def test_paused_operation_resumes_from_its_cursor(services: Services, catalogue: list[str]) -> None:
    op = engine.create(services, "retranscode", {"batch": 300})
    stop = threading.Event()
    paused = engine.drive(services, op.id, stop=stop, on_batch=lambda *_: stop.set())
    assert (paused.state, paused.done) == ("paused", 300)
    assert paused.cursor == sorted(catalogue)[299]
    assert len(jobs_by_asset(services)) == 300
    ops = Operations(services.db)
    assert ops.stale() == []  # a pause is the operator's: no sweeper takes it on
    ops.requeue(op.id)
    final = engine.drive(services, op.id)
    assert (final.state, final.done, final.skipped) == ("succeeded", 600, 0)
    assert len(jobs_by_asset(services)) == 600


def test_a_dead_driver_is_taken_over(services: Services, catalogue: list[str]) -> None:
    op = engine.create(services, "retranscode", {"batch": 400})
    ops = Operations(services.db)
    assert ops.claim(op.id, "host:1.dead:op:1", lease_s=60)
    assert engine.drive(services, op.id).state == "running"  # a live lease: hands off
    assert ops.claim(op.id, "host:1.dead:op:1", lease_s=-1) is False
    with services.db.session() as session:  # the driver died: its lease lapses
        row = session.get(Operation, op.id)
        assert row is not None
        row.lease_until = row.lease_until.replace(year=2000)  # type: ignore[union-attr]
    assert ops.stale() == [op.id]
    assert engine.drive(services, op.id).state == "succeeded"


def test_missing_masters_and_cancel(services: Services, catalogue: list[str]) -> None:
    services.catalogue.update_asset(catalogue[3], source_key="masters/gone/source.mp4")
    op = engine.create(services, "retranscode", {"batch": 100})
    cancelled: list[Operation] = []

    def cancel_after_two(row: Operation, outcome: BatchOutcome) -> None:
        if row.done + row.skipped >= 200 and not cancelled:
            cancelled.append(Operations(services.db).cancel(op.id))

    final = engine.drive(services, op.id, on_batch=cancel_after_two)
    assert final.state == "cancelled" and final.done + final.skipped == 200
    if catalogue[3] <= final.cursor:  # type: ignore[operator]
        assert final.errors == {catalogue[3]: "the master is missing; it cannot be re-transcoded"}
    Operations(services.db).requeue(op.id)
    final = engine.drive(services, op.id)
    assert (final.state, final.done, final.skipped) == ("succeeded", 599, 1)
    assert catalogue[3] in final.errors


def test_protect_and_rekey_many_assets(services: Services) -> None:
    ids = add_assets(services.db, 60)  # per-asset work (keys, events): a few ms each
    op = engine.create(services, "protect", {"schemes": ["aes-128"], "batch": 25})
    final = engine.drive(services, op.id)
    assert final.state == "succeeded" and final.done == 60
    assert services.catalogue.get_asset(ids[7]).drm == "aes-128"
    purges = services.catalogue.events(ids[7], 5, types=["asset.updated"])
    assert purges[0].payload["action"] == "protection"
    services.catalogue.update_asset(ids[8], drm="clear")  # not protected: not re-keyed
    rekey = engine.drive(services, engine.create(services, "rekey", {}).id)
    assert (rekey.state, rekey.total, rekey.done) == ("succeeded", 59, 59)
    assert services.catalogue.events(ids[7], 1, types=["asset.updated"])[0].payload["action"] == (
        "rekey"
    )


def test_publish_and_unpublish_by_tag(services: Services) -> None:
    """A takedown by tag: only the tagged assets change, batch by batch, each announced."""
    from vodstack.catalogue.labels import LabelsPatch, LabelStore

    ids = add_assets(services.db, 40)
    store = LabelStore(services.db)
    for asset_id in ids[:15]:
        store.update(asset_id, LabelsPatch(tags=["season-1"]))
    for asset_id in ids[:5]:
        store.update(asset_id, LabelsPatch(tags=["season-1", "promo"]))
    op = engine.create(services, "publish", {"tag": ["season-1"], "batch": 4})
    assert op.total == 15
    assert engine.drive(services, op.id).done == 15
    published = {a for a in ids if services.catalogue.get_asset(a).published}
    assert published >= set(ids[:15])
    down = engine.drive(
        services, engine.create(services, "unpublish", {"tag": ["season-1", "promo"]}).id
    )
    assert (down.state, down.total, down.done) == ("succeeded", 5, 5)
    assert not any(services.catalogue.get_asset(a).published for a in ids[:5])
    assert all(services.catalogue.get_asset(a).published for a in ids[5:15])
    with pytest.raises(Exception, match="tag"):
        engine.create(services, "publish", {"tag": ["x" * 65]})


def test_api_and_metrics(services: Services, catalogue: list[str]) -> None:
    client = TestClient(create_app(build_server(services, run_workers=False)))
    auth = {"Authorization": f"Bearer {services.admin_token}"}
    assert client.post("/api/operations", json={"kind": "retranscode"}).status_code == 401
    bad = client.post(
        "/api/operations", json={"kind": "retranscode", "ladder": "nope"}, headers=auth
    )
    assert bad.status_code == 400 and "no ladder" in bad.text
    r = client.post(
        "/api/operations", json={"kind": "retranscode", "status": ["ready"]}, headers=auth
    )
    assert r.status_code == 202, r.text
    url = r.headers["location"]
    deadline = time.monotonic() + 60
    while (body := client.get(url, headers=auth).json())["state"] != "succeeded":
        assert body["state"] in ("queued", "running"), body
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert body["done"] == body["total"] == 600 and body["remaining"] == 0
    assert body["rate_per_s"] > 0 and body["eta_s"] == 0
    assert body["params"] == {"status": ["ready"], "ladder": None}
    listed = client.get("/api/operations?state=succeeded", headers=auth).json()
    assert [o["id"] for o in listed] == [body["id"]]
    assert client.post(f"{url}/cancel", headers=auth).status_code == 409
    text = generate_latest(services.metrics.registry).decode()
    assert 'vodstack_operations{state="succeeded"} 1.0' in text


def test_cli_retranscode_all_streams_the_same_json(
    services: Services, catalogue: list[str], tmp_path: Path
) -> None:
    settings = services.settings
    env = {
        **os.environ,
        "VODSTACK_HOME": str(settings.home),
        "VODSTACK_DATABASE_URL": settings.effective_database_url,
        "VODSTACK_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "vodstack.cli", "assets", "retranscode", "--all", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["queue"] == "backfill" and set(out["jobs"]) == set(catalogue)
    assert out["skipped"] == {} and out["state"] == "succeeded" and out["done"] == 600
    shown = subprocess.run(
        [sys.executable, "-m", "vodstack.cli", "operations", "show", out["operation"], "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(shown.stdout)["state"] == "succeeded"
    with services.db.session() as session:
        assert session.query(Event).filter(Event.type == "operation.succeeded").count() == 1
