"""Every role is built by the one composition root (vodstack.compose): the CLI's services,
``serve`` in each delivery role (its parts typed and present or absent as the role says, the
app mounted over them and started), and ``worker`` (the in-process pool, and each broker
lane's tasks registered on its Celery app)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings

from vodstack.compose.celery_app import LANES, TASK_DELIVER_WEBHOOK, TASK_RUN_JOB, make_celery
from vodstack.compose.delivery import Delivery, OpenGate, build_delivery
from vodstack.compose.lanes import LaneRuntime, register_tasks
from vodstack.compose.server import build_server
from vodstack.compose.services import build_services
from vodstack.edge.gate import SignatureGate
from vodstack.edge.service import Edge
from vodstack.origin.origin import Origin
from vodstack.web.app import create_app
from vodstack.web.state import state_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REMOTE = ("https://origin.invalid",)


def test_cli_role_builds_the_shared_services(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path / "home"))
    try:
        assert services.catalogue.list_assets() == []
        assert services.assets.pipeline is services.pipeline
        assert services.admin_token  # generated on first run
    finally:
        services.close()


@pytest.mark.parametrize(
    ("role", "has_origin", "has_edge", "checks_secret"),
    [
        ("all", True, True, False),
        ("edge", False, True, False),
        ("shield", False, True, True),
        ("origin", True, False, True),
    ],
)
def test_serve_roles(
    tmp_path: Path, role: str, has_origin: bool, has_edge: bool, checks_secret: bool
) -> None:
    settings = make_settings(
        tmp_path / "home",
        role=role,
        origin_urls=REMOTE if role in ("edge", "shield") else (),
        origin_secrets=("s3cret-for-roles",),
    )
    services = build_services(settings)
    try:
        server = build_server(services, run_workers=False)
        delivery = server.delivery
        assert delivery.role == role == server.role
        assert isinstance(delivery.origin, Origin) is has_origin
        assert isinstance(delivery.edge, Edge) is has_edge
        assert (delivery.follower is not None) is has_edge
        assert isinstance(delivery.gate, SignatureGate)
        assert delivery.origin_secrets() == (("s3cret-for-roles",) if checks_secret else ())
        assert (server.ledger is not None) is (role in ("all", "edge"))
        app = create_app(server)
        assert state_of(app).server is server
        with TestClient(app) as client:  # the lifespan runs server.start() and stop()
            health = client.get("/healthz")
            assert health.status_code == 200 and health.json()["role"] == role
            if checks_secret:  # shield and origin answer their edges only
                assert client.get(f"/v1/{'a' * 20}/index.m3u8").status_code == 403
    finally:
        services.close()


def test_a_stand_in_gate_replaces_the_signature_gate(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path / "home"))
    try:
        gate = OpenGate()
        delivery: Delivery = build_delivery(services, gate)
        assert delivery.gate is gate
    finally:
        services.close()


def test_worker_roles(tmp_path: Path) -> None:
    local = build_services(make_settings(tmp_path / "local"))
    try:
        pool = local.pipeline.pool()
        pool.start()
        pool.stop()
    finally:
        local.close()
    # With a broker: each lane's process builds the services and registers the two tasks
    # (no broker connection is made until a task is sent).
    settings = make_settings(tmp_path / "broker", broker_url="redis://127.0.0.1:6379/15")
    services = build_services(settings)
    try:
        assert services.pipeline.dispatcher is not None
        runtimes = [LaneRuntime(services, lane) for lane in LANES]
        assert [r.owner_prefix.rsplit(":", 1)[1] for r in runtimes] == list(LANES)
        app = make_celery(settings)
        register_tasks(app, runtimes[0])
        assert {TASK_RUN_JOB, TASK_DELIVER_WEBHOOK} <= set(app.tasks)
    finally:
        services.close()
