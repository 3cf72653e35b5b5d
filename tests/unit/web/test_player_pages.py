"""The player page, admin page, development sign-in, beacons and analytics, in-process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings

from vodstack.compose.server import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app
from vodstack.web.state import state_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADMIN = {"Authorization": "Bearer admin-token-for-tests-000"}
ASSET = "a" * 20


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(
        make_settings(tmp_path / "home", admin_token=ADMIN["Authorization"][7:], dev_idp=True)
    )
    s.catalogue.create_asset(ASSET, title="t", source_key="k", source_name="n", source_size=1)
    s.catalogue.update_asset(ASSET, duration=10.0)
    yield s
    s.close()


def client(services: Services, host: str = "127.0.0.1") -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)), client=(host, 50000))


def page_config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="vodstack-config">(.*?)</script>', html)
    assert match
    return json.loads(match.group(1))


def test_watch_page_names_its_engines_and_they_are_served(services: Services) -> None:
    c = client(services)
    r = c.get(f"/watch/{ASSET}")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    config = page_config(r.text)
    assert config["assetId"] == ASSET and config["devSignIn"] is True
    assert set(config["engines"]) == {"hls", "dash", "shaka"}
    for url in config["engines"].values():
        asset = c.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100_000
        assert "immutable" in asset.headers["cache-control"]
    for module in re.findall(r'src="(/static/player/[^"]+)"', r.text):
        assert c.get(module).status_code == 200
    assert c.get("/static/player/engines.js").headers["cache-control"] == "no-cache"


def test_watch_page_refuses_bad_ids(services: Services) -> None:
    assert client(services).get("/watch/..%2f..%2fetc").status_code == 404
    assert client(services).get("/watch/short").status_code == 404


def test_admin_page(services: Services) -> None:
    r = client(services).get("/admin")
    assert r.status_code == 200 and "/static/player/admin.js" in r.text


def test_dev_token_only_for_loopback_browsers(services: Services) -> None:
    r = client(services).post("/dev/token", json={"subject": "alice"})
    assert r.status_code == 200
    viewer = services.entitlement.verifier.verify(r.json()["token"])
    assert viewer.subject == "alice"
    assert client(services, "10.1.2.3").post("/dev/token", json={"subject": "a"}).status_code == 403
    relayed = client(services).post(
        "/dev/token", json={"subject": "a"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert relayed.status_code == 403
    assert client(services).post("/dev/token", json={"subject": ""}).status_code == 422


def test_no_dev_token_with_an_external_identity_provider(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "home", jwt_issuer="https://idp.example", jwks_url="https://idp.example/jwks"
    )
    services = build_services(settings)
    try:
        c = client(services)
        assert c.post("/dev/token", json={"subject": "alice"}).status_code in (404, 405)
        assert page_config(c.get(f"/watch/{ASSET}").text)["devSignIn"] is False
        assert "/dev/token" not in c.get("/openapi.json").json()["paths"]
    finally:
        services.close()


def test_beacons_are_authenticated_counted_once_and_reported(services: Services) -> None:
    c = client(services)
    session = state_of(c.app).server.playback.start("alice", ASSET)
    events = [
        {"seq": 0, "type": "start", "t": 0, "pos": 0},
        {"seq": 1, "type": "switch", "t": 0.1, "bitrate": 800000, "height": 360},
        {"seq": 2, "type": "first_frame", "t": 0.5, "pos": 0, "ms": 500},
        {"seq": 3, "type": "heartbeat", "t": 5.5, "pos": 5},
        {"seq": 4, "type": "ended", "t": 10.5, "pos": 10},
        {"seq": 5, "type": "some_future_event", "t": 10.6, "extra": 1},
    ]
    batch = {"session": session.token, "engine": "hls", "events": events}
    r = c.post("/api/beacons", json=batch, headers={"User-Agent": "TestBrowser/1"})
    assert r.status_code == 200 and r.json() == {"accepted": 6}
    assert c.post("/api/beacons", json=batch).json() == {"accepted": 0}  # a resend

    forged = {**batch, "session": session.token[:-3] + "AAA"}
    assert c.post("/api/beacons", json=forged).status_code == 401
    bad = {**batch, "events": [{"seq": -1, "type": "start", "t": 0}]}
    assert c.post("/api/beacons", json=bad).status_code == 422
    huge = {**batch, "events": [{**events[3], "seq": i} for i in range(501)]}
    assert c.post("/api/beacons", json=huge).status_code in (413, 422)

    assert c.get(f"/api/assets/{ASSET}/analytics").status_code == 401
    a = c.get(f"/api/assets/{ASSET}/analytics", headers=ADMIN).json()
    assert a["sessions"] == 1 and a["completed_viewers"] == 1
    assert a["startup_p50_s"] == pytest.approx(0.5)
    assert a["recent_sessions"][0]["user_agent"] == "TestBrowser/1"
    assert a["recent_sessions"][0]["engine"] == "hls"
    csv_text = c.get(
        f"/api/assets/{ASSET}/completions", params={"format": "csv"}, headers=ADMIN
    ).text
    assert csv_text.splitlines()[1].startswith(f"{ASSET},alice,yes,1.0,")
    strict = c.get(f"/api/assets/{ASSET}/completions", params={"threshold": 1}, headers=ADMIN)
    assert [v["subject"] for v in strict.json()] == ["alice"]

    metrics = c.get("/metrics", headers=ADMIN).text
    assert 'vodstack_beacon_events_total{type="heartbeat"} 1.0' in metrics
    assert 'vodstack_beacon_events_total{type="other"} 1.0' in metrics
    assert "vodstack_qoe_startup_seconds_count 1.0" in metrics
    assert 'vodstack_beacon_rejected_total{reason="token"} 1.0' in metrics


def test_openapi_documents_the_viewer_side(services: Services) -> None:
    spec = client(services).get("/openapi.json").json()
    for path in (
        "/watch/{asset_id}",
        "/admin",
        "/dev/token",
        "/api/beacons",
        "/api/assets/{asset_id}/analytics",
        "/api/assets/{asset_id}/completions",
    ):
        assert path in spec["paths"], path
    play = spec["components"]["schemas"]["PlayOut"]
    assert {"hls", "dash", "expires", "session"} <= set(play["required"])
