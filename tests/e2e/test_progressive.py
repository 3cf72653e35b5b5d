"""Progressive publish through the real HTTP server (issue #10).

A 60 s upload is playable once its first window is encoded: the first segment of the lowest
rung is served while the background job is still running (asserted on the job and window
states at that moment, never on time); a segment nobody has encoded yet is made on request;
when the job ends the tracks are joined in place and the same URLs serve the same bytes; FFmpeg
decodes the complete HLS and DASH streams — a mix of on-demand and background windows —
without timestamp errors and with every frame.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import m3u8
import pytest

from tests.e2e.conftest import LiveServer, Viewer
from vodstack.media import ffmpeg_exe

pytestmark = pytest.mark.slow

# What FFmpeg prints when timestamps are wrong. (It also opens I-frame playlists as if they
# were variants and calls their partial fragments "Packet corrupt": not a timestamp error.)
TIMESTAMP_ERRORS = ("non-monoton", "non monoton", "discontinu", "invalid timestamp", "out of order")
SECONDS = 60
FPS = 30
PROGRESSIVE_ENV = {
    "VODSTACK_TRANSCODE_MODE": "progressive",
    # a slow background job, so the test sees it running: one worker, one window per FFmpeg
    # run, a slower preset than the suite's ultrafast
    "VODSTACK_WINDOW_WORKERS": "1",
    "VODSTACK_WINDOW_BATCH": "1",
    "VODSTACK_X264_PRESET": "veryfast",
    "VODSTACK_PROGRESSIVE_CLEANUP_S": "0",
}


def wait_for(predicate: Any, timeout: float = 180, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def decode(url: str, viewer: Viewer) -> tuple[int, int, str]:
    """(video frames, audio samples, stderr) of the whole stream, decoded by FFmpeg."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "warning",
            "-cookies", viewer.ffmpeg_cookies, "-i", url,
            "-map", "0:v:0", "-map", "0:a:0", "-f", "framemd5", "-"]  # fmt: skip
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = proc.stdout.splitlines()
    video = [line for line in lines if line.startswith("0,")]
    audio = [line.split(",") for line in lines if line.startswith("1,")]
    return len(video), sum(int(a[3]) for a in audio), proc.stderr


@pytest.fixture(scope="module")
def progressive(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import make_clip_file

    home = tmp_path_factory.mktemp("progressive")
    source = make_clip_file(home / "master.mp4", seconds=SECONDS, size="640x360", rate=FPS)
    server = LiveServer(home / "home", PROGRESSIVE_ENV)
    server.start()
    yield server, source
    server.stop()


def windows(asset: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {r["track"]: r["windows"] for r in asset["renditions"] if r.get("windows")}


def test_playable_before_the_ladder_exists_then_joined_in_place(progressive: Any) -> None:
    server, source = progressive
    r = server.upload(source, title="Progressive")
    assert r.status_code == 202, r.text
    asset_id = r.json()["id"]
    asset = server.wait(asset_id, settled=False)  # playable: the first window exists
    assert asset["status"] == "ready", asset
    viewer = server.viewer(asset_id)

    # The manifests describe the whole title at once.
    master = m3u8.loads(viewer.get(asset["playback"]["hls"]).text, uri=asset["playback"]["hls"])
    lowest = min(master.playlists, key=lambda p: p.stream_info.bandwidth)
    playlist_url = lowest.absolute_uri
    media = m3u8.loads(viewer.get(playlist_url).text, uri=playlist_url)
    assert abs(sum(s.duration for s in media.segments) - SECONDS) < 0.1
    first_url = media.segments[0].absolute_uri
    init_url = media.segment_map[0].absolute_uri

    # The first segment of the lowest rung, served while the ladder is still being made.
    first = viewer.get(first_url)
    assert first.status_code == 200 and len(first.content) > 0
    during = server.asset(asset_id)
    assert during["job"]["state"] == "running", during["job"]
    progress = windows(during)
    assert progress, "a progressive revision reports windows per track"
    assert any(w["done"] < w["total"] for w in progress.values()), progress
    assert all(r["layout"] == "windowed" for r in during["renditions"])

    # A window nobody has encoded yet (the top rung's last) is made for the viewer.
    top = max(master.playlists, key=lambda p: p.stream_info.bandwidth)
    top_media = m3u8.loads(viewer.get(top.absolute_uri).text, uri=top.absolute_uri)
    last_url = top_media.segments[-1].absolute_uri
    last = viewer.get(last_url)
    assert last.status_code == 200, last.text
    top_track = next(
        r["track"] for r in during["renditions"] if r["kind"] == "video" and r["height"] == 360
    )
    made = windows(server.asset(asset_id))[top_track]
    assert made["on_demand"] >= 1, made

    # The job finishes: tracks joined in place, same revision, same bytes at the same URLs.
    done = wait_for(
        lambda: (a := server.asset(asset_id))["job"]["state"] == "succeeded" and a,
        what="the background job",
    )
    assert all(r["layout"] == "file" for r in done["renditions"]), done["renditions"]
    assert viewer.get(first_url).content == first.content
    assert viewer.get(last_url).content == last.content
    assert viewer.get(init_url).status_code == 200

    # Complete streams decode: every frame, no timestamp complaints, audio the full length.
    for url in (done["playback"]["hls"], done["playback"]["dash"]):
        frames, samples, stderr = decode(url, viewer)
        assert frames == SECONDS * FPS, (url, frames)
        assert abs(samples / 48000 - SECONDS) < 0.1, (url, samples)
        assert not any(e in stderr.lower() for e in TIMESTAMP_ERRORS), stderr


def test_windowed_stream_decodes_before_the_job_ends(progressive: Any) -> None:
    """The stream made mostly on demand (the viewer races the background job) decodes whole."""
    server, source = progressive
    asset_id = server.upload(source, title="Raced").json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    viewer = server.viewer(asset_id, subject="racer")
    hls = server.asset(asset_id)["playback"]["hls"]
    frames, samples, stderr = decode(hls, viewer)
    assert frames == SECONDS * FPS
    assert abs(samples / 48000 - SECONDS) < 0.1
    assert not any(e in stderr.lower() for e in TIMESTAMP_ERRORS), stderr
    after = server.asset(asset_id)
    made = windows(after).values()
    on_demand = sum(w["on_demand"] for w in made)
    # the viewer raced the job: some windows were made for it, unless the background got
    # to every window first (then the job is joining or done)
    assert on_demand > 0 or all(w["done"] == w["total"] for w in made) or not made


@pytest.mark.browser
def test_hls_js_plays_from_the_start_while_the_job_runs(tmp_path: Any) -> None:
    from tests.conftest import make_clip_file
    from tests.e2e.browser import Chromium, missing_requirements

    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    source = make_clip_file(tmp_path / "long.mp4", seconds=SECONDS, size="1280x720", rate=FPS)
    ladder = [{"height": 180, "maxrate_kbps": 300}, {"height": 360, "maxrate_kbps": 800},
              {"height": 720, "maxrate_kbps": 2500}]  # fmt: skip
    env = {
        **PROGRESSIVE_ENV,
        "VODSTACK_X264_PRESET": "veryfast",  # the real default: a background job that lasts
        "VODSTACK_LADDER": __import__("json").dumps(ladder),
    }
    server = LiveServer(tmp_path / "home", env)
    server.start()
    try:
        with Chromium() as browser:
            asset_id = server.upload(source, title="Fresh").json()["id"]
            assert server.wait(asset_id, settled=False)["status"] == "ready"
            server.subscribe("early")
            page = browser.page("early")
            token = server.token("early")
            page.goto(f"{server.base_url}/watch/{asset_id}?engine=hls#token={token}")
            page.wait_for("window.vodstackPlayer?.phase === 'ready'", 15)
            page.click("#play")
            page.wait_for("document.querySelector('video').currentTime > 2", 60)
            during = server.asset(asset_id)
            state = page.player_state()
            assert state["engine"] == "hls"
            assert state["decoded"] > 0, state
            assert [e for e in state["errors"] if e["fatal"]] == [], state["errors"]
            # playing from the start while the ladder is still being made
            assert during["job"]["state"] == "running", during["job"]
            assert any(w["done"] < w["total"] for w in windows(during).values())
            page.close()
    finally:
        server.stop()


def test_a_master_damaged_half_way_fails_fast_and_caches_nothing(
    progressive: Any, tmp_path: Any
) -> None:
    """The probe reads a complete header, but the media stops at 40 %: the first window is
    fine (the asset goes ready), a later one cannot be made. The viewer's request fails fast
    (503, or 404 once the asset is marked failed), the asset ends `failed` naming the window,
    and the edge holds nothing for the failed segment."""
    from tests.conftest import make_clip_file

    server, _ = progressive
    whole = make_clip_file(
        tmp_path / "whole.mp4", seconds=20, size="640x360", extra=["-movflags", "+faststart"]
    )
    damaged = tmp_path / "damaged.mp4"
    data = whole.read_bytes()
    damaged.write_bytes(data[: len(data) * 4 // 10])
    r = server.upload(damaged, title="Damaged")
    assert r.status_code == 202, r.text
    asset_id = r.json()["id"]
    asset = server.wait(asset_id)
    if asset["status"] == "failed":  # the background job got there before any viewer
        assert "window" in asset["error"], asset["error"]
        assert_reclaimed(server, asset_id)
        return
    viewer = server.viewer(asset_id, subject="damaged-viewer")
    master = m3u8.loads(viewer.get(asset["playback"]["hls"]).text, uri=asset["playback"]["hls"])
    top = max(master.playlists, key=lambda p: p.stream_info.bandwidth)
    media = m3u8.loads(viewer.get(top.absolute_uri).text, uri=top.absolute_uri)
    last = viewer.get(media.segments[-1].absolute_uri)
    assert last.status_code in (503, 404), last.status_code
    failed = wait_for(
        lambda: (a := server.asset(asset_id))["status"] == "failed" and a, what="failed"
    )
    assert "window" in failed["error"], failed["error"]
    again = viewer.get(media.segments[-1].absolute_uri)
    assert again.status_code in (403, 404), again.status_code  # never a cached 200
    assert_reclaimed(server, asset_id)


def assert_reclaimed(server: Any, asset_id: str) -> None:
    """A failed asset keeps its master and no media: the holed revision's chunks are gone
    (a re-drive starts a fresh revision from the master)."""
    wait_for(
        lambda: server.asset(asset_id)["job"]["state"] not in ("queued", "running"), what="job"
    )
    packaged = server.home / "objects" / "packaged" / asset_id
    files = [p for p in packaged.rglob("*") if p.is_file()] if packaged.exists() else []
    assert files == [], files
    assert (server.home / "objects" / "masters" / asset_id).exists()
