"""One upload's events through the local bus (issue #2): ``source.created`` → ``asset.ready``
(progressive, the default: playable after the first window) → ``transcode.completed`` →
``asset.ready`` (the whole ladder) → ``asset.extras_ready`` (issue #16: poster, storyboard,
download and VMAF after ready), in that order, with payloads that tie them together — read
back with ``vodstack events --asset ID --json`` as an operator would."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow

PIPELINE = (
    "source.created",
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

    events = json.loads(server.cli("events", "--asset", asset_id, "--json"))
    # newest first, and for this asset exactly the pipeline, once each: nothing failed
    assert [e["type"] for e in events] == list(reversed(PIPELINE))
    assert all(e["asset_id"] == asset_id for e in events)
    created, early, completed, ready, extras = reversed(events)
    assert created["id"] < early["id"] < completed["id"] < ready["id"] < extras["id"]
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
    assert [e["id"] for e in only] == [completed["id"]]
