"""Resumable uploads (tus 1.0.0 at /api/uploads) through the real server: an independent tus
client (tuspy) uploads a master in pieces; an upload cut off by ``kill -9`` of the server
resumes where the server says it stopped, and the stored master is byte-identical; protocol
errors get the statuses the spec names."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient.client import TusClient

from tests.e2e.conftest import ADMIN_TOKEN, LiveServer

pytestmark = pytest.mark.slow

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture
def master(tmp_path: Path) -> Path:
    from tests.conftest import make_clip_file

    return make_clip_file(tmp_path / "lecture.mp4", seconds=4, size="320x180")


def test_a_tus_client_uploads_a_master_in_pieces(server_factory: Any, master: Path) -> None:
    server: LiveServer = server_factory()
    client = TusClient(
        f"{server.base_url}/api/uploads", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    uploader = client.uploader(
        str(master), chunk_size=64 * 1024, metadata={"filename": "lecture.mp4", "title": "L1"}
    )
    uploader.upload()
    upload_id = uploader.url.rstrip("/").rsplit("/", 1)[1]
    state = server.client.get(f"/api/uploads/{upload_id}", headers=server.admin).json()
    assert state["offset"] == state["length"] == master.stat().st_size
    asset = server.wait(state["asset_id"])
    assert asset["status"] == "ready", asset
    assert asset["title"] == "L1"


def test_an_upload_cut_off_by_a_crash_resumes_byte_identical(
    server_factory: Any, master: Path
) -> None:
    server: LiveServer = server_factory()
    data = master.read_bytes()
    headers = {**TUS, **server.admin}
    r = server.client.post(
        "/api/uploads",
        headers={
            **headers,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(filename="crash.mp4"),
        },
    )
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    assert r.headers["tus-resumable"] == "1.0.0" and "upload-expires" in r.headers
    half = len(data) // 2
    patch = {**headers, "Content-Type": "application/offset+octet-stream"}
    r = server.client.patch(location, content=data[:half], headers={**patch, "Upload-Offset": "0"})
    assert r.status_code == 204 and r.headers["upload-offset"] == str(half)

    server.kill()  # kill -9 mid-upload
    server.start()

    r = server.client.head(location, headers=headers)
    assert r.status_code == 200
    assert r.headers["upload-offset"] == str(half)
    assert r.headers["upload-length"] == str(len(data))
    assert r.headers["cache-control"] == "no-store"
    # a stale offset (the client thinks it sent less) is refused, nothing appended
    r = server.client.patch(location, content=b"xx", headers={**patch, "Upload-Offset": "1"})
    assert r.status_code == 409
    r = server.client.patch(
        location, content=data[half:], headers={**patch, "Upload-Offset": str(half)}
    )
    assert r.status_code == 204
    asset_id = r.headers["vodstack-asset-id"]
    asset = server.wait(asset_id)
    assert asset["status"] == "ready", asset
    stored = next((server.home / "objects" / "masters" / asset_id).iterdir())
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert not list((server.home / "uploads").glob("*.part"))  # the staged copy is gone


def test_protocol_errors(server_factory: Any) -> None:
    server: LiveServer = server_factory({"VODSTACK_MAX_UPLOAD_BYTES": "100000"})
    headers = {**TUS, **server.admin}
    r = server.client.options("/api/uploads", headers=headers)
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) >= {"creation", "termination"}
    assert r.headers["tus-max-size"] == "100000"
    # no admin token, no upload
    r = httpx.post(f"{server.base_url}/api/uploads", headers={**TUS, "Upload-Length": "10"})
    assert r.status_code == 401
    # unsupported protocol version
    r = server.client.post(
        "/api/uploads", headers={**server.admin, "Tus-Resumable": "0.2", "Upload-Length": "10"}
    )
    assert r.status_code == 412
    # over the size limit, or empty
    r = server.client.post("/api/uploads", headers={**headers, "Upload-Length": "100001"})
    assert r.status_code == 413
    r = server.client.post("/api/uploads", headers={**headers, "Upload-Length": "0"})
    assert r.status_code == 400
    r = server.client.post(
        "/api/uploads",
        headers={**headers, "Upload-Length": "10", "Upload-Metadata": "filename !!notbase64"},
    )
    assert r.status_code == 400
    location = server.client.post(
        "/api/uploads", headers={**headers, "Upload-Length": "10"}
    ).headers["location"]
    # wrong content type; more bytes than declared
    r = server.client.patch(
        location,
        content=b"0123",
        headers={**headers, "Upload-Offset": "0", "Content-Type": "video/mp4"},
    )
    assert r.status_code == 415
    ct = {"Content-Type": "application/offset+octet-stream"}
    r = server.client.patch(
        location, content=b"0" * 11, headers={**headers, **ct, "Upload-Offset": "0"}
    )
    assert r.status_code == 400
    # termination, then the upload is gone; ids that are not ours never touch the disk
    assert server.client.delete(location, headers=headers).status_code == 204
    assert server.client.head(location, headers=headers).status_code == 404
    for bad in ("..%2F..%2Fsecrets", "AAAAAAAAAAAAAAAAAAAA", "x"):
        assert server.client.head(f"/api/uploads/{bad}", headers=headers).status_code == 404


def test_a_complete_upload_that_is_not_a_video_fails_with_a_reason(server_factory: Any) -> None:
    server: LiveServer = server_factory()
    data = b"this is not a video, just text renamed .mp4\n" * 50
    headers = {**TUS, **server.admin}
    location = server.client.post(
        "/api/uploads",
        headers={
            **headers,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(filename="notes.mp4"),
        },
    ).headers["location"]
    r = server.client.patch(
        location,
        content=data,
        headers={
            **headers,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 204
    asset = server.wait(r.headers["vodstack-asset-id"])
    assert asset["status"] == "failed"
    assert asset["error"]
