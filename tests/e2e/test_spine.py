"""The spine end to end through the real HTTP server: upload → ready → HLS/DASH → decode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import m3u8
import mpegdash.parser
import pytest

from tests.e2e.conftest import LiveServer, Viewer
from vodstack.media import ffmpeg_exe

pytestmark = pytest.mark.slow


def decode_stats(url: str, cookies: str) -> tuple[int, float]:
    """Decode the first video and audio stream from a live URL with FFmpeg: (frames, seconds).

    ``cookies`` are the viewer's Set-Cookie lines: FFmpeg sends them with the manifest and
    every segment request, as a player would.
    """
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-cookies",
            cookies,
            "-i",
            url,
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    video = [line for line in proc.stdout.splitlines() if line.startswith("0,")]
    audio = [line for line in proc.stdout.splitlines() if line.startswith("1,")]
    assert audio, "no audio decoded"
    # framemd5 columns: stream, dts, pts, duration, size, hash (in the stream time base)
    fields = [line.split(",") for line in video]
    last_pts, last_dur = int(fields[-1][2]), int(fields[-1][3])
    tb_line = next(line for line in proc.stdout.splitlines() if line.startswith("#tb 0:"))
    num, den = tb_line.split(":")[1].strip().split("/")
    seconds = (last_pts + last_dur) * int(num) / int(den)
    return len(video), seconds


@pytest.fixture(scope="module")
def ready_asset(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveServer, str, Viewer]:
    from tests.conftest import make_clip_file

    home = tmp_path_factory.mktemp("spine")
    source = make_clip_file(home / "master.mp4", seconds=6, size="640x360", rate=30)
    server = LiveServer(home / "home")
    server.start()
    response = server.upload(source, title="Spine test")
    assert response.status_code == 202, response.text
    asset_id = response.json()["id"]
    asset = server.wait(asset_id)
    assert asset["status"] == "ready", asset
    yield server, asset_id, server.viewer(asset_id)
    server.stop()


def test_asset_reports_ladder_and_playback(ready_asset: tuple[LiveServer, str, Path]) -> None:
    server, asset_id, _ = ready_asset
    asset = server.asset(asset_id)
    assert asset["title"] == "Spine test"
    assert abs(asset["duration"] - 6.0) < 0.1
    heights = sorted(r["height"] for r in asset["renditions"] if r["kind"] == "video")
    assert heights == [144, 240, 360]  # the 640x360 source: never upscaled past 360
    assert [r["codec"] for r in asset["renditions"] if r["kind"] == "audio"] == ["mp4a.40.2"]
    assert asset["playback"]["hls"].endswith(f"/v1/{asset_id}/index.m3u8")
    assert asset["job"]["state"] == "succeeded"


def test_asset_and_assets_show_report_stage_timings_and_extras(ready_asset) -> None:
    """Issue #16: where the job's time went (probe, first window, ladder, join, commit: wall
    and CPU), and the extras made after ready in their own job, in the API and the CLI."""
    server, asset_id, _ = ready_asset
    asset = server.asset(asset_id)
    stages = asset["job"]["stages"]
    assert {"probe", "ladder", "commit"} <= set(stages["stages"])
    assert all(s["seconds"] >= 0 and s["cpu_s"] >= 0 for s in stages["stages"].values())
    assert stages["cpu_s_per_media_min"] > 0 and stages["ready_s"] <= stages["seconds"]
    extras = asset["extras"]
    assert extras["state"] == "ready" and extras["revision"] == 1
    assert extras["items"]["pictures"] == {"state": "ready"}
    assert {"pictures", "download", "quality"} <= set(extras["timings"]["stages"])
    shown = json.loads(server.cli("assets", "show", asset_id, "--json"))
    assert shown["job"]["stages"] == stages and shown["extras"]["state"] == "ready"


def test_hls_parses_with_m3u8_and_lists_every_rung(ready_asset) -> None:
    server, asset_id, viewer = ready_asset
    url = f"{server.base_url}/v1/{asset_id}/index.m3u8"
    r = viewer.get(url)
    assert r.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert (
        "max-age=" in r.headers["cache-control"] and "immutable" not in r.headers["cache-control"]
    )
    master = m3u8.loads(r.text, uri=url)
    assert master.is_variant
    assert len(master.playlists) == 3
    audio = [m for m in master.media if m.type == "AUDIO"]
    assert len(audio) == 1 and audio[0].default == "YES"
    for variant in master.playlists:
        info = variant.stream_info
        # CODECS comes from the actual stream (ultrafast x264 writes Constrained Baseline)
        assert info.codecs.startswith("avc1.") and info.codecs.endswith(",mp4a.40.2")
        assert info.bandwidth >= info.average_bandwidth > 0
        assert info.audio == audio[0].group_id
        media = m3u8.loads(viewer.get(variant.absolute_uri).text, uri=variant.absolute_uri)
        assert media.is_endlist and media.playlist_type == "vod"
        assert media.segment_map[0].uri.endswith("init.mp4")
        assert abs(sum(s.duration for s in media.segments) - 6.0) < 0.1
        assert all(round(s.duration) <= media.target_duration for s in media.segments)


def test_dash_parses_with_mpegdash(ready_asset) -> None:
    server, asset_id, viewer = ready_asset
    r = viewer.get(f"/v1/{asset_id}/index.mpd")
    assert r.headers["content-type"] == "application/dash+xml"
    mpd = mpegdash.parser.MPEGDASHParser.parse(r.text)
    assert mpd.type == "static"
    sets = mpd.periods[0].adaptation_sets
    kinds = sorted(a.content_type for a in sets)
    assert kinds == ["audio", "video"]
    video = next(a for a in sets if a.content_type == "video")
    assert sorted(rep.height for rep in video.representations) == [144, 240, 360]
    for rep in video.representations:
        template = rep.segment_templates[0]
        timeline = template.segment_timelines[0].Ss
        total = sum(s.d * ((s.r or 0) + 1) for s in timeline)
        assert abs(total / template.timescale - 6.0) < 0.1


@pytest.mark.parametrize("manifest", ["index.m3u8", "index.mpd"])
def test_ffmpeg_decodes_the_live_stream(ready_asset, manifest: str) -> None:
    server, asset_id, viewer = ready_asset
    frames, seconds = decode_stats(
        f"{server.base_url}/v1/{asset_id}/{manifest}", viewer.ffmpeg_cookies
    )
    assert frames == 180  # 6 s × 30 fps
    assert abs(seconds - 6.0) <= 0.1


def test_range_requests_return_exact_bytes(ready_asset) -> None:
    server, asset_id, viewer = ready_asset
    seg = f"/v1/{asset_id}/r1-4s/v360/1.m4s"
    whole = viewer.get(seg)
    assert whole.status_code == 200
    assert whole.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert whole.headers["accept-ranges"] == "bytes"
    body = whole.content
    assert body[4:8] == b"moof"
    part = viewer.get(seg, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == body[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(body)}"
    suffix = viewer.get(seg, headers={"Range": "bytes=-10"})
    assert suffix.content == body[-10:]
    beyond = viewer.get(seg, headers={"Range": f"bytes={len(body)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(body)}"
    head = viewer.head(seg)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(body)
    cached = viewer.get(seg, headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304


def test_init_segment_is_the_cmaf_header(ready_asset) -> None:
    server, asset_id, viewer = ready_asset
    init = viewer.get(f"/v1/{asset_id}/r1-4s/v144/init.mp4").content
    assert init[4:8] == b"ftyp" and b"moov" in init and b"moof" not in init


@pytest.mark.parametrize(
    "path",
    [
        "../../secrets/admin-token",
        "r1-4s/v144/0.m4s",
        "r1-4s/v144/99.m4s",
        "r9-4s/v144/1.m4s",
        "r1-4s/nope/1.m4s",
        "r1-3s/v144/1.m4s",
        "index.html",
    ],
)
def test_unknown_paths_are_404(ready_asset, path: str) -> None:
    server, asset_id, viewer = ready_asset
    assert viewer.get(f"/v1/{asset_id}/{path}").status_code == 404


@pytest.mark.parametrize(
    "path", ["r1-4s/v144/%2e%2e/init.mp4", "r1-4s/%2e%2e%2fv144/1.m4s", "..%2f..%2fsecrets/x"]
)
def test_encoded_traversal_is_refused(ready_asset, path: str) -> None:
    server, asset_id, viewer = ready_asset
    # the gate refuses dot segments/encoded slashes before the origin even parses the path
    assert viewer.get(f"/v1/{asset_id}/{path}").status_code == 403


def test_masters_are_never_served(ready_asset) -> None:
    server, asset_id, _ = ready_asset
    for path in (
        f"/masters/{asset_id}/source.mp4",
        f"/v1/{asset_id}/source.mp4",
        f"/objects/masters/{asset_id}/source.mp4",
    ):
        assert server.client.get(path).status_code in (403, 404)


def test_delivery_without_a_signature_is_403(ready_asset) -> None:
    server, asset_id, _ = ready_asset
    for path in (
        "index.m3u8",
        "index.mpd",
        "r1-4s/v144/init.mp4",
        "r1-4s/v144/1.m4s",
        "does-not-exist",
    ):
        r = server.client.get(f"/v1/{asset_id}/{path}")
        assert r.status_code == 403
        assert r.json() == {"error": "access denied"}  # no reason echoed to the client
