"""The raw layers in front of the app, in-process: body limits per route class, admin
authentication before the body, 422 without the input, nosniff, the dev sign-in switch.
(The live-server versions, with bodies that never arrive, are in tests/reliability/.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings

from vodstack.compose.server import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app
from vodstack.web.auth import is_admin_path
from vodstack.web.hosts import is_loopback_host

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "admin-token-for-body-limits-0"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(
        make_settings(
            tmp_path / "home",
            admin_token=TOKEN,
            max_admin_body_bytes=10_000,
            max_public_body_bytes=1_000,
            caption_max_bytes=5_000,
        )
    )
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)))


def test_admin_routes_authenticate_before_the_body(client: TestClient) -> None:
    r = client.post("/api/subscriptions", content=b"x" * 50_000)  # over the limit too
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = client.post("/api/subscriptions", content=b"x" * 50_000, headers=ADMIN)
    assert r.status_code == 413 and "10000" in r.json()["error"]


def test_limits_per_route_class(client: TestClient) -> None:
    assert client.post("/api/beacons", content=b"{" * 1_001).status_code == 413
    assert client.post("/api/beacons", content=b"{" * 999).status_code in (400, 422)
    # captions: the caption limit plus room for the multipart framing, stated without it
    r = client.post(f"/api/assets/{'a' * 20}/captions", content=b"x" * 80_000, headers=ADMIN)
    assert r.status_code == 413 and "5000 bytes" in r.json()["error"]
    # a master upload is far below its limit at this size: the route's own checks answer
    r = client.post("/api/assets", content=b"", headers=ADMIN)
    assert r.status_code == 400


def test_a_non_numeric_content_length_is_refused(client: TestClient) -> None:
    r = client.post("/api/beacons", content=b"{}", headers={"Content-Length": "1e9"})
    assert r.status_code in (400, 413)


def test_validation_errors_do_not_echo_the_input(client: TestClient) -> None:
    r = client.post("/api/subscriptions", json={"subject": ["SECRETISH" * 500]}, headers=ADMIN)
    assert r.status_code == 422
    assert "SECRETISH" not in r.text
    body = r.json()
    assert body["error"].startswith("invalid request:") and "subject" in body["error"]
    assert {"loc", "msg", "type"} == set(body["detail"][0])


def test_nosniff_everywhere(client: TestClient) -> None:
    for path in ("/healthz", "/nope", "/api/assets", f"/v1/{'a' * 20}/index.m3u8"):
        assert client.get(path).headers["x-content-type-options"] == "nosniff", path
    assert client.post("/api/beacons", content=b"{" * 2_000).headers["x-content-type-options"]


def test_dev_signin_is_opt_in(services: Services, tmp_path: Path) -> None:
    off = TestClient(create_app(build_server(services, run_workers=False)))
    assert off.post("/dev/token", json={"subject": "a"}).status_code == 404
    on = build_services(make_settings(tmp_path / "on", dev_idp=True))
    try:
        c = TestClient(create_app(build_server(on, run_workers=False)), client=("127.0.0.1", 5000))
        assert c.post("/dev/token", json={"subject": "a"}).status_code == 200
    finally:
        on.close()
    public = build_services(make_settings(tmp_path / "public", dev_idp=True, host="0.0.0.0"))
    try:
        c = TestClient(
            create_app(build_server(public, run_workers=False)), client=("127.0.0.1", 5000)
        )
        assert c.post("/dev/token", json={"subject": "a"}).status_code == 404
    finally:
        public.close()


def test_admin_paths_and_loopback_hosts() -> None:
    assert is_admin_path("/api/assets") and is_admin_path("/api/uploads/x")
    assert not is_admin_path("/api/beacons") and not is_admin_path("/play/x")
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback_host(h) for h in ("0.0.0.0", "::", "192.0.2.1", "example.com"))
