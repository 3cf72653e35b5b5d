"""The write endpoints the remote CLI needed, in-process against a real catalogue: re-drive a
dead job (publish scope; 404 unknown, 409 not dead with the reason), re-send the queued jobs
(admin scope; idempotent), cancel one subscription (entitle scope; kept, marked cancelled)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings
from tests.unit.web.test_scoped_api import ADMIN, TOKEN, new_key

from vodstack.catalogue.repository import new_id
from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(tmp_path / "home", admin_token=TOKEN))
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)))


def _asset(services: Services) -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id, title="t", source_key=f"masters/{asset_id}/s.mp4", source_name="s", source_size=1
    )
    return asset_id


def _dead_job(services: Services) -> str:
    job = services.catalogue.enqueue_job(_asset(services), max_attempts=1)
    claimed = services.catalogue.claim_job("w", 60)
    assert claimed is not None and claimed.id == job.id
    services.catalogue.finish_job(claimed, error="boom", dead_letter=True)
    return job.id


def test_redrive_requeues_a_dead_job_and_refuses_what_is_not_dead(
    client: TestClient, services: Services
) -> None:
    dead = _dead_job(services)
    reader = new_key(client, "read")
    refused = client.post(f"/api/jobs/{dead}/redrive", headers=reader)
    assert refused.status_code == 403 and refused.json()["rule"] == "scope:publish"
    assert services.catalogue.get_job(dead).state == "dead"  # refused before touching it

    publisher = new_key(client, "publish")
    r = client.post(f"/api/jobs/{dead}/redrive", headers=publisher)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "queued" and r.json()["attempts"] == 0
    assert services.catalogue.get_job(dead).state == "queued"
    assert services.catalogue.events(None, types=["job.redriven"])[0].payload["job_id"] == dead

    again = client.post(f"/api/jobs/{dead}/redrive", headers=publisher)
    assert again.status_code == 409 and "dead-letter queue" in again.json()["error"]
    missing = client.post(f"/api/jobs/{new_id()}/redrive", headers=publisher)
    assert missing.status_code == 404
    assert client.post("/api/jobs/..%2F/redrive", headers=publisher).status_code == 404


def test_resend_dispatches_every_queued_job_and_needs_admin(
    client: TestClient, services: Services
) -> None:
    _dead_job(services)  # not queued: not sent
    queued = {services.catalogue.enqueue_job(_asset(services), max_attempts=1).id for _ in range(2)}
    refused = client.post("/api/jobs/resend", headers=new_key(client, "publish"))
    assert refused.status_code == 403 and refused.json()["rule"] == "scope:admin"
    for _ in range(2):  # idempotent: the same jobs, still queued
        r = client.post("/api/jobs/resend", headers=ADMIN)
        assert r.status_code == 200 and set(r.json()["resent"]) == queued
    assert {j.state for j in services.catalogue.list_jobs(state="queued")} == {"queued"}


def test_cancel_marks_one_subscription_cancelled_and_keeps_it(
    client: TestClient, services: Services
) -> None:
    kept = services.grants.subscribe("alice", "basic")
    other = services.grants.subscribe("alice", "premium")
    refused = client.post(f"/api/subscriptions/{kept.id}/cancel", headers=new_key(client, "read"))
    assert refused.status_code == 403 and refused.json()["rule"] == "scope:entitle"
    entitle = new_key(client, "entitle")
    for _ in range(2):  # idempotent
        r = client.post(f"/api/subscriptions/{kept.id}/cancel", headers=entitle)
        assert r.status_code == 200 and r.json()["cancelled"] is True
    rows = {s.id: s.cancelled for s in services.grants.subscriptions("alice")}
    assert rows == {kept.id: True, other.id: False}
    assert client.post("/api/subscriptions/999999/cancel", headers=entitle).status_code == 404
    listed = client.get("/api/subscriptions?subject=alice", headers=entitle).json()
    assert all(s["created_at"] for s in listed)
