"""``vodstack ingest FILE --wait --json`` (issue #2): the CLI transcodes in its own process and
exits 0 with the asset as JSON when it is ready, 1 with the reason when the master is bad.
Run as a user would: a real subprocess with a server's settings, on the same home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow


def ingest(server: LiveServer, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``vodstack ingest PATH --wait --json …`` with the server's environment."""
    return subprocess.run(
        [sys.executable, "-m", "vodstack.cli", "ingest", str(path), "--wait", "--json", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_ingest_wait_json_exits_0_with_the_ready_asset(server: LiveServer, make_clip) -> None:
    master = make_clip("master.mp4", seconds=2, size="320x180")
    proc = ingest(server, master, "--title", "From the CLI")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)  # only JSON on stdout: no progress bar, no status lines
    assert data["status"] == "ready" and data["error"] is None
    assert data["title"] == "From the CLI"
    assert abs(data["duration"] - 2.0) < 0.1
    assert data["revision"] == 1
    assert data["job"]["state"] == "succeeded" and data["job"]["attempts"] == 1
    heights = sorted(r["height"] for r in data["renditions"] if r["kind"] == "video")
    assert heights == [144, 180]  # never above the 180p source
    assert [r["codec"] for r in data["renditions"] if r["kind"] == "audio"] == ["mp4a.40.2"]
    asset_id = data["id"]
    assert data["playback"]["hls"].endswith(f"/v1/{asset_id}/index.m3u8")
    assert data["playback"]["dash"].endswith(f"/v1/{asset_id}/index.mpd")
    # the running server sees the same asset, ready, in the same catalogue
    assert server.asset(asset_id)["status"] == "ready"


def test_ingest_wait_json_exits_1_with_the_reason(server: LiveServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("this is a text file, not a video\n" * 50)
    proc = ingest(server, notes)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    data = json.loads(proc.stdout)
    assert data["status"] == "failed"
    assert "not a recognised video file" in data["error"]
    assert "Traceback" not in data["error"] and "Traceback" not in proc.stderr
    assert data["job"]["state"] in ("failed", "dead") and data["job"]["attempts"] == 1
    assert data["renditions"] == [] and data["playback"] == {"hls": None, "dash": None}
    assert server.asset(data["id"])["error"] == data["error"]
    assert server.client.get("/healthz").status_code == 200
