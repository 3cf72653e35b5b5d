"""Masters as the source of truth: a deleted asset is restored from its retained master
(same id, title and playback choices, re-transcoded); a master is purged for good only for a
deleted asset, with who and when in the audit log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from tests.conftest import make_clip_file, make_settings

from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app

ADMIN = {"Authorization": "Bearer masters-admin"}


def _services(home: Path, **extra: object) -> Services:
    return build_services(
        make_settings(home, admin_token="masters-admin", transcode_mode="single", **extra)
    )


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = _services(tmp_path / "home")
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(build_server(services, run_workers=False))) as c:
        yield c


def transcode(services: Services, asset_id: str) -> str:
    pool = services.pipeline.pool(workers=1, only_asset=asset_id, only_kind="transcode")
    pool.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            job = services.catalogue.latest_job(asset_id)
            if job is not None and job.state in ("succeeded", "dead"):
                return services.catalogue.get_asset(asset_id).status
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        pool.stop()


@pytest.fixture
def ready(services: Services, tmp_path: Path) -> str:
    clip = make_clip_file(tmp_path / "master.mov", seconds=2, size="320x180")
    asset_id = services.ingestor.ingest_file(clip, "Keep me")
    assert transcode(services, asset_id) == "ready"
    return asset_id


def test_delete_restore_purge_through_the_api(
    services: Services, client: TestClient, ready: str
) -> None:
    asset_id = ready
    assert client.put(
        f"/api/assets/{asset_id}/playback", json={"policy": "public"}, headers=ADMIN
    ).is_success
    assert client.post(f"/api/assets/{asset_id}/unpublish", headers=ADMIN).is_success
    master = services.catalogue.get_asset(asset_id).source_key
    # while the asset exists: nothing to restore or purge
    for method, path in [("POST", "restore"), ("DELETE", "master"), ("GET", "master")]:
        r = client.request(method, f"/api/assets/{asset_id}/{path}", headers=ADMIN)
        assert r.status_code == 409 and "exists" in r.json()["error"], (method, path)
    assert client.delete(f"/api/assets/{asset_id}", headers=ADMIN).status_code == 204
    assert client.get(f"/api/assets/{asset_id}", headers=ADMIN).status_code == 404
    kept = client.get(f"/api/assets/{asset_id}/master", headers=ADMIN).json()
    assert kept["keys"] == [master] and kept["size"] > 0
    assert kept["record"]["title"] == "Keep me"

    r = client.post(f"/api/assets/{asset_id}/restore", headers=ADMIN)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["job"]
    assert transcode(services, asset_id) == "ready"
    asset = client.get(f"/api/assets/{asset_id}", headers=ADMIN).json()
    assert asset["title"] == "Keep me"
    assert asset["published"] is False and asset["playback_policy"] == "public"
    assert asset["renditions"]
    restored = services.catalogue.events(asset_id, types=["asset.restored"])[0]
    assert restored.payload["actor"]["via"] == "api"
    assert restored.payload["actor"]["name"] == "admin-token"

    assert client.delete(f"/api/assets/{asset_id}", headers=ADMIN).status_code == 204
    r = client.delete(f"/api/assets/{asset_id}/master", headers=ADMIN)
    assert r.status_code == 200 and r.json()["purged"] is True
    assert not services.store.exists(master)
    [purged] = services.catalogue.events(asset_id, types=["master.purged"])
    assert purged.payload["actor"] == {"via": "api", "name": "admin-token", "where": "testclient"}
    assert purged.payload["keys"] == [master] and purged.created_at is not None
    # gone for good
    for method, path in [("POST", "restore"), ("DELETE", "master")]:
        r = client.request(method, f"/api/assets/{asset_id}/{path}", headers=ADMIN)
        assert r.status_code == 404 and "no retained master" in r.json()["error"]


@pytest.mark.parametrize("asset_id", ["a" * 20, "../../etc", "x" * 200])
def test_unknown_or_invalid_ids(client: TestClient, asset_id: str) -> None:
    for method, path in [("POST", "restore"), ("DELETE", "master"), ("GET", "master")]:
        r = client.request(method, f"/api/assets/{asset_id}/{path}", headers=ADMIN)
        assert r.status_code == 404, (method, asset_id, r.text)


def test_restore_and_purge_need_the_admin_token(client: TestClient, ready: str) -> None:
    assert client.post(f"/api/assets/{ready}/restore").status_code == 401
    assert client.delete(f"/api/assets/{ready}/master").status_code == 401


def test_nothing_to_restore_when_masters_are_not_kept(tmp_path: Path) -> None:
    services = _services(tmp_path / "home", keep_masters_on_delete=False)
    try:
        clip = make_clip_file(tmp_path / "m.mp4", seconds=1, size="160x90")
        asset_id = services.ingestor.ingest_file(clip)
        services.assets.delete(asset_id)
        with TestClient(create_app(build_server(services, run_workers=False))) as c:
            r = c.post(f"/api/assets/{asset_id}/restore", headers=ADMIN)
        assert r.status_code == 404 and "KEEP_MASTERS_ON_DELETE" in r.json()["error"]
    finally:
        services.close()
