"""``vodstack assets protect ID SCHEMES`` and ``vodstack assets rekey ID`` against a running
server: the CLI (another process) changes the catalogue and writes the same ``asset.updated``
events as the admin API, and the server serves the new form within seconds — decrypted by
FFmpeg frame for frame, with the same stored media (no re-transcode).

The server and every CLI process run with ``VODSTACK_SIGNING_KEY_PASSPHRASE``: the private keys
on disk are encrypted, and /play cookies and dev tokens are still signed and verified.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, Viewer
from tests.e2e.test_protection import default_kid, frame_hashes, licence_key
from vodstack.entitlement.keystore import PrivateKeyStore
from vodstack.errors import ConfigError
from vodstack.packaging.encryption import b64url_decode

pytestmark = pytest.mark.slow

PASSPHRASE = "cli-test passphrase"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("protect-cli")
    server = LiveServer(root / "home", {"VODSTACK_SIGNING_KEY_PASSPHRASE": PASSPHRASE})
    server.start()
    clip = make_clip_file(root / "clip.mp4", seconds=2, size="160x90")
    asset_id = server.upload(clip).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    viewer = server.viewer(asset_id, "cli-viewer")
    clear = frame_hashes(viewer.play["hls"], viewer.ffmpeg_cookies)
    assert len(clear) > 50
    yield server, asset_id, viewer, clear
    server.stop()


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    """The server notices another process's change through the event log (about 1 s) and
    re-reads the current content key every 2 s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def master(viewer: Viewer, asset_id: str) -> str:
    r = viewer.get(f"/v1/{asset_id}/index.m3u8")
    assert r.status_code == 200
    return r.text


def aes_generation(viewer: Viewer, asset_id: str) -> int | None:
    found = re.search(r"-aes(\d+)/", master(viewer, asset_id))
    return int(found.group(1)) if found else None


def run_cli(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vodstack.cli", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def protection_events(server: LiveServer, asset_id: str) -> list[dict[str, Any]]:
    rows = json.loads(server.cli("events", "--asset", asset_id, "--type", "asset.", "--json"))
    return [
        e
        for e in rows
        if e["type"] == "asset.updated"
        and (e.get("payload") or {}).get("action") in ("protection", "rekey")
    ]


def test_protect_and_rekey_from_the_cli(env) -> None:
    server, a, viewer, clear = env
    before_events = len(protection_events(server, a))
    clear_segment = viewer.get(f"/v1/{a}/r1-4s/v90/1.m4s")
    assert clear_segment.status_code == 200

    out = json.loads(server.cli("assets", "protect", a, "aes-128,cenc", "--json"))
    assert out == {
        "id": a,
        "drm": "aes-128,cenc",
        "served": {"hls": "aes-128", "dash": "cenc"},
    }
    assert server.asset(a)["drm"] == "aes-128,cenc"  # the admin API sees the same setting
    events = protection_events(server, a)
    assert len(events) == before_events + 1
    assert events[0]["payload"] == {
        "action": "protection",
        "drm": "aes-128,cenc",
        # edges forget manifests and take down the clear tags; encrypted URLs are new ones
        "purge": {"scope": "manifests", "schemes": ["aes-128", "cenc"]},
    }

    # the running server switches: encrypted HLS whose key comes through the gate, decoded
    # by FFmpeg into exactly the clear frames; the old clear URLs stop resolving
    assert eventually(lambda: aes_generation(viewer, a)) == 1
    # the edge drops the cached clear tag when it applies the event; the master can change
    # first (its short TTL ran out and the origin answered with the new setting)
    assert eventually(lambda: viewer.get(f"/v1/{a}/r1-4s/v90/1.m4s").status_code == 404)
    assert frame_hashes(viewer.play["hls"], viewer.ffmpeg_cookies) == clear
    mpd = viewer.get(viewer.play["dash"]).text
    assert 'value="cenc"' in mpd
    old_kid = default_kid(mpd)
    status, jwks = licence_key(viewer, a, old_kid)
    assert status == 200
    old_key = b64url_decode(jwks["keys"][0]["k"])
    assert frame_hashes(viewer.play["dash"], viewer.ffmpeg_cookies, old_key.hex()) == clear

    out = json.loads(server.cli("assets", "rekey", a, "--json"))
    assert out == {"id": a, "generations": [2, 2]}  # aes-128 and cenc, one new key each
    events = protection_events(server, a)
    assert events[0]["payload"] == {
        "action": "rekey",
        "purge": {"scope": "manifests", "generations": {"aes-128": 2, "cenc": 2}},
    }
    assert eventually(lambda: aes_generation(viewer, a) == 2)
    assert frame_hashes(viewer.play["hls"], viewer.ffmpeg_cookies) == clear

    def fresh_kid() -> bytes | None:
        kid = default_kid(viewer.get(viewer.play["dash"]).text)
        return kid if kid != old_kid else None

    new_kid = eventually(fresh_kid)
    assert new_kid is not None
    status, jwks = licence_key(viewer, a, new_kid)
    new_key = b64url_decode(jwks["keys"][0]["k"])
    assert status == 200
    assert new_key != old_key
    assert frame_hashes(viewer.play["dash"], viewer.ffmpeg_cookies, new_key.hex()) == clear

    human = server.cli("assets", "protect", a, "clear")
    assert human == f"{a} protection: clear (hls: clear, dash: clear)"
    assert eventually(lambda: aes_generation(viewer, a) is None)
    assert viewer.get(f"/v1/{a}/r1-4s/v90/1.m4s").content == clear_segment.content
    assert frame_hashes(viewer.play["hls"], viewer.ffmpeg_cookies) == clear
    assert server.cli("assets", "rekey", a) == f"{a} is served clear: no content key to replace"


def test_cli_refuses_bad_input_without_changing_anything(env) -> None:
    server, a, _, _ = env
    server.cli("assets", "protect", a, "cbcs")
    before = len(protection_events(server, a))
    bad_scheme = run_cli(server, "assets", "protect", a, "aes-128,playready")
    assert bad_scheme.returncode == 1
    assert "unknown protection playready" in bad_scheme.stderr
    unknown_asset = run_cli(server, "assets", "protect", "z" * 20, "cenc")
    assert unknown_asset.returncode == 1
    assert "no such asset" in unknown_asset.stderr or "no asset" in unknown_asset.stderr
    empty = run_cli(server, "assets", "protect", a, " ")
    assert empty.returncode == 2  # a usage error
    assert run_cli(server, "assets", "rekey", "../../etc").returncode == 1
    assert server.asset(a)["drm"] == "cbcs"
    assert len(protection_events(server, a)) == before
    out = json.loads(server.cli("assets", "protect", a, "cenc", "--json"))
    assert out["served"] == {"hls": None, "dash": "cenc"}  # HLS cannot carry cenc
    server.cli("assets", "protect", a, "clear")


def test_keys_on_disk_are_encrypted_and_still_sign(env) -> None:
    server, a, viewer, _ = env
    keys_dir = server.home / "secrets" / "keys"
    files = sorted(keys_dir.glob("*.pem"))
    assert {p.stem for p in files} >= {"jwt-dev"} and len(files) >= 2
    for path in files:
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(ConfigError):
            PrivateKeyStore(keys_dir).load(path.stem)
    assert PASSPHRASE not in server.log_path.read_text()
    # a key rotated by the CLI is written encrypted too, and the server signs with it
    new_key = server.cli("keys", "rotate")
    assert (
        (keys_dir / f"signing-{new_key}.pem")
        .read_bytes()
        .startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    )
    time.sleep(2.5)  # servers re-read the key group every 2 s
    client = httpx.Client(base_url=server.base_url, timeout=30)
    r = client.post(f"/play/{a}", headers={"Authorization": f"Bearer {server.token('cli-viewer')}"})
    assert r.status_code == 200
    assert client.cookies["CloudFront-Key-Pair-Id"] == new_key
    assert client.get(f"/v1/{a}/index.m3u8").status_code == 200
    assert viewer.get(f"/v1/{a}/index.m3u8").status_code == 200  # older cookies still play
