"""Operating a real ``vodstack serve`` process: its logs are JSON lines with timestamps and
ids, ``/metrics`` is not for anonymous viewers, and the admin listener serves it apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import ADMIN_TOKEN, LiveServer, free_port

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-reader-token-0123456789"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def records(path: Path) -> list[dict[str, object]]:
    """Every line of a server's output, each of which must be one JSON object."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


def test_logs_metrics_and_request_ids(tmp_path: Path) -> None:
    metrics_port = free_port()
    server = LiveServer(
        tmp_path / "home",
        {
            "VODSTACK_ACCESS_LOG": "-",  # access lines join the process's JSON lines
            "VODSTACK_METRICS_TOKEN": METRICS_TOKEN,
        },
        args=["--metrics-port", str(metrics_port)],
    )
    server.start()
    try:
        clip = make_clip_file(tmp_path / "m.mp4", seconds=2, size="160x90")
        asset_id = server.upload(clip).json()["id"]
        assert server.wait(asset_id)["status"] == "ready"

        # X-Request-Id: a well-formed one is kept and echoed, else one is made
        denied = server.client.get(
            f"/v1/{asset_id}/index.m3u8", headers={"X-Request-Id": "trace-0001"}
        )
        assert denied.status_code == 403
        assert denied.headers["x-request-id"] == "trace-0001"
        made = server.client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])

        # /metrics on the viewer port: never anonymous
        anonymous = server.client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        wrong = server.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        for token in (ADMIN_TOKEN, METRICS_TOKEN):
            ok = server.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200
        text = ok.text
        info = re.search(r"^target_info\{(.*)\} 1\.0$", text, re.M)
        assert info, text[:500]
        assert 'role="all"' in info.group(1) and re.search(r'instance="[^"]+:\d+"', info.group(1))
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
            assert re.search(rf"^{name} [0-9.e+]+$", text, re.M), name
        # ... and on the admin listener (loopback), without a token
        admin = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert admin.status_code == 200
        assert "vodstack_gate_denied_total" in admin.text and "target_info{" in admin.text
    finally:
        server.stop()

    logged = records(server.log_path)
    app_records = [r for r in logged if "level" in r]
    for record in app_records:
        assert ISO_UTC.match(str(record["timestamp"])), record
        assert {"level", "logger", "message", "role", "instance"} <= set(record), record
        assert record["role"] == "all"
    assert any(r["message"].startswith("vodstack ") for r in app_records)  # the banner
    assert any("job_id" in r for r in app_records), "no record of the transcode job"
    access = [r for r in logged if "x-edge-result-type" in r]
    [line] = [r for r in access if r["path"] == f"/v1/{asset_id}/index.m3u8"]
    assert line["request_id"] == "trace-0001" and line["status"] == 403
    assert ADMIN_TOKEN not in server.log_path.read_text()
    assert METRICS_TOKEN not in server.log_path.read_text()


def test_text_logs_when_configured(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "home", {"VODSTACK_LOG_FORMAT": "text"})
    server.start()
    server.stop()
    text = server.log_path.read_text()
    assert re.search(r"^\d{4}-\d\d-\d\dT\S+Z INFO vodstack\.cli: vodstack ", text, re.M), text
    assert not text.lstrip().startswith("{")
