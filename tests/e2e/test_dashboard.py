"""The shipped Grafana dashboard only queries metrics a running server exposes; the job
metrics it charts change as jobs are queued and end."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.e2e.test_edge import metric

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "vodstack-dashboard.json"
pytestmark = pytest.mark.slow


def test_dashboard_metrics_exist(server: LiveServer) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    pattern = r"\b(vodstack_[a-z_]+|process_[a-z_]+|target_info)\b"
    names = {m for e in exprs for m in re.findall(pattern, e)}
    assert {"process_cpu_seconds_total", "target_info"} <= names
    server.client.get("/v1/aaaaaaaaaaaaaaaaaaaa/index.m3u8")  # one 403 so the families exist
    exposed = server.metrics()
    families = set(
        re.findall(r"^# TYPE ((?:vodstack|process)_[a-z_]+|target_info) ", exposed, re.M)
    )
    for name in names:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert base in families or name in families, f"{name} is not exposed"


def test_job_durations_and_queue_depth(tmp_path: Path) -> None:
    """Durations of jobs that ended in the serving process, by outcome; queued jobs per queue,
    falling back to 0 once the queue is drained."""
    home = tmp_path / "home"
    good = make_clip_file(tmp_path / "good.mp4", seconds=2, size="160x90")
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is a text file, not a video\n" * 50)
    seconds = "vodstack_transcode_job_seconds"

    worker = LiveServer(home)
    worker.start()
    try:
        a = worker.upload(good).json()["id"]
        assert worker.wait(a)["status"] == "ready"
        until(lambda: metric(worker, f"{seconds}_count", 'outcome="succeeded"') == 1)
        assert metric(worker, f"{seconds}_sum", 'outcome="succeeded"') > 0
        text = worker.metrics()
        assert f'{seconds}_count{{outcome="failed"}} 0.0' in text  # the series exists at 0
        for queue in ("ondemand", "backfill"):
            assert f'vodstack_jobs_queued{{queue="{queue}"}} 0.0' in text
    finally:
        worker.stop()

    # Nothing runs jobs now: an edge process only reads the catalogue's job gauges.
    watcher = LiveServer(home, args=["--role", "edge", "--origin", "http://127.0.0.1:9"])
    watcher.start()
    try:
        watcher.cli("assets", "retranscode", "--all")  # the backfill queue
        b = watcher.cli("ingest", str(bad))  # the ondemand queue
        assert metric(watcher, "vodstack_jobs_queued", 'queue="ondemand"') == 1
        assert metric(watcher, "vodstack_jobs_queued", 'queue="backfill"') == 1
        assert metric(watcher, "vodstack_jobs", 'state="queued"') == 2
        assert metric(watcher, f"{seconds}_count", 'outcome="succeeded"') == 0
        worker = LiveServer(home)
        worker.start()
        try:
            assert worker.wait(b)["status"] == "failed"
            until(lambda: metric(worker, f"{seconds}_count", 'outcome="succeeded"') == 1, 120)
            until(lambda: metric(worker, f"{seconds}_count", 'outcome="failed"') == 1)
            assert metric(worker, f"{seconds}_sum", 'outcome="failed"') >= 0
            # drained queues read 0 (a gauge left at its last value would say 1)
            assert metric(watcher, "vodstack_jobs_queued", 'queue="ondemand"') == 0
            assert metric(watcher, "vodstack_jobs_queued", 'queue="backfill"') == 0
            assert metric(watcher, "vodstack_jobs", 'state="queued"') == 0
            assert metric(watcher, "vodstack_jobs", 'state="dead"') == 1  # the failed job
        finally:
            worker.stop()
    finally:
        watcher.stop()


def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.2)
