"""Real-world masters through a real server (issue #8): each kind, built from lavfi with the
property set, ends ``ready`` with the right orientation, size, duration and picture format —
or ``failed`` with a reason a person understands. The packaged media are decoded with PyAV
from the delivered segments, as a player would get them."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import av
import m3u8
import pytest

from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures import media_sources as ms

pytestmark = pytest.mark.slow

SOURCES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "rotated": (ms.rotated, "mp4"),
    "vfr": (ms.vfr, "mkv"),
    "interlaced": (ms.interlaced, "mp4"),
    "hdr10": (ms.hdr10, "mp4"),
    "ten_bit": (ms.ten_bit_sdr, "mp4"),
    "odd": (ms.odd_size, "mkv"),
    "anamorphic": (ms.anamorphic, "mp4"),
    "video_only": (ms.video_only, "mp4"),
    "very_short": (ms.very_short, "mp4"),
    "two_videos": (ms.two_video_streams, "mkv"),
    "mov_text": (ms.mov_text, "mp4"),
    "long": (ms.long_clip, "mp4"),
    "cover_art": (ms.cover_art_only, "m4a"),
}

# How long each master is (the ``seconds`` its maker in tests/fixtures/media_sources.py uses).
DURATIONS = {
    "rotated": 3,
    "vfr": 4,  # 2 s at 30 fps + 2 s at 10 fps
    "interlaced": 3,
    "hdr10": 3,
    "ten_bit": 3,
    "odd": 3,
    "anamorphic": 3,
    "video_only": 3,
    "very_short": 0.7,
    "two_videos": 3,
    "mov_text": 6,
    "long": 600,
}


class Uploaded:
    def __init__(self, server: LiveServer, ids: dict[str, str]) -> None:
        self.server = server
        self.ids = ids
        self.viewers: dict[str, Viewer] = {}
        self.sar: object = None  # pixel aspect of the last stream first_frame opened

    def asset(self, kind: str) -> dict:  # type: ignore[type-arg]
        return self.server.asset(self.ids[kind])

    def viewer(self, kind: str) -> Viewer:
        if kind not in self.viewers:
            self.viewers[kind] = self.server.viewer(self.ids[kind], f"viewer-{kind}")
        return self.viewers[kind]

    def first_frame(self, kind: str, track: str | None = None) -> av.VideoFrame:
        """The first frame of a rung (the top one by default), from its delivered segments."""
        viewer = self.viewer(kind)
        base = viewer.play["hls"].rsplit("/", 1)[0] + "/"
        master = m3u8.loads(viewer.get(viewer.play["hls"]).text)
        uris = [p.uri for p in master.playlists]
        uri = next(u for u in uris if f"/{track}.m3u8" in u) if track else uris[-1]
        media = m3u8.loads(viewer.get(urljoin(base, uri)).text)
        init = viewer.get(urljoin(urljoin(base, uri), media.segment_map[0].uri)).content
        first = viewer.get(urljoin(urljoin(base, uri), media.segments[0].uri)).content
        with av.open(io.BytesIO(init + first)) as container:
            self.sar = container.streams.video[0].sample_aspect_ratio
            return next(container.decode(video=0))


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("sources")
    server = LiveServer(home / "home", {"VODSTACK_MINT_RATE_PER_MIN": "600"})
    server.start()
    try:
        ids = {}
        for kind, (make, ext) in SOURCES.items():
            path = make(home / f"{kind}.{ext}")
            r = server.upload(path, title=kind)
            assert r.status_code == 202, r.text
            ids[kind] = r.json()["id"]
        for asset_id in ids.values():
            server.wait(asset_id, timeout=300)
        yield Uploaded(server, ids)
    finally:
        server.stop()


def _video_renditions(asset: dict) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in asset["renditions"] if r["kind"] == "video"]


def test_every_kind_ends_ready_or_failed_with_a_reason(uploaded: Uploaded) -> None:
    states = {kind: uploaded.asset(kind)["status"] for kind in SOURCES}
    assert states == {kind: "failed" if kind == "cover_art" else "ready" for kind in SOURCES}
    assert uploaded.asset("cover_art")["error"] == (
        "the file has no video stream (audio only); upload a video master"
    )
    assert DURATIONS.keys() == {kind for kind, state in states.items() if state == "ready"}
    durations = {kind: uploaded.asset(kind)["duration"] for kind in DURATIONS}
    wrong = {k: d for k, d in durations.items() if abs(d - DURATIONS[k]) > 0.1}
    assert not wrong, wrong


def test_portrait_phone_video_is_upright(uploaded: Uploaded) -> None:
    rungs = _video_renditions(uploaded.asset("rotated"))
    assert [(r["width"], r["height"]) for r in rungs] == [(144, 256), (240, 426), (360, 640)]
    frame = uploaded.first_frame("rotated")
    assert (frame.width, frame.height) == (360, 640) and frame.rotation == 0


def test_variable_frame_rate_becomes_constant(uploaded: Uploaded) -> None:
    asset = uploaded.asset("vfr")
    assert abs(asset["duration"] - 4.0) < 0.1
    assert {r["frame_rate"] for r in _video_renditions(asset)} == {"30"}


def test_interlaced_is_deinterlaced(uploaded: Uploaded) -> None:
    asset = uploaded.asset("interlaced")
    assert {r["frame_rate"] for r in _video_renditions(asset)} == {"25"}
    frame = uploaded.first_frame("interlaced")
    assert not frame.interlaced_frame and frame.height == 360


def test_hdr_and_10_bit_become_8_bit_sdr(uploaded: Uploaded) -> None:
    for kind in ("hdr10", "ten_bit"):
        frame = uploaded.first_frame(kind)
        assert frame.format.name == "yuv420p", kind
        assert all(r["codec"].startswith("avc1.") for r in _video_renditions(uploaded.asset(kind)))
    hdr = uploaded.first_frame("hdr10")
    assert hdr.color_trc == 1 and hdr.color_primaries == 1  # BT.709, tagged after tone mapping
    # tone-mapped, not a washed-out PQ signal shown as SDR: testsrc2's black corner stays dark
    luma = hdr.to_ndarray(format="gray")
    assert luma.min() < 40 and luma.max() > 150


def test_odd_and_anamorphic_sizes_become_even_square_pixels(uploaded: Uploaded) -> None:
    odd = _video_renditions(uploaded.asset("odd"))
    assert all(r["width"] % 2 == 0 and r["height"] % 2 == 0 for r in odd)
    assert (odd[-1]["width"], odd[-1]["height"]) == (636, 360)
    wide = _video_renditions(uploaded.asset("anamorphic"))
    assert (wide[-1]["width"], wide[-1]["height"]) == (640, 360)  # 480×360 at SAR 4:3
    frame = uploaded.first_frame("anamorphic")
    assert (frame.width, frame.height) == (640, 360) and uploaded.sar in (None, 1)


def test_video_only_and_very_short_masters(uploaded: Uploaded) -> None:
    video_only = uploaded.asset("video_only")
    assert [r["kind"] for r in video_only["renditions"]] == ["video"] * 3
    master = uploaded.viewer("video_only").get(uploaded.viewer("video_only").play["hls"]).text
    assert "TYPE=AUDIO" not in master and "mp4a" not in master
    short = uploaded.asset("very_short")
    assert 0.6 < short["duration"] < 0.8
    viewer = uploaded.viewer("very_short")
    master = m3u8.loads(viewer.get(viewer.play["hls"]).text)
    base = viewer.play["hls"].rsplit("/", 1)[0] + "/"
    media = m3u8.loads(viewer.get(urljoin(base, master.playlists[0].uri)).text)
    assert len(media.segments) == 1 and media.segments[0].duration < 1


def test_the_default_of_several_video_streams_is_used(uploaded: Uploaded) -> None:
    rungs = _video_renditions(uploaded.asset("two_videos"))
    assert (rungs[-1]["width"], rungs[-1]["height"]) == (640, 360)  # not the 320×180 one


def test_embedded_mov_text_becomes_a_subtitle_track(uploaded: Uploaded) -> None:
    viewer = uploaded.viewer("mov_text")
    master = m3u8.loads(viewer.get(viewer.play["hls"]).text)
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert [(m.language, m.default) for m in subs] == [("fr", "YES")]


def test_a_long_title_is_indexed_and_storyboarded(uploaded: Uploaded) -> None:
    asset = uploaded.asset("long")
    assert abs(asset["duration"] - 600) < 0.5
    viewer = uploaded.viewer("long")
    base = viewer.play["hls"].rsplit("/", 1)[0] + "/"
    master = m3u8.loads(viewer.get(viewer.play["hls"]).text)
    media = m3u8.loads(viewer.get(urljoin(base, master.playlists[-1].uri)).text)
    assert len(media.segments) == 150  # 4 s segments of 2 s fragments
    board = viewer.get(urljoin(base, "storyboard.vtt")).text
    assert board.count("-->") == 300 and "sb/12.jpg#xywh=" in board
