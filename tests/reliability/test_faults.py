"""Fault injection against a real server process.

Covered here: ``kill -9`` mid-upload, a full disk during transcoding, the SQLite catalogue
locked by another process. Covered elsewhere (not repeated): ``kill -9`` mid-transcode
(tests/e2e/test_recovery.py::test_transcode_survives_kill_9), the origin killed while edges
serve (tests/e2e/test_edge.py::test_split_roles_shared_origin_secret_failover_and_stale),
PostgreSQL down and back (tests/e2e/test_scaleout.py).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow


def _partials(home: Path) -> list[Path]:
    return [p for p in (home / "objects").rglob("*") if p.name.startswith(".")]


def test_kill_9_mid_upload_commits_nothing_and_a_retry_works(tmp_path: Path) -> None:
    clip = make_clip_file(tmp_path / "clip.mp4", seconds=2, size="320x180")
    server = LiveServer(tmp_path / "home")
    server.start()
    sent = threading.Event()
    outcome: list[object] = []

    def slow_body() -> Iterator[bytes]:
        for _ in range(400):  # 400 × 64 KiB ≈ 25 MB, far more than arrives before the kill
            yield b"\0" * 65536
            sent.set()
            time.sleep(0.02)

    def upload() -> None:
        try:
            r = httpx.post(
                f"{server.base_url}/api/assets?filename=big.mp4",
                content=slow_body(),
                headers={**server.admin, "Content-Type": "application/octet-stream"},
                timeout=30,
            )
            outcome.append(r.status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        assert sent.wait(10)
        deadline = time.monotonic() + 10
        while not _partials(server.home) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _partials(server.home), "the upload never reached the store"
        time.sleep(0.5)  # a few MB in flight
        server.kill()
        thread.join(30)
        # the client learns it failed: a transport error, never a 2xx
        assert outcome and not (isinstance(outcome[0], int) and outcome[0] < 300), outcome
        time.sleep(2.5)  # older than clean_partial's guard against just-created files
        server.start()
        assert server.client.get("/api/assets", headers=server.admin).json() == []
        deadline = time.monotonic() + 10
        while _partials(server.home) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _partials(server.home) == [], "the interrupted upload's bytes are still stored"
        masters = server.home / "objects" / "masters"
        assert not masters.exists() or list(masters.iterdir()) == []
        # retrying the upload works
        r = server.upload(clip)
        assert r.status_code == 202
        assert server.wait(r.json()["id"])["status"] == "ready"
    finally:
        server.stop()


@contextlib.contextmanager
def tiny_filesystem(path: Path, size: str) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_disk_full_during_transcode_fails_cleanly_and_reclaims_space(tmp_path: Path) -> None:
    home = tmp_path / "home"
    clip = make_clip_file(tmp_path / "clip.mp4", seconds=4, size="640x360")
    with tiny_filesystem(home / "work", "160k"):
        server = LiveServer(
            home, {"VODSTACK_JOB_MAX_ATTEMPTS": "2", "VODSTACK_JOB_BACKOFF_S": "0.2"}
        )
        server.start()
        try:
            r = server.upload(clip)
            assert r.status_code == 202
            asset = server.wait(r.json()["id"], timeout=120)
            assert asset["status"] == "failed"
            assert "No space left" in asset["error"] or "disk" in asset["error"].lower()
            assert "Traceback" not in asset["error"]
            assert list((home / "work").iterdir()) == []  # scratch space reclaimed
            assert shutil.disk_usage(home / "work").used < 64 * 1024
            left = home / "objects" / "packaged" / asset["id"]
            assert not left.exists(), sorted(str(p.relative_to(left)) for p in left.rglob("*"))
            assert server.client.get("/healthz").status_code == 200
            # the server keeps working: a small upload still passes probing
            assert server.client.get("/api/assets", headers=server.admin).status_code == 200
        finally:
            server.stop()


def test_locked_sqlite_catalogue_answers_503_and_recovers(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "home")
    server.start()
    try:
        body = {"subject": "locked-out", "plan": "basic"}
        lock = sqlite3.connect(server.home / "catalogue.db", timeout=1, isolation_level=None)
        try:
            lock.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            started = time.monotonic()
            r = server.client.post("/api/subscriptions", json=body, headers=server.admin)
            waited = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert r.headers.get("retry-after")
            assert "catalogue" in r.json()["error"]
            assert waited < 20  # busy_timeout, not a hang
            # reads keep working meanwhile (WAL)
            assert server.client.get("/healthz").status_code == 200
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        r = server.client.post("/api/subscriptions", json=body, headers=server.admin)
        assert r.status_code == 201, r.text
    finally:
        server.stop()
