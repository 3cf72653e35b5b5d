"""deploy/compose.yaml as processes: no container engine runs here, so each vodstack service
of the compose file is started the way its container would start it — ``deploy/entrypoint.sh``
with the service's environment — with host names mapped to loopback: PostgreSQL and Redis of
this machine, moto_server for the S3 store (MinIO in the file), a free port per service.

The topology is the file's: origin, shield, two edges (one worker process per core each),
two Celery workers, secrets in the catalogue (``VODSTACK_SECRETS_URL=db``). An upload through
an edge is transcoded by the workers and a viewer plays it, signed, through both edges.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import make_clip_file
from tests.e2e.conftest import free_port
from tests.fixtures.databases import postgres_available, postgres_database
from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - the session fixture
from tests.fixtures.scaleout import REDIS_URL, redis_available, redis_namespace

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
DOTENV = {
    "POSTGRES_PASSWORD": "unused-here",
    "MINIO_ROOT_PASSWORD": "testing",
    "VODSTACK_SECRETS_PASSPHRASE": "compose test passphrase",
    "VODSTACK_ADMIN_TOKEN": "compose-admin-token-0123456789",
}
HTTP_PORT = 8000  # the port every vodstack container listens on


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in variables and variables[name] != "":
            return variables[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg if op == ":-" else ""

    value = re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)
    return value.replace("$$", "$")


def vodstack_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from deploy/Dockerfile (the others are third-party images)."""
    return {n: s for n, s in compose["services"].items() if "build" in s}


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    url: str | None

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Topology:
    procs: dict[str, Proc]
    admin: dict[str, str]
    env: dict[str, str]  # the edge1 environment, for `vodstack` commands
    tmp: Path

    def url(self, name: str) -> str:
        url = self.procs[name].url
        assert url is not None
        return url


def _shim(bin_dir: Path) -> None:
    """``vodstack`` on PATH as a container has it, running this checkout's sources."""
    bin_dir.mkdir()
    shim = bin_dir / "vodstack"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vodstack.cli "$@"\n')
    shim.chmod(0o755)


def _wait_http(p: Proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.proc.poll() is not None:
            raise RuntimeError(f"{p.name} exited: {p.text()[-3000:]}")
        try:
            if httpx.get(f"{p.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{p.name} did not answer in {timeout} s: {p.text()[-3000:]}")


def _loopback(value: str, hosts: dict[str, str]) -> str:
    for host, loopback in hosts.items():
        value = value.replace(host, loopback)
    return value


def _wait_worker(p: Proc, lanes: int = 3, timeout: float = 60) -> None:
    """Until every Celery lane of the worker says it is ready."""
    deadline = time.monotonic() + timeout
    while p.text().count(" ready.") < lanes:
        if p.proc.poll() is not None:
            raise RuntimeError(f"{p.name} exited: {p.text()[-3000:]}")
        assert time.monotonic() < deadline, f"{p.name} lanes not ready: {p.text()[-3000:]}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, moto_s3: MotoS3) -> Iterator[Topology]:  # noqa: F811
    if not postgres_available() or not redis_available():
        pytest.fail("PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) run here and in CI")
    tmp = tmp_path_factory.mktemp("compose")
    compose = yaml.safe_load(COMPOSE.read_text())
    services = vodstack_services(compose)
    assert set(services) == {"origin", "shield", "edge1", "edge2", "worker"}
    ports = {
        name: free_port()
        for name, s in services.items()
        if s["environment"].get("VODSTACK_SERVICE") != "worker"
    }
    bucket = f"compose-{secrets.token_hex(4)}"
    moto_s3.client().create_bucket(Bucket=bucket)  # what the one-shot `bucket` service does
    _shim(tmp / "bin")
    procs: dict[str, Proc] = {}
    with postgres_database() as db_url, redis_namespace() as prefix:
        # The same host names a container resolves, mapped to loopback.
        hosts = {f"{name}:{HTTP_PORT}": f"127.0.0.1:{port}" for name, port in ports.items()}
        hosts |= {"redis:6379": REDIS_URL.split("//", 1)[1].split("/", 1)[0]}
        hosts |= {"minio:9000": moto_s3.endpoint_url.split("//", 1)[1]}
        variables = {**DOTENV, "VODSTACK_PUBLIC_URL": f"http://127.0.0.1:{ports['edge1']}"}

        def environment(name: str) -> dict[str, str]:
            env = {
                k: _loopback(interpolate(str(v), variables), hosts)
                for k, v in services[name]["environment"].items()
            }
            # Credentials differ here (trust auth, a database per test run): the URL's host
            # part is the only thing the file and this machine share.
            assert env["VODSTACK_DATABASE_URL"].startswith("postgresql+psycopg://")
            env["VODSTACK_DATABASE_URL"] = db_url
            env["VODSTACK_STORAGE_URL"] = env["VODSTACK_STORAGE_URL"].replace(
                "s3://vodstack/", f"s3://{bucket}/"
            )
            return {
                "PATH": f"{tmp / 'bin'}{os.pathsep}{os.environ['PATH']}",
                "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT))),
                "HOME": str(tmp),
                **env,
                "VODSTACK_HOME": str(tmp / name),  # the service's volume
                "VODSTACK_HOST": "127.0.0.1",
                "VODSTACK_PORT": str(ports.get(name, HTTP_PORT)),  # the image's default
                "VODSTACK_BROKER_KEY_PREFIX": prefix,
                "VODSTACK_CPUS": "1",
            }

        def start(name: str, instance: str) -> Proc:
            home = tmp / name
            home.mkdir(exist_ok=True)
            log = tmp / f"{instance}.log"
            proc = subprocess.Popen(
                ["sh", str(ENTRYPOINT)],
                env=environment(name),
                cwd=home,
                stdout=open(log, "wb"),  # noqa: SIM115 - kept open for the process lifetime
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            url = f"http://127.0.0.1:{ports[name]}" if name in ports else None
            procs[instance] = Proc(instance, proc, log, url)
            return procs[instance]

        try:
            for name in ("origin", "shield", "edge1", "edge2"):  # depends_on order
                _wait_http(start(name, name))
            replicas = services["worker"].get("deploy", {}).get("replicas", 1)
            for n in range(replicas):
                _wait_worker(start("worker", f"worker{n + 1}"))
            admin = {"Authorization": f"Bearer {DOTENV['VODSTACK_ADMIN_TOKEN']}"}
            yield Topology(procs, admin, environment("edge1"), tmp)
        finally:
            for p in procs.values():
                if p.proc.poll() is None:
                    os.killpg(p.proc.pid, signal.SIGTERM)
            for p in procs.values():
                try:
                    p.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.proc.pid, signal.SIGKILL)
                    p.proc.wait()


def test_compose_variables_are_required_not_defaulted() -> None:
    """A secret missing from .env stops `docker compose up` instead of running with a default."""
    compose = yaml.safe_load(COMPOSE.read_text())
    env = vodstack_services(compose)["origin"]["environment"]
    with pytest.raises(AssertionError, match="VODSTACK_SECRETS_PASSPHRASE"):
        interpolate(env["VODSTACK_SECRETS_PASSPHRASE"], {})


def test_the_entrypoint_refuses_an_unknown_service(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["sh", str(ENTRYPOINT)],
        env={"PATH": os.environ["PATH"], "VODSTACK_SERVICE": "edgy"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 64 and "edgy" in proc.stderr


def test_the_compose_topology_serves_a_signed_stream(topology: Topology) -> None:
    edge1, edge2 = topology.url("edge1"), topology.url("edge2")
    clip = make_clip_file(topology.tmp / "m.mp4", seconds=2, size="320x180")
    with open(clip, "rb") as fh:
        r = httpx.post(
            f"{edge1}/api/assets",
            files={"file": ("m.mp4", fh, "video/mp4")},
            headers=topology.admin,
            timeout=60,
        )
    assert r.status_code == 202, r.text
    asset_id = r.json()["id"]
    deadline = time.monotonic() + 180
    while (asset := httpx.get(f"{edge1}/api/assets/{asset_id}", headers=topology.admin).json())[
        "status"
    ] not in ("ready", "failed"):
        assert time.monotonic() < deadline, asset
        time.sleep(0.5)
    assert asset["status"] == "ready", asset
    # A viewer token from the dev IdP, whose key lives in the shared (database) secret store.
    httpx.post(
        f"{edge1}/api/subscriptions",
        json={"subject": "v1", "plan": "basic"},
        headers=topology.admin,
    ).raise_for_status()
    token = subprocess.run(
        ["vodstack", "token", "v1"],
        env=topology.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    viewer = httpx.Client(timeout=30)
    r = viewer.post(f"{edge1}/play/{asset_id}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    for edge in (edge1, edge2):  # one public URL, either edge behind it
        base = f"{edge}/v1/{asset_id}/"
        master = viewer.get(base + "index.m3u8")
        assert master.status_code == 200, master.text
        variant = next(ln for ln in master.text.splitlines() if ln and not ln.startswith("#"))
        media = viewer.get(base + variant)
        assert media.status_code == 200
        segment = next(ln for ln in media.text.splitlines() if ln and not ln.startswith("#"))
        assert viewer.get(str(httpx.URL(base + variant).join(segment))).status_code == 200
        assert httpx.get(base + "index.m3u8").status_code == 403  # unsigned
    # The workers transcoded (the origin, with a broker, runs no jobs itself).
    workers_log = topology.procs["worker1"].text() + topology.procs["worker2"].text()
    assert "ready" in workers_log
    # No secret was written to any node's volume: they all live in the catalogue (encrypted).
    for name in ("origin", "shield", "edge1", "edge2", "worker"):
        assert not (topology.tmp / name / "secrets").exists(), name
