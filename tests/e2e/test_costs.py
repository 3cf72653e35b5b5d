"""Costs through a real server: the usage ledger counts what the edge sent, per track and
cache result; the report, the API and the metrics show it."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow


def test_ledger_counts_bytes_per_track_and_result(tmp_path) -> None:
    server = LiveServer(tmp_path / "home", {"VODSTACK_COSTS_FLUSH_S": "0.5"})
    server.start()
    try:
        source = make_clip_file(tmp_path / "m.mp4", seconds=4, size="320x180")
        asset_id = server.upload(source).json()["id"]
        assert server.wait(asset_id)["status"] == "ready"
        viewer = server.viewer(asset_id)
        manifest = viewer.get(f"/v1/{asset_id}/index.m3u8")
        master = manifest.text
        playlist = next(line for line in master.splitlines() if re.match(r"r\d+-\d+s/v", line))
        tag, track = playlist.split("/")[0], playlist.split("/")[1].removesuffix(".m3u8")
        sent: dict[str, int] = {"Hit": 0, "Miss": 0}
        for _ in range(2):  # a miss, then a hit
            r = viewer.get(f"/v1/{asset_id}/{tag}/{track}/1.m4s")
            sent[r.headers["x-edge-result-type"]] += len(r.content)
        assert sent["Hit"] and sent["Miss"]
        time.sleep(1.5)  # a flush
        report = server.client.get(f"/api/costs/{asset_id}", headers=server.admin).json()
        rung = next(r for r in report["assets"][0]["rungs"] if r["track_id"] == track)
        assert rung["egress_bytes"] == sent["Hit"] + sent["Miss"]
        assert report["egress"]["by_result"]["Hit"] == sent["Hit"]
        # bytes on the wire: the manifest went compressed (content coding)
        assert report["egress"]["by_kind"]["manifest"] == manifest.num_bytes_downloaded
        assert report["assets"][0]["stored_bytes"] > source.stat().st_size
        assert report["assets"][0]["cpu_s"] > 0
        metrics = server.metrics()
        assert re.search(r'^vodstack_costs_delivered_bytes_total\{result="Hit"\} ', metrics, re.M)
        assert "vodstack_costs_stored_bytes" in metrics
        assert server.client.get("/api/costs").status_code == 401  # admin only
        bad = server.client.get("/api/costs?since=soon", headers=server.admin)
        assert bad.status_code == 400 and "since" in bad.text
        text = server.cli("costs", "--asset", asset_id)
        assert "hit ratio 33.3 %" in text, text  # manifest miss, segment miss, segment hit
    finally:
        server.stop()
