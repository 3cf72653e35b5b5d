"""Segment duration is a packaging choice, not a transcode one (issue #2): a server restarted
on the same home with ``VODSTACK_SEGMENT_S`` changed from 4 to 2 serves the already ready
asset with ``r{rev}-2s`` URLs and 2 s segments at once — FFmpeg decodes every frame from the
live URLs — and no new transcode job is created."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import m3u8
import mpegdash.parser
import pytest

from tests.e2e.conftest import LiveServer, Viewer
from tests.e2e.test_spine import decode_stats

pytestmark = pytest.mark.slow

SECONDS, FPS = 6, 30


def _jobs(server: LiveServer, asset_id: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(server.cli("jobs", "list", "--asset", asset_id, "--json"))


def _top_media_playlist(viewer: Viewer, hls_url: str) -> tuple[str, m3u8.M3U8]:
    """The top rung's media playlist (absolute URL, parsed)."""
    master = m3u8.loads(viewer.get(hls_url).text, uri=hls_url)
    url = master.playlists[-1].absolute_uri
    return url, m3u8.loads(viewer.get(url).text, uri=url)


def test_changing_segment_duration_needs_no_retranscode(
    server_factory, make_clip, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    master = make_clip("master.mp4", seconds=SECONDS, size="640x360", rate=FPS)
    first: LiveServer = server_factory({"VODSTACK_SEGMENT_S": "4"}, home=home)
    asset_id = first.upload(master, title="Segments").json()["id"]
    assert first.wait(asset_id)["status"] == "ready"
    viewer = first.viewer(asset_id, "viewer-4s")
    hls_url = f"{first.base_url}/v1/{asset_id}/index.m3u8"
    assert "r1-4s/" in viewer.get(hls_url).text
    _, old = _top_media_playlist(viewer, hls_url)
    assert old.target_duration == 4 and len(old.segments) == 2
    old_segment = viewer.get(old.segments[0].absolute_uri).content
    jobs_before = _jobs(first, asset_id)
    assert [(j["kind"], j["state"]) for j in jobs_before] == [
        ("extras", "succeeded"),  # poster, storyboard, download, VMAF: after ready (issue #16)
        ("transcode", "succeeded"),
    ]
    first.stop()

    second: LiveServer = server_factory({"VODSTACK_SEGMENT_S": "2"}, home=home)
    viewer = second.viewer(asset_id, "viewer-2s")
    hls_url = f"{second.base_url}/v1/{asset_id}/index.m3u8"
    text = viewer.get(hls_url).text
    assert "r1-2s/" in text and "-4s/" not in text
    _, media = _top_media_playlist(viewer, hls_url)
    assert "/r1-2s/" in media.segments[0].absolute_uri
    assert media.target_duration == 2
    assert [round(s.duration, 2) for s in media.segments] == [2.0, 2.0, 2.0]
    mpd_text = viewer.get(f"/v1/{asset_id}/index.mpd").text
    assert "r1-2s/" in mpd_text and "-4s/" not in mpd_text
    mpd = mpegdash.parser.MPEGDASHParser.parse(mpd_text)
    for aset in mpd.periods[0].adaptation_sets:
        for rep in aset.representations:
            template = rep.segment_templates[0]
            durations = [
                s.d / template.timescale
                for s in template.segment_timelines[0].Ss
                for _ in range((s.r or 0) + 1)
            ]
            assert len(durations) == 3, (aset.content_type, durations)
            assert all(abs(d - 2.0) < 0.05 for d in durations), (aset.content_type, durations)
    for manifest in ("index.m3u8", "index.mpd"):
        frames, seconds = decode_stats(
            f"{second.base_url}/v1/{asset_id}/{manifest}", viewer.ffmpeg_cookies
        )
        assert frames == SECONDS * FPS, manifest
        assert abs(seconds - SECONDS) <= 0.1, manifest
    # the same stored CMAF: same revision, same single job, still one transcode.completed
    asset = json.loads(second.cli("assets", "show", asset_id, "--json"))
    assert asset["status"] == "ready" and asset["revision"] == 1
    assert _jobs(second, asset_id) == jobs_before
    events = json.loads(second.cli("events", "--asset", asset_id, "--json"))
    assert [e["type"] for e in events].count("transcode.completed") == 1
    # players still holding the 4 s playlist finish the title
    again = viewer.get(urlsplit(old.segments[0].absolute_uri).path)
    assert again.status_code == 200 and again.content == old_segment
