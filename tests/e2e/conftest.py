"""A real ``vodstack serve`` process on a free loopback port, driven over HTTP like a user."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_LADDER
from tests.fixtures.ports import free_port

ADMIN_TOKEN = "test-admin-token-0123456789"
#: The address the guides in docs/ print (`vodstack serve`'s default).
GUIDE_BASE = "http://127.0.0.1:8000"
#: Every home a LiveServer ran in this session: their logs are swept for key material at the
#: end of the run (tests/conftest.py, pytest_sessionfinish).
STARTED_HOMES: list[Path] = []


class Viewer:
    """An httpx client holding a viewer's signed cookies, plus them as FFmpeg wants them."""

    def __init__(self, client: httpx.Client, play_response: httpx.Response) -> None:
        self.client = client
        self.play = play_response.json()
        self.set_cookie_lines = play_response.headers.get_list("set-cookie")

    @property
    def ffmpeg_cookies(self) -> str:
        """For FFmpeg's http ``-cookies`` option: Set-Cookie lines separated by newlines."""
        return "\n".join(self.set_cookie_lines)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.head(url, **kwargs)


class LiveServer:
    """Start/stop/kill a server process; helpers for the admin API."""

    def __init__(
        self,
        home: Path,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        scheme: str = "http",
    ) -> None:
        self.args = list(args or [])
        self.home = home
        self.port = free_port()
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VODSTACK_HOME": str(home),
            "VODSTACK_ADMIN_TOKEN": ADMIN_TOKEN,
            "VODSTACK_LADDER": json.dumps([r.model_dump() for r in TEST_LADDER]),
            "VODSTACK_X264_PRESET": "ultrafast",
            "VODSTACK_JOB_LEASE_S": "5",
            "VODSTACK_LOG_LEVEL": "INFO",
            # One process per server unless a test asks (--workers): tests read the edge
            # cache's own metrics (vodstack_edge_cache_*), which are per worker process.
            "VODSTACK_SERVER_WORKERS": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = home / "server.log"
        self.client = httpx.Client(base_url=self.base_url, timeout=30, verify=False)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        STARTED_HOMES.append(self.home)
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vodstack.cli", "serve", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.client.get("/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start in 30 s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def kill(self) -> None:
        """kill -9 the whole server process group, as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def metrics(self) -> str:
        """The Prometheus exposition: /metrics needs a bearer token (admin or metrics)."""
        r = self.client.get("/metrics", headers=self.admin)
        r.raise_for_status()
        return r.text

    def upload(
        self, path: Path, title: str | None = None, filename: str | None = None
    ) -> httpx.Response:
        with open(path, "rb") as fh:
            files = {"file": (filename or path.name, fh, "video/mp4")}
            data = {"title": title} if title else {}
            return self.client.post("/api/assets", files=files, data=data, headers=self.admin)

    def asset(self, asset_id: str) -> dict[str, Any]:
        r = self.client.get(f"/api/assets/{asset_id}", headers=self.admin)
        r.raise_for_status()
        return r.json()

    def cli(self, *args: str) -> str:
        """Run a `vodstack` command against this server's home (same settings)."""
        proc = subprocess.run(
            [sys.executable, "-m", "vodstack.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"vodstack {' '.join(args)} failed: {proc.stderr[-2000:]}")
        return proc.stdout.strip()

    def guide(
        self, script: str, cwd: Path, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run a guide's bash ``script`` (``-euo pipefail``) as a reader would on this server's
        machine: its settings, this environment's ``vodstack`` first on PATH, and the guides'
        address ``http://127.0.0.1:8000`` swapped for this server's."""
        bindir = str(Path(sys.executable).parent)
        env = {
            **{k: v for k, v in self.env.items() if k != "PYTHONPATH"},
            "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        }
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace(GUIDE_BASE, self.base_url)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def token(self, subject: str, *claims: str, ttl: int = 3600) -> str:
        args = ["token", subject, "--ttl", str(ttl)]
        for claim in claims:
            args += ["--claim", claim]
        return self.cli(*args)

    def subscribe(self, subject: str, plan: str = "basic", **extra: Any) -> dict[str, Any]:
        r = self.client.post(
            "/api/subscriptions",
            json={"subject": subject, "plan": plan, **extra},
            headers=self.admin,
        )
        r.raise_for_status()
        return r.json()

    def play(
        self, asset_id: str, token: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self.client.post(
            f"/play/{asset_id}",
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            **kwargs,
        )

    def viewer(self, asset_id: str, subject: str = "viewer-1") -> Viewer:
        """An entitled viewer: subscribed, token minted, /play called, cookies in its jar."""
        self.subscribe(subject)
        client = httpx.Client(base_url=self.base_url, timeout=30)
        r = client.post(
            f"/play/{asset_id}", headers={"Authorization": f"Bearer {self.token(subject)}"}
        )
        r.raise_for_status()
        return Viewer(client, r)

    def wait(self, asset_id: str, timeout: float = 120, *, settled: bool = True) -> dict[str, Any]:
        """The asset once it is ready or failed. ``settled`` (default): also once its
        transcode job has ended (a progressive asset is ready after its first window) and its
        extras (poster, storyboard, download, VMAF: a background job) are made or failed, so
        a test sees the finished asset and no encode runs on behind it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            asset = self.asset(asset_id)
            if asset["status"] in ("ready", "failed") and (not settled or _settled(asset)):
                return asset
            time.sleep(0.2)
        raise AssertionError(f"asset {asset_id} still {asset['status']} after {timeout} s")


def _settled(asset: dict[str, Any]) -> bool:
    job, extras = asset.get("job"), asset.get("extras")
    if job is not None and job["state"] in ("queued", "running"):
        return False
    return asset["status"] == "failed" or extras is None or extras["state"] in ("ready", "failed")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    servers: list[LiveServer] = []

    def make(env: dict[str, str] | None = None, home: Path | None = None) -> LiveServer:
        server = LiveServer(home or tmp_path / f"home{len(servers)}", env)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory: Any) -> LiveServer:
    return server_factory()
