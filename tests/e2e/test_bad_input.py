"""Bad uploads end as a clear 4xx or a ``failed`` asset; the server stays up; nothing is served."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from vodstack.media import ffmpeg_exe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    home = tmp_path_factory.mktemp("bad")
    server = LiveServer(home / "home", {"VODSTACK_MAX_UPLOAD_BYTES": str(2_000_000)})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("badfiles")
    good = make_clip_file(d / "good.mp4", seconds=2, size="320x180")
    out: dict[str, Path] = {}
    (d / "notes.mp4").write_text("this is a text file, not a video\n" * 50)
    out["text"] = d / "notes.mp4"
    # An MP4 whose upload stopped early: ftyp + part of mdat, moov (written last) missing.
    plain = make_clip_file(d / "plain.mp4", seconds=2, size="320x180")
    data = plain.read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    out["truncated"] = d / "truncated.mp4"
    out["audio_only"] = make_clip_file(d / "audio.mp4", seconds=2, video=False)
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=1",
            "-frames:v",
            "1",
            str(d / "still.png"),
        ],
        check=True,
    )
    out["still"] = d / "still.png"
    out["single_frame"] = make_clip_file(
        d / "one.mp4", seconds=2, size="320x180", audio=False, extra=["-frames:v", "1"]
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=30",
            "-frames:v",
            "0",
            "-c:v",
            "libx264",
            str(d / "zero.mp4"),
        ],
        check=True,
    )
    out["zero"] = d / "zero.mp4"
    out["good"] = good
    return out


REASONS = {
    "text": "not a recognised video file",
    "truncated": "truncated",
    "audio_only": "no video stream (audio only)",
    "still": "still image",
    "single_frame": "single picture",
    "zero": "no video stream",
}


@pytest.mark.parametrize("kind", list(REASONS))
def test_bad_master_fails_with_a_clear_reason(live: LiveServer, files, kind: str) -> None:
    response = live.upload(files[kind])
    assert response.status_code == 202, response.text
    asset_id = response.json()["id"]
    asset = live.wait(asset_id)
    assert asset["status"] == "failed"
    assert REASONS[kind] in asset["error"]
    assert "Traceback" not in asset["error"] and "KeyError" not in asset["error"]
    assert asset["job"]["attempts"] == 1  # a permanent problem is not retried
    live.subscribe("v")
    refused = live.play(asset_id, live.token("v"))
    assert refused.status_code == 409  # nothing to play: no cookies are minted
    assert "set-cookie" not in refused.headers
    assert live.client.get("/healthz").status_code == 200


def test_empty_upload_is_rejected(live: LiveServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    response = live.upload(empty)
    assert response.status_code == 400
    assert "empty" in response.json()["error"]


def test_oversized_upload_is_cut_off_and_leaves_nothing(live: LiveServer, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * 3_000_000)
    response = live.upload(big)
    assert response.status_code == 413
    assert "size limit" in response.json()["error"]
    masters = live.home / "objects" / "masters"
    leftovers = [p for p in masters.rglob("*") if p.is_file() and p.stat().st_size >= 2_000_000]
    assert leftovers == []


def test_oversized_upload_without_content_length_is_cut_off(live: LiveServer) -> None:
    def body():
        for _ in range(40):
            yield b"\0" * 100_000

    response = live.client.post(
        "/api/assets?filename=x.mp4",
        content=body(),
        headers={**live.admin, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 413


def test_traversal_filename_is_only_display_text(live: LiveServer, files) -> None:
    response = live.upload(files["good"], filename="../../../etc/passwd.mp4")
    assert response.status_code == 202
    asset = live.wait(response.json()["id"])
    assert asset["status"] == "ready"
    assert asset["title"] == "passwd"
    assert not (live.home.parent / "etc").exists()
    stored = list((live.home / "objects" / "masters" / asset["id"]).iterdir())
    assert [p.name for p in stored] == ["source.mp4"]


def test_upload_needs_the_admin_token(live: LiveServer, files) -> None:
    with open(files["good"], "rb") as fh:
        r = live.client.post("/api/assets", files={"file": ("a.mp4", fh)})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    with open(files["good"], "rb") as fh:
        r = live.client.post(
            "/api/assets", files={"file": ("a.mp4", fh)}, headers={"Authorization": "Bearer wrong"}
        )
    assert r.status_code == 401


def test_form_without_file_part_is_400(live: LiveServer) -> None:
    r = live.client.post(
        "/api/assets", data={"title": "x"}, files={"other": ("a", b"x")}, headers=live.admin
    )
    assert r.status_code == 400
    assert "'file'" in r.json()["error"]


def test_wrong_content_type_is_415(live: LiveServer) -> None:
    headers = {**live.admin, "Content-Type": "text/plain"}
    r = live.client.post("/api/assets", content=b"not a master", headers=headers)
    assert r.status_code == 415


def test_a_json_body_is_a_url_ingest_and_a_private_address_is_refused(live: LiveServer) -> None:
    """A JSON body asks for ingest from a URL (docs/uploads.md); a loopback address is refused
    unless allowed, and nothing is created."""
    before = len(live.client.get("/api/assets", headers=live.admin).json())
    r = live.client.post(
        "/api/assets", json={"url": "http://127.0.0.1:9/x.mp4"}, headers=live.admin
    )
    assert r.status_code == 400, r.text
    assert len(live.client.get("/api/assets", headers=live.admin).json()) == before
