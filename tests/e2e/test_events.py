"""One upload's events through the local bus (issue #2): ``asset.created`` → ``source.created``
→ ``transcode.started`` → ``asset.ready`` (progressive, the default: playable after the first
window) → ``transcode.completed`` → ``asset.ready`` (the whole ladder) → ``asset.extras_ready``
(issue #16: poster, storyboard, download and VMAF after ready), in that order, with
``transcode.progress`` steps while the job runs (issue #18), and payloads that tie them
together — read back with ``vodstack events --asset ID --json`` as an operator would."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow

PIPELINE = (
    "asset.created",
    "source.created",
    "transcode.started",
    "asset.ready",
    "transcode.completed",
    "asset.ready",
    "asset.extras_ready",
)


def test_one_upload_emits_created_completed_ready_in_order(server: LiveServer, make_clip) -> None:
    master = make_clip("master.mp4", seconds=2, size="320x180")
    response = server.upload(master, title="Events")
    assert response.status_code == 202, response.text
    asset_id = response.json()["id"]
    asset = server.wait(asset_id)
    assert asset["status"] == "ready", asset

    logged = json.loads(server.cli("events", "--asset", asset_id, "--json"))
    progress = [e for e in reversed(logged) if e["type"] == "transcode.progress"]
    events = [e for e in logged if e["type"] != "transcode.progress"]
    # newest first, and for this asset exactly the pipeline, once each: nothing failed
    assert [e["type"] for e in events] == list(reversed(PIPELINE))
    assert all(e["asset_id"] == asset_id for e in events)
    asset_created, created, started, early, completed, ready, extras = reversed(events)
    assert asset_created["id"] < created["id"] < started["id"] < early["id"]
    assert early["id"] < completed["id"] < ready["id"] < extras["id"]
    assert asset_created["payload"] == {"title": "Events", "source": "upload"}
    assert started["payload"] == {"job_id": asset["job"]["id"], "attempt": 1, "ladder": "default"}
    steps = [e["payload"]["progress"] for e in progress]
    assert steps == sorted(set(steps)) and all(0 < p < 1 for p in steps)
    assert all(started["id"] < e["id"] < completed["id"] for e in progress)
    times = [datetime.fromisoformat(e["created_at"]) for e in reversed(events)]
    assert times == sorted(times)
    assert early["payload"] == {
        "revision": 1,
        "progressive": True,
        "purge": {"scope": "revision", "revision": 1},
    }
    assert created["payload"]["size"] == master.stat().st_size
    assert created["payload"]["source_key"].startswith(f"masters/{asset_id}/")
    assert completed["payload"]["job_id"] == asset["job"]["id"]
    assert completed["payload"]["revision"] == 1 and completed["payload"]["attempt"] == 1
    # the whole ladder, not an early progressive one; edges forget manifests and untagged files
    assert ready["payload"] == {"revision": 1, "purge": {"scope": "revision", "revision": 1}}
    assert extras["payload"]["revision"] == 1
    assert {e["state"] for e in extras["payload"]["extras"].values()} == {"ready"}
    # --type narrows by prefix
    only = json.loads(server.cli("events", "--asset", asset_id, "--type", "transcode.", "--json"))
    assert [e["id"] for e in only if e["type"] != "transcode.progress"] == [
        completed["id"],
        started["id"],
    ]
