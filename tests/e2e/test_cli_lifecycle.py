"""The CLI beside a running `serve --port N`: it prints that port's URLs, pipes plain tables,
shows assets readably, ingests from a URL, deletes with a restore hint, restores, purges a
master only when told to (audited), sends the webhooks of its own commands, and reads
`stats` from the server it finds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.fixtures.http_source import HttpSource
from tests.fixtures.scaleout import WebhookReceiver

pytestmark = pytest.mark.slow
SECRET = b"whsec_cli"


def run(server: LiveServer, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vodstack.cli", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def test_the_cli_beside_a_running_server(tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET)
    source = HttpSource()
    server = LiveServer(
        tmp_path / "home",
        {
            "VODSTACK_URL_INGEST_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
            "VODSTACK_WEBHOOK_URLS": json.dumps([receiver.url]),
            "VODSTACK_WEBHOOK_SECRET": SECRET.decode(),
            "VODSTACK_TRANSCODE_MODE": "single",
        },
    )
    server.start()
    try:
        url = source.file(
            "/talk.mp4", make_clip_file(tmp_path / "t.mp4", seconds=2, size="320x180")
        )
        ingested = run(server, "ingest", url, "--title", "From a URL")
        assert ingested.returncode == 0, ingested.stderr
        asset_id = ingested.stdout.strip()
        assert server.wait(asset_id)["status"] == "ready"

        # URLs of the server on its own port (not the default :8000)
        shown = json.loads(server.cli("assets", "show", asset_id, "--json"))
        assert shown["playback"]["hls"] == f"{server.base_url}/v1/{asset_id}/index.m3u8"
        text = server.cli("assets", "show", asset_id)
        assert text.startswith("From a URL\n") and f"  id          {asset_id}" in text
        assert f"{server.base_url}/v1/{asset_id}/index.mpd" in text

        # piped tables: plain, whole ids
        listed = server.cli("assets", "list").splitlines()
        assert listed[0].split()[:3] == ["id", "status", "published"]
        assert any(line.startswith(f"{asset_id}  ready") for line in listed)
        assert not any(c in "\n".join(listed) for c in "│┃━…")

        # stats finds the running server
        stats = run(server, "stats")
        assert stats.returncode == 0 and "edge requests" in stats.stdout, stats.stderr

        # the CLI's own events reach the webhook receiver before it exits
        server.cli("assets", "unpublish", asset_id)
        unpublished = [b for b in receiver.processed.values() if b["type"] == "asset.unpublished"]
        assert unpublished and unpublished[0]["asset_id"] == asset_id

        # delete keeps the master and says how to restore
        deleted = server.cli("assets", "delete", asset_id)
        assert f"vodstack assets restore {asset_id}" in deleted
        assert f"vodstack assets purge-master {asset_id}" in deleted
        refused = run(server, "assets", "purge-master", asset_id)  # no --yes, no terminal
        assert refused.returncode == 2 and "--yes" in refused.stderr
        restored = json.loads(server.cli("assets", "restore", asset_id, "--json"))
        assert restored["status"] == "queued"
        asset = server.wait(asset_id)
        assert asset["status"] == "ready" and asset["title"] == "From a URL"
        assert asset["published"] is False  # as it was when deleted

        again = run(server, "assets", "restore", asset_id)
        assert again.returncode == 1 and "exists" in again.stderr
        server.cli("assets", "delete", asset_id)
        purged = json.loads(server.cli("assets", "purge-master", asset_id, "--yes", "--json"))
        assert purged["purged"] is True and purged["size"] > 0
        audit = json.loads(server.cli("events", "--type", "master.purged", "--json"))
        assert audit[0]["asset_id"] == asset_id and audit[0]["payload"]["actor"]["via"] == "cli"
        assert audit[0]["created_at"]
        gone = run(server, "assets", "restore", asset_id)
        assert gone.returncode == 1 and "no retained master" in gone.stderr
        assert len(gone.stderr.strip().splitlines()) == 1

        # URL ingest refusals: one line, nothing created
        before = len(json.loads(server.cli("assets", "list", "--json")))
        private = run(server, "ingest", "http://10.0.0.9/master.mp4")
        assert private.returncode == 2 and "private address" in private.stderr
        assert len(json.loads(server.cli("assets", "list", "--json"))) == before
    finally:
        server.stop()
        source.close()
        receiver.close()

    # the server is gone: stats says so in one line
    deadline = time.monotonic() + 10
    while True:
        dead = run(server, "stats")
        if dead.returncode == 1 or time.monotonic() > deadline:
            break
    assert dead.returncode == 1 and len(dead.stderr.strip().splitlines()) == 1
    assert f"no vodstack server answers at {server.base_url}" in dead.stderr
