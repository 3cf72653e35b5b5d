"""Credentialed CORS for a player embedded in another origin (VODSTACK_CORS_ORIGINS).

A page at the listed origin may preflight and call ``POST /play``, then fetch the manifest
and segments with the signed cookies; any other origin gets no ``Access-Control-Allow-*``
grant; the admin API is never opened, whatever the origin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow

SITE = "https://learn.example.edu"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("cors")
    server = LiveServer(root / "home", {"VODSTACK_CORS_ORIGINS": json.dumps([SITE])})
    server.start()
    clip = make_clip_file(root / "clip.mp4", seconds=2, size="320x180")
    asset = server.wait(server.upload(clip, title="Embedded").json()["id"])
    assert asset["status"] == "ready", asset
    yield server, asset
    server.stop()


def preflight(server: LiveServer, path: str, origin: str, method: str = "POST") -> Any:
    return server.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_listed_origin_can_mint_and_fetch_media_with_credentials(served: Any) -> None:
    server, asset = served
    ok = preflight(server, f"/play/{asset['id']}", SITE)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == SITE
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()

    server.subscribe("embedded-viewer")
    minted = server.play(asset["id"], server.token("embedded-viewer"), headers={"Origin": SITE})
    assert minted.status_code == 200, minted.text
    assert minted.headers["access-control-allow-origin"] == SITE
    assert minted.headers["access-control-allow-credentials"] == "true"
    assert "origin" in minted.headers["vary"].lower()

    cookies = "; ".join(f"{k}={v}" for k, v in minted.cookies.items())
    manifest = server.client.get(
        f"/v1/{asset['id']}/index.m3u8", headers={"Origin": SITE, "Cookie": cookies}
    )
    assert manifest.status_code == 200
    assert manifest.headers["access-control-allow-origin"] == SITE
    media = preflight(server, f"/v1/{asset['id']}/index.m3u8", SITE, method="GET")
    assert media.status_code == 200  # a preflight carries no cookie and reaches no origin
    assert media.headers["access-control-allow-origin"] == SITE


def test_the_signature_gate_still_decides(served: Any) -> None:
    server, asset = served
    url = f"{server.base_url}/v1/{asset['id']}/index.m3u8"
    r = httpx.get(url, headers={"Origin": SITE})  # a fresh client: no cookies
    assert r.status_code == 403  # CORS grants reading a response, never access


def test_other_origins_get_no_grant(served: Any) -> None:
    server, asset = served
    refused = preflight(server, f"/play/{asset['id']}", EVIL)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    server.subscribe("evil-viewer")
    minted = server.play(asset["id"], server.token("evil-viewer"), headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in minted.headers


@pytest.mark.parametrize("path", ["/api/assets", "/api/uploads", "/admin"])
def test_the_admin_side_is_never_opened(served: Any, path: str) -> None:
    server, _ = served
    r = preflight(server, path, SITE)
    assert "access-control-allow-origin" not in r.headers
    r = server.client.get(path, headers={"Origin": SITE, **server.admin})
    assert "access-control-allow-origin" not in r.headers


def test_a_wildcard_or_a_path_is_refused_at_startup(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from vodstack.config import Settings

    for bad in (["*"], ["https://learn.example.edu/"], ["learn.example.edu"]):
        with pytest.raises(ValidationError, match="not an origin"):
            Settings(home=tmp_path, cors_origins=tuple(bad))
