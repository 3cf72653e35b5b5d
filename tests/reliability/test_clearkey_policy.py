"""Issue 20 item 2: keys from an external key service (SPEKE: Widevine/PlayReady) are not
handed out as ClearKey, nor as raw bytes at an HLS key URI, unless the operator opts in; and
pictures of protected assets follow the documented policy (signed like segments; none at all
with ``VODSTACK_PROTECTED_PICTURES=false``)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures.cpix import CpixServer
from vodstack.packaging.encryption import WIDEVINE_SYSTEM_ID, b64url

pytestmark = pytest.mark.slow


def _protected_asset(server: LiveServer, tmp_path: Path, scheme: str) -> str:
    source = make_clip_file(tmp_path / f"{scheme}.mp4", seconds=2, size="160x90")
    asset_id = server.upload(source).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    r = server.client.put(
        f"/api/assets/{asset_id}/protection", headers=server.admin, json={"schemes": [scheme]}
    )
    r.raise_for_status()
    return asset_id


def _kid(viewer: Viewer) -> bytes:
    mpd = viewer.get(viewer.play["dash"]).text
    return uuid.UUID(re.search(r'cenc:default_KID="([0-9a-f-]+)"', mpd).group(1)).bytes


def _hls_key_url(viewer: Viewer, asset_id: str) -> str:
    master = viewer.get(viewer.play["hls"]).text
    tag = re.search(r"(r\d+-\d+s-cbcs\d+)/", master).group(1)
    return f"/v1/{asset_id}/{tag}/key"


def _speke_server(tmp_path: Path, cpix: CpixServer, **env: str) -> LiveServer:
    server = LiveServer(
        tmp_path / "home",
        {
            "VODSTACK_SPEKE_URL": cpix.url,
            "VODSTACK_SPEKE_SYSTEM_IDS": f'["{WIDEVINE_SYSTEM_ID}"]',
            **env,
        },
    )
    server.start()
    return server


def test_external_keys_are_not_released_as_clearkey(tmp_path: Path) -> None:
    cpix = CpixServer()
    server = _speke_server(tmp_path, cpix)
    try:
        asset_id = _protected_asset(server, tmp_path, "cbcs")
        viewer = server.viewer(asset_id, "ck1")
        kid = _kid(viewer)
        key = cpix.keys[str(uuid.UUID(bytes=kid))]
        r = viewer.client.post(f"/v1/{asset_id}/license", json={"kids": [b64url(kid)]})
        assert r.status_code == 403, r.text
        assert r.json()["rule"] == "clear_key_refused" and "external key service" in r.text
        assert b64url(key) not in r.text
        raw = viewer.get(_hls_key_url(viewer, asset_id))  # KEYFORMAT "identity" for cbcs
        assert raw.status_code == 403 and raw.json()["rule"] == "clear_key_refused"
        assert key not in raw.content
        # the media itself is still delivered (for the DRM vendor's licence server to unlock),
        # without ClearKey signalling that could only lead to a refusal
        mpd = viewer.get(viewer.play["dash"])
        assert mpd.status_code == 200 and f"urn:uuid:{WIDEVINE_SYSTEM_ID}" in mpd.text
        assert "e2719d58-a985-b3c9-781a-b030af78d30e" not in mpd.text
    finally:
        server.stop()
        cpix.close()


def test_opt_in_releases_external_keys_and_pictures_can_be_withheld(tmp_path: Path) -> None:
    cpix = CpixServer()
    server = _speke_server(
        tmp_path,
        cpix,
        VODSTACK_CLEARKEY_EXTERNAL_KEYS="true",
        VODSTACK_PROTECTED_PICTURES="false",
    )
    try:
        asset_id = _protected_asset(server, tmp_path, "cbcs")
        viewer = server.viewer(asset_id, "ck2")
        kid = _kid(viewer)
        assert "e2719d58-a985-b3c9-781a-b030af78d30e" in viewer.get(viewer.play["dash"]).text
        r = viewer.client.post(f"/v1/{asset_id}/license", json={"kids": [b64url(kid)]})
        assert r.status_code == 200
        assert r.json()["keys"][0]["k"] == b64url(cpix.keys[str(uuid.UUID(bytes=kid))])
        for picture in ("poster.jpg", "thumbnail.jpg?time=1&width=160", "storyboard.vtt"):
            assert viewer.get(f"/v1/{asset_id}/{picture}").status_code == 404, picture
            # and, as for every /v1 URL, nothing without the signature
            assert httpx.get(f"{server.base_url}/v1/{asset_id}/{picture}").status_code == 403
        clear_id = _protected_asset(server, tmp_path, "clear")
        clear_viewer = server.viewer(clear_id, "ck3")
        assert clear_viewer.get(f"/v1/{clear_id}/poster.jpg").status_code == 200
    finally:
        server.stop()
        cpix.close()
