"""Endpoints the admin page needs beyond the asset API, in-process: catalogue-wide QoE
(``GET /api/qoe``) and an asset's access rules (``GET /api/assets/{id}/access``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.conftest import make_settings

from vodstack.catalogue.models import PlaybackSession
from vodstack.compose.server import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app
from vodstack.web.state import state_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADMIN = {"Authorization": "Bearer admin-token-for-tests-000"}
A, B = "a" * 20, "b" * 20


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(tmp_path / "home", admin_token=ADMIN["Authorization"][7:]))
    for asset_id, title, duration in ((A, "Lecture A", 10.0), (B, "Lecture B", 20.0)):
        s.catalogue.create_asset(
            asset_id, title=title, source_key="k", source_name="n", source_size=1
        )
        s.catalogue.update_asset(asset_id, duration=duration)
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)))


def watch(client: TestClient, subject: str, asset_id: str, events: list[dict]) -> str:
    session = state_of(client.app).server.playback.start(subject, asset_id)  # type: ignore[arg-type]
    numbered = [{"seq": i, **e} for i, e in enumerate(events)]
    r = client.post("/api/beacons", json={"session": session.token, "events": numbered})
    assert r.status_code == 200, r.text
    return session.id


FULL = [  # 10 s watched to the end, 0.4 s to start
    {"type": "start", "t": 0, "pos": 0},
    {"type": "first_frame", "t": 0.4, "pos": 0, "ms": 400},
    {"type": "heartbeat", "t": 5.4, "pos": 5},
    {"type": "ended", "t": 10.4, "pos": 10},
]
BROKEN = [  # 2 s in, a 2 s stall, then a fatal error
    {"type": "start", "t": 0, "pos": 0},
    {"type": "first_frame", "t": 1.5, "pos": 0, "ms": 1500},
    {"type": "stall_start", "t": 3.5, "pos": 2},
    {"type": "playing", "t": 5.5, "pos": 2},
    {"type": "error", "t": 6, "pos": 2.5, "fatal": True, "code": "net"},
]


def test_catalogue_qoe(client: TestClient, services: Services) -> None:
    assert client.get("/api/qoe").status_code == 401
    empty = client.get("/api/qoe", headers=ADMIN).json()
    assert empty["totals"]["sessions"] == 0 and empty["per_asset"] == []

    watch(client, "ann", A, FULL)
    watch(client, "bob", A, BROKEN)
    old = watch(client, "cat", B, FULL[:3])
    with services.db.session() as session:  # cat watched B 30 days ago
        long_ago = datetime.now(UTC) - timedelta(days=30)
        session.execute(
            update(PlaybackSession).where(PlaybackSession.id == old).values(started_at=long_ago)
        )

    q = client.get("/api/qoe", headers=ADMIN).json()
    t = q["totals"]
    assert (q["assets"], t["sessions"], t["viewers"], q["truncated"]) == (2, 3, 3, False)
    assert t["startup_p50_s"] == pytest.approx(0.4) and t["startup_p95_s"] == pytest.approx(1.5)
    assert t["error_rate"] == 0.3333 and t["errors"] == 1
    assert t["rebuffer_ratio"] > 0
    assert (t["views"], t["completed_views"]) == (3, 1)
    rows = {r["asset_id"]: r for r in q["per_asset"]}
    assert rows[A]["title"] == "Lecture A" and rows[A]["figures"]["sessions"] == 2
    assert rows[B]["figures"]["completion_rate"] == 0  # half of B
    # The same figures as the asset's own report.
    report = client.get(f"/api/assets/{A}/analytics", headers=ADMIN).json()
    assert rows[A]["figures"]["startup_p50_s"] == report["startup_p50_s"]
    assert rows[A]["figures"]["rebuffer_ratio"] == report["rebuffer_ratio"]
    assert rows[A]["figures"]["error_rate"] == report["error_rate"]

    recent = client.get("/api/qoe", params={"days": 7, "top": 1}, headers=ADMIN).json()
    assert recent["totals"]["sessions"] == 2 and recent["since"] is not None
    assert [r["asset_id"] for r in recent["per_asset"]] == [A]

    services.assets.delete(B)  # its sessions still count, marked deleted
    rows = {r["asset_id"]: r for r in client.get("/api/qoe", headers=ADMIN).json()["per_asset"]}
    assert rows[B]["deleted"] is True and rows[B]["title"] is None

    for bad in ({"days": 0}, {"top": 501}, {"threshold": 0}, {"days": "x"}):
        assert client.get("/api/qoe", params=bad, headers=ADMIN).status_code == 422, bad


def test_access_rules_read_back(client: TestClient) -> None:
    assert client.get(f"/api/assets/{A}/access").status_code == 401
    none = client.get(f"/api/assets/{A}/access", headers=ADMIN).json()
    assert none == {"plans": None, "geo_allow": None, "geo_deny": None}
    rules = {"plans": ["gold"], "geo_allow": ["fr", "BE"], "geo_deny": None}
    assert client.put(f"/api/assets/{A}/access", json=rules, headers=ADMIN).status_code == 200
    got = client.get(f"/api/assets/{A}/access", headers=ADMIN).json()
    assert got == {"plans": ["gold"], "geo_allow": ["FR", "BE"], "geo_deny": None}
    assert client.get(f"/api/assets/{'z' * 20}/access", headers=ADMIN).status_code == 404
    assert client.get("/api/assets/..%2f/access", headers=ADMIN).status_code == 404


def test_admin_page_has_no_inline_script_and_a_strict_policy(client: TestClient) -> None:
    r = client.get("/admin")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    html = r.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, html
    for attrs, content in scripts:  # modules from /static, or data the browser never runs
        if 'type="application/json"' in attrs:
            assert json.loads(content) == {"sameOriginMedia": True}
        else:
            assert 'src="/static/player/' in attrs and not content.strip(), attrs
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers
    for module in re.findall(r'(?:src|href)="(/static/player/[^"]+)"', html):
        assert client.get(module).status_code == 200, module
