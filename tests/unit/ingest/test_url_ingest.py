"""Ingest from a URL through the admin API (in-process app) and the ``fetch`` job, against a
local HTTP server: accepted URLs become ready assets; URLs that cannot work are refused with
a 400 and nothing created, or fail the asset with the reason."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from tests.conftest import make_clip_file, make_settings
from tests.fixtures.http_source import HttpSource, Route

from vodstack.catalogue.ingests import Ingests
from vodstack.catalogue.repository import FETCH_KIND
from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app

ADMIN = {"Authorization": "Bearer url-ingest-admin"}


@pytest.fixture
def source() -> Iterator[HttpSource]:
    s = HttpSource()
    yield s
    s.close()


def _services(home: Path, **extra: object) -> Services:
    values: dict[str, object] = {
        "admin_token": "url-ingest-admin",
        "url_ingest_allowed_networks": ("127.0.0.1/32",),
        "url_ingest_timeout_s": 0.5,
        "job_max_attempts": 2,
        "job_backoff_s": 0.01,
        "transcode_mode": "single",
        **extra,
    }
    return build_services(make_settings(home, **values))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = _services(tmp_path / "home")
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(build_server(services, run_workers=False))) as c:
        yield c


def run_fetch(services: Services, asset_id: str) -> str:
    """Run the asset's fetch job to its end (retries included); returns the job state."""
    runner = services.pipeline.runner()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = services.catalogue.claim_job("test", 30, asset_id=asset_id, kind=FETCH_KIND)
        if job is None:
            latest = services.catalogue.latest_job(asset_id, FETCH_KIND)
            assert latest is not None
            if latest.state in ("succeeded", "dead", "failed"):
                return latest.state
            time.sleep(0.02)
            continue
        runner.run(job)
    raise AssertionError("the fetch job did not end")


def event_types(services: Services, asset_id: str) -> list[str]:
    return [e.type for e in reversed(services.catalogue.events(asset_id))]


def test_a_url_becomes_a_ready_asset(
    services: Services, client: TestClient, source: HttpSource, tmp_path: Path
) -> None:
    clip = make_clip_file(tmp_path / "talk.mp4", seconds=2, size="320x180")
    url = source.add(
        "/media/talk", Route(body=clip.read_bytes(), headers={"Content-Type": "video/mp4"})
    )
    redirect = source.redirect("/share/talk", "/media/talk")
    r = client.post(
        "/api/assets",
        json={"url": redirect + "?sig=abc", "title": "A talk", "metadata": {"course": "cs101"}},
        headers=ADMIN,
    )
    assert r.status_code == 202, r.text
    asset_id = r.json()["id"]
    assert r.json()["status"] == "fetching"
    assert client.get(f"/api/assets/{asset_id}", headers=ADMIN).json()["status"] == "fetching"
    assert run_fetch(services, asset_id) == "succeeded"
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "queued"  # the master is in: its transcode is queued
    assert asset.source_key == f"masters/{asset_id}/source.mp4"  # from the Content-Type
    assert asset.source_size == clip.stat().st_size
    with services.store.open(asset.source_key) as fh:
        assert fh.read() == clip.read_bytes()
    row = Ingests(services.db).url_ingest(asset_id)
    assert row is not None and row.final_url == url + "" and row.meta == {"course": "cs101"}
    pool = services.pipeline.pool(workers=1, only_asset=asset_id, only_kind="transcode")
    pool.start()
    try:
        deadline = time.monotonic() + 120
        while services.catalogue.get_asset(asset_id).status not in ("ready", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        pool.stop()
    assert services.catalogue.get_asset(asset_id).status == "ready"
    assert services.catalogue.get_asset(asset_id).title == "A talk"
    types = event_types(services, asset_id)
    assert types.index("asset.created") < types.index("source.created") < types.index("asset.ready")
    created = services.catalogue.events(asset_id, types=["asset.created"])[0].payload
    assert created["source"] == "url" and created["metadata"] == {"course": "cs101"}
    assert created["url"].endswith("/share/talk")  # the query (a signature) is not kept
    assert "sig=abc" not in str(created)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"url": "file:///etc/passwd"}, 400, "only http and https"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, 400, "link-local"),
        ({"url": "http://10.0.0.8/master.mp4"}, 400, "private address"),
        ({"url": "http://[::1]:9/master.mp4"}, 400, "loopback"),
        ({"url": "http://u:p@example.com/a.mp4"}, 400, "credentials"),
        ({"url": "http://127.0.0.1:9/a.mp4", "ladder": "nope"}, 400, "no ladder"),
        ({"url": "http://127.0.0.1:9/a.mp4", "max_bytes": 10**15}, 400, "over the server"),
        ({"url": "http://127.0.0.1:9/a.mp4", "metadata": {"bad key": "x"}}, 400, "metadata key"),
        ({"title": "no url"}, 400, "url"),
        ({"url": 5}, 400, "url"),
    ],
)
def test_refused_at_the_door_with_nothing_created(
    services: Services, client: TestClient, body: dict, status: int, message: str
) -> None:
    r = client.post("/api/assets", json=body, headers=ADMIN)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert services.catalogue.list_assets() == []


def test_loopback_needs_the_setting(tmp_path: Path, source: HttpSource) -> None:
    strict = _services(tmp_path / "strict", url_ingest_allowed_networks=())
    try:
        with TestClient(create_app(build_server(strict, run_workers=False))) as c:
            url = source.add("/a.mp4", Route(body=b"x"))
            r = c.post("/api/assets", json={"url": url}, headers=ADMIN)
        assert r.status_code == 400 and "loopback" in r.json()["error"]
        assert strict.catalogue.list_assets() == []
        assert source.requests == []
    finally:
        strict.close()


def test_json_bodies_are_capped_and_checked(services: Services, client: TestClient) -> None:
    big = b'{"url": "' + b"a" * 70_000 + b'"}'
    headers = {**ADMIN, "Content-Type": "application/json"}
    assert client.post("/api/assets", content=big, headers=headers).status_code == 413
    r = client.post("/api/assets", content=b"{not json", headers=headers)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    no_token = client.post("/api/assets", json={"url": "http://example.com/a.mp4"})
    assert no_token.status_code == 401
    assert services.catalogue.list_assets() == []


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (None, "answered 404 Not Found"),
        (
            Route(status=200, body=b"<html></html>", headers={"Content-Type": "text/html"}),
            "not a video",
        ),
        (
            Route(body=b"x" * 5000, headers={"Content-Type": "video/mp4"}),
            "larger than the limit of 4000",
        ),
        (Route(body=b"x", stall_s=2), "timeout"),
        (Route(status=503), "503"),
    ],
)
def test_downloads_that_fail_leave_a_failed_asset_with_the_reason(
    services: Services, client: TestClient, source: HttpSource, route: Route | None, reason: str
) -> None:
    url = source.add("/m.mp4", route) if route is not None else f"{source.base}/gone.mp4"
    r = client.post("/api/assets", json={"url": url, "max_bytes": 4000}, headers=ADMIN)
    assert r.status_code == 202, r.text
    asset_id = r.json()["id"]
    assert run_fetch(services, asset_id) == "dead"
    asset = client.get(f"/api/assets/{asset_id}", headers=ADMIN).json()
    assert asset["status"] == "failed" and reason in asset["error"], asset
    types = event_types(services, asset_id)
    assert {"upload.failed", "job.dead_lettered", "asset.failed"} <= set(types)
    assert "transcode.failed" not in types and "source.created" not in types
    assert list(services.store.list(f"masters/{asset_id}")) == []  # nothing half-stored
    attempts = services.catalogue.latest_job(asset_id, FETCH_KIND).attempts
    # a download that cannot work is not tried again; timeouts and 5xx are
    assert attempts == (2 if reason in ("timeout", "503") else 1)


def test_a_redirect_into_the_private_network_fails_the_asset(
    services: Services, client: TestClient, source: HttpSource
) -> None:
    start = source.redirect("/share", "http://169.254.169.254/latest/meta-data/iam")
    r = client.post("/api/assets", json={"url": start}, headers=ADMIN)
    assert r.status_code == 202
    asset_id = r.json()["id"]
    assert run_fetch(services, asset_id) == "dead"
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "failed" and "169.254.169.254 is a link-local address" in asset.error
    assert [p for p, _ in source.requests] == ["/share"]


def test_a_deleted_asset_is_not_fetched(
    services: Services, client: TestClient, source: HttpSource
) -> None:
    url = source.add("/a.mp4", Route(body=b"x" * 100))
    asset_id = client.post("/api/assets", json={"url": url}, headers=ADMIN).json()["id"]
    services.assets.delete(asset_id)
    assert services.catalogue.claim_job("t", 30, asset_id=asset_id, kind=FETCH_KIND) is None
    assert source.requests == []


def test_a_failed_download_is_fetched_again_by_a_redrive(
    services: Services, client: TestClient, source: HttpSource
) -> None:
    url = f"{source.base}/later.mp4"
    asset_id = client.post("/api/assets", json={"url": url}, headers=ADMIN).json()["id"]
    assert run_fetch(services, asset_id) == "dead"
    assert services.catalogue.get_asset(asset_id).status == "failed"
    source.add("/later.mp4", Route(body=b"x" * 100, headers={"Content-Type": "video/mp4"}))
    job = services.catalogue.latest_job(asset_id, FETCH_KIND)
    services.pipeline.redrive(job.id)
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "fetching" and asset.error is None
    assert run_fetch(services, asset_id) == "succeeded"
    assert services.catalogue.get_asset(asset_id).source_size == 100
