"""The remote CLI and the Python client against a `vodstack serve` on another port: the CLI
has no catalogue of its own (another home), speaks the API with a scoped key and prints
that server's URLs; the commands that stay local refuse in one line; the client pages,
and raises the server's reasons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import ADMIN_TOKEN, LiveServer
from vodstack.client import ApiError, Client

pytestmark = pytest.mark.slow


def vodstack(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VODSTACK_")}
    return subprocess.run(
        [sys.executable, "-m", "vodstack.cli", *args],
        env={**clean, "VODSTACK_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_remote_cli_and_client_against_a_server_on_another_port(
    server: LiveServer, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "cli-home"  # the CLI's own (empty) home: all it knows is the API
    with Client(server.base_url, ADMIN_TOKEN) as admin:
        key = admin.create_api_key("remote cli", ["read", "upload", "publish", "entitle"])
        reader = admin.create_api_key("reader", ["read"])
    assert key.token.startswith("vsk_")
    remote = ("--url", server.base_url, "--api-key", key.token)

    def cli(*args: str) -> str:
        proc = vodstack(elsewhere, *remote, *args)
        assert proc.returncode == 0, f"vodstack {' '.join(args)}: {proc.stderr[-2000:]}"
        return proc.stdout

    clip = make_clip_file(tmp_path / "short.mp4", seconds=2, size="320x180")
    asset_id = cli("ingest", str(clip), "--title", "remote clip", "--wait").strip()
    assert len(asset_id) >= 10, asset_id
    assert f"{asset_id} published" in cli("assets", "publish", asset_id)

    shown = cli("assets", "show", asset_id)
    assert "remote clip" in shown and "status      ready" in shown
    assert f"http://127.0.0.1:{server.port}/" in shown, shown  # that server's URLs
    assert ":8000" not in shown
    assert asset_id in cli("assets", "list")  # piped: plain columns, the whole id
    assert asset_id in cli("jobs", "list", "--asset", asset_id)

    cli("assets", "set", asset_id, "--tag", "promo", "--meta", "show=S1", "--owner", "mkt")
    with Client(server.base_url, reader.token) as api:
        asset = api.asset(asset_id)
        assert asset.tags == ["promo"] and asset.metadata == {"show": "S1"}
        assert asset.owner == "mkt"
        assert [a.id for a in api.assets(tag="promo")] == [asset_id]
        if asset.job:
            assert api.job(asset.job["id"]).asset_id == asset_id
        with pytest.raises(ApiError) as refused:  # a scope the key lacks: 403 naming it
            api.publish(asset_id)
        assert refused.value.status == 403 and "publish" in refused.value.message
        with pytest.raises(ApiError) as missing:
            api.asset("no-such-asset-000000")
        assert missing.value.status == 404

    # Entitlement over the API; the client pages through X-Next-Cursor.
    for who in ("alice", "bob", "carol"):
        assert f"{who} on basic" in cli("entitle", who, "--plan", "basic")
    assert "carol" in cli("subscriptions")
    with Client(server.base_url, key.token) as api:
        subjects = [s.subject for s in api.subscriptions(limit=1)]
        assert sorted(subjects) == ["alice", "bob", "carol"]

    # Environment instead of options; the server's reason in one line for a bad request.
    env = {"VODSTACK_API_URL": server.base_url, "VODSTACK_API_KEY": key.token}
    listed = vodstack(elsewhere, "assets", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert asset_id in listed.stdout
    bad = vodstack(elsewhere, *remote, "assets", "show", "no-such-asset-000000")
    assert bad.returncode == 1 and bad.stderr.startswith("error:"), bad.stderr
    assert "Traceback" not in bad.stderr

    # What stays local says so in one line.
    local_only = vodstack(elsewhere, *remote, "webhooks", "list")
    assert local_only.returncode == 2 and len(local_only.stderr.strip().splitlines()) == 1
    assert "runs locally only" in local_only.stderr
    assert vodstack(elsewhere, *remote, "stats").returncode == 2

    # Delete keeps the master; restore rebuilds it (over the API).
    assert "restore it" in cli("assets", "unpublish", asset_id) + cli("assets", "delete", asset_id)
    assert "restored from its master" in cli("assets", "restore", asset_id)
    assert server.asset(asset_id)["status"] in ("queued", "transcoding", "ready")
