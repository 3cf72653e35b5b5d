"""A job running when the server dies is picked up again after a restart (kill -9)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow


def test_transcode_survives_kill_9(tmp_path) -> None:
    source = make_clip_file(tmp_path / "long.mp4", seconds=30, size="1280x720")
    # single pass: nothing is served before the whole revision is committed (a progressive
    # revision is served from its first window; test_progressive covers its failures)
    server = LiveServer(
        tmp_path / "home",
        {
            "VODSTACK_X264_PRESET": "medium",
            "VODSTACK_JOB_LEASE_S": "5",
            "VODSTACK_TRANSCODE_MODE": "single",
        },
    )
    server.start()
    try:
        asset_id = server.upload(source).json()["id"]
        deadline = time.monotonic() + 60
        while server.asset(asset_id)["status"] != "transcoding":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        server.kill()  # mid-transcode
        work = server.home / "work"
        assert any(work.iterdir())  # partial outputs exist on disk …
        server.start()
        # … but nothing is served for the asset until a complete revision is committed
        server.subscribe("v")
        assert server.play(asset_id, server.token("v")).status_code == 409
        asset = server.wait(asset_id, timeout=240)
        assert asset["status"] == "ready", asset
        assert asset["job"]["attempts"] == 2
        viewer = server.viewer(asset_id, "v")
        assert viewer.get(f"/v1/{asset_id}/index.m3u8").status_code == 200
        revisions = list((server.home / "objects" / "packaged" / asset_id).iterdir())
        assert [p.name for p in revisions] == ["1"]
        assert not any(p for p in work.iterdir())  # scratch space reclaimed
    finally:
        server.stop()
