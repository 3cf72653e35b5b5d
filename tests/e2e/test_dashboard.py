"""The shipped Grafana dashboard only queries metrics a running server exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveServer

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "vodstack-dashboard.json"
pytestmark = pytest.mark.slow


def test_dashboard_metrics_exist(server: LiveServer) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    names = {m for e in exprs for m in re.findall(r"\b(vodstack_[a-z_]+)", e)}
    server.client.get("/v1/aaaaaaaaaaaaaaaaaaaa/index.m3u8")  # one 403 so the families exist
    exposed = server.client.get("/metrics").text
    families = set(re.findall(r"^# TYPE (vodstack_[a-z_]+) ", exposed, re.M))
    for name in names:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert base in families or name in families, f"{name} is not exposed"
