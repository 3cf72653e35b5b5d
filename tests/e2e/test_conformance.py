"""Manifests served by a real ``vodstack serve`` checked by independent rules (issue #14):

- every MPD validates against the official DASH schema (ISO/IEC 23009-1 ``DASH-MPD.xsd``,
  tests/fixtures/dash_schema): clear; several audio languages with labels and 5.1; forced
  and SDH subtitles; trick mode; ``cenc``; ``cbcs``;
- advertised bit rates cover the bytes actually served in every protection mode: HLS
  ``BANDWIDTH`` ≥ the peak segment bit rate of the variant with its audio [RFC 8216
  §4.3.4.2] and ``AVERAGE-BANDWIDTH`` ≥ the measured average (within 10 %); DASH
  ``@bandwidth`` per its definition with ``@minBufferTime`` [23009-1 §5.3.5.2];
- the presentation lasts as long as its media (edit lists applied).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import m3u8
import pytest

from tests.conftest import make_clip_file
from tests.dash_schema import assert_valid_mpd
from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures import media_sources
from vodstack.packaging.dash import NS

pytestmark = pytest.mark.slow
D = {"d": NS}
SDH = "WEBVTT\n\n00:00.500 --> 00:02.000\n[door slams]\n"
FORCED = "WEBVTT\n\n00:01.000 --> 00:02.500\n[sign] Sortie\n"


@dataclass
class Env:
    server: LiveServer
    twelve: str  # a 12 s clip with one audio track
    multi: str  # languages, 5.1, embedded + sidecar (forced, SDH) subtitles


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("conformance")
    # Single pass: the 12.000 s expectation is of one AAC encode (one priming, one padded last
    # frame); progressive windows encode audio per run, each run's last frame padded.
    server = LiveServer(
        home / "home", {"VODSTACK_DASH_TRICK_MODE": "true", "VODSTACK_TRANSCODE_MODE": "single"}
    )
    server.start()
    try:
        twelve = server.upload(make_clip_file(home / "12s.mp4", seconds=12, size="320x180"))
        multi = server.upload(media_sources.multi_language(home / "multi.mkv"))
        ids = [twelve.json()["id"], multi.json()["id"]]
        for asset_id in ids:
            assert server.wait(asset_id)["status"] == "ready"
        for vtt, params in (
            (FORCED, {"language": "es", "label": "Forced narrative", "forced": "true"}),
            (SDH, {"language": "en", "label": "English SDH", "kind": "captions"}),
        ):
            r = server.client.post(
                f"/api/assets/{ids[1]}/captions",
                params=params,
                content=vtt.encode(),
                headers={**server.admin, "content-type": "text/vtt"},
            )
            assert r.status_code == 201, r.text
        yield Env(server, *ids)
    finally:
        server.stop()


def protect(server: LiveServer, asset_id: str, *schemes: str) -> None:
    r = server.client.put(
        f"/api/assets/{asset_id}/protection", headers=server.admin, json={"schemes": list(schemes)}
    )
    r.raise_for_status()


def test_mpds_validate_against_the_official_schema(env: Env) -> None:
    server = env.server
    multi = server.viewer(env.multi, "schema-multi")
    mpd = multi.get(multi.play["dash"]).text
    # what the schema check covers here: labels, 5.1, forced + SDH subtitles, trick mode
    for needle in ("<Label>Français (5.1)</Label>", "forced-subtitle", 'value="caption"',
                   "http://dashif.org/guidelines/trickmode"):  # fmt: skip
        assert needle in mpd, needle
    assert_valid_mpd(mpd)
    assert_valid_mpd(
        server.viewer(env.twelve, "schema-clear").get(f"/v1/{env.twelve}/index.mpd").text
    )
    for scheme in ("cenc", "cbcs"):
        protect(server, env.multi, scheme)
        viewer = server.viewer(env.multi, f"schema-{scheme}")
        mpd = viewer.get(viewer.play["dash"]).text
        assert f'value="{scheme}"' in mpd and "AudioChannelConfiguration" in mpd
        assert_valid_mpd(mpd)
    protect(server, env.multi, "clear")


def test_presentation_lasts_as_long_as_its_media(env: Env) -> None:
    """A 12.000 s title: the AAC priming the audio edit list removes (media_time 1024 at
    48 kHz, mapped to presentationTimeOffset) is not part of the presentation."""
    viewer = env.server.viewer(env.twelve, "duration")
    root = ET.fromstring(viewer.get(viewer.play["dash"]).text)
    assert root.get("mediaPresentationDuration") == "PT12.000S"
    assert root.find("d:Period", D).get("duration") == "PT12.000S"  # type: ignore[union-attr]
    assert env.server.asset(env.twelve)["duration"] == pytest.approx(12.0, abs=0.001)


# --- bit rates of the bytes served ---------------------------------------------------------


def _hls_rates(viewer: Viewer, playlist_url: str) -> tuple[float, float]:
    """(peak segment bit rate, average bit rate) of a media playlist's segments, fetched."""
    media = m3u8.loads(viewer.get(playlist_url).text)
    rates, bits, seconds = [], 0, 0.0
    for seg in media.segments:
        r = viewer.get(urljoin(playlist_url, seg.uri))
        assert r.status_code == 200, (seg.uri, r.status_code)
        rates.append(len(r.content) * 8 / seg.duration)
        bits += len(r.content) * 8
        seconds += seg.duration
    return max(rates), bits / seconds


def check_hls(viewer: Viewer, master_url: str) -> int:
    master = m3u8.loads(viewer.get(master_url).text)
    audio = [_hls_rates(viewer, urljoin(master_url, m.uri)) for m in master.media
             if m.type == "AUDIO"]  # fmt: skip
    audio_peak = max((a[0] for a in audio), default=0.0)
    audio_avg = max((a[1] for a in audio), default=0.0)
    for variant in master.playlists:
        peak, avg = _hls_rates(viewer, urljoin(master_url, variant.uri))
        info = variant.stream_info
        assert info.bandwidth >= peak + audio_peak, (variant.uri, info.bandwidth, peak)
        measured = avg + audio_avg
        assert measured <= info.average_bandwidth <= 1.1 * measured, (variant.uri, measured)
    return len(master.playlists)


def _dash_segments(template: ET.Element) -> list[tuple[int, int]]:
    """(number, duration) of each segment of a SegmentTemplate's SegmentTimeline."""
    out, number = [], int(template.get("startNumber", "1"))
    for s in template.findall("d:SegmentTimeline/d:S", D):
        for _ in range(int(s.get("r", "0")) + 1):
            out.append((number, int(s.get("d", "0"))))
            number += 1
    return out


def check_dash(viewer: Viewer, mpd_url: str) -> int:
    """ISO/IEC 23009-1 §5.3.5.2: delivered at @bandwidth from any segment start, every
    segment is complete by its playout time once @minBufferTime × @bandwidth bits arrived."""
    root = ET.fromstring(viewer.get(mpd_url).text)
    min_buffer = float(root.get("minBufferTime", "PT0S")[2:-1])
    checked = 0
    for rep in root.iterfind(".//d:Representation", D):
        template = rep.find("d:SegmentTemplate", D)
        if template is None:
            continue  # WebVTT: one sidecar file (SegmentList), not a media stream
        timescale = int(template.get("timescale", "1"))
        sizes, durations = [], []
        for number, duration in _dash_segments(template):
            path = template.get("media", "").replace("$RepresentationID$", rep.get("id", ""))
            r = viewer.get(urljoin(mpd_url, path.replace("$Number$", str(number))))
            assert r.status_code == 200, (path, number, r.status_code)
            sizes.append(len(r.content) * 8)
            durations.append(duration / timescale)
        bandwidth = int(rep.get("bandwidth", "0"))
        for i in range(len(sizes)):
            played = 0.0  # playout time of segment j after playout starts
            received = 0
            for j in range(i, len(sizes)):
                received += sizes[j]
                assert received <= bandwidth * (min_buffer + played), (rep.get("id"), i, j)
                played += durations[j]
        checked += 1
    return checked


@pytest.mark.parametrize(
    "schemes", [("clear",), ("aes-128", "cenc"), ("cbcs",)], ids=["clear", "aes-cenc", "cbcs"]
)
def test_advertised_bit_rates_cover_the_bytes_served(env: Env, schemes: tuple[str, ...]) -> None:
    # the transcoder recorded what protection adds beside each media track: manifests use it
    recorded = {p.name for p in env.server.home.rglob("*.protection.json") if env.twelve in str(p)}
    assert recorded == {"v144.protection.json", "v180.protection.json", "a0.protection.json"}
    protect(env.server, env.twelve, *schemes)
    try:
        viewer = env.server.viewer(env.twelve, f"rates-{'-'.join(schemes)}")
        assert check_hls(viewer, viewer.play["hls"]) == 2  # 144p and 180p (the source)
        # video rungs + audio (+ the trick-mode set, clear only)
        assert check_dash(viewer, viewer.play["dash"]) >= 3
    finally:
        protect(env.server, env.twelve, "clear")
