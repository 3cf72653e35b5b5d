"""Media breadth end to end through a real ``vodstack serve`` (issue #8): captions (sidecar and
embedded) in HLS and DASH, several audio languages and 5.1, I-frame playlists, poster,
thumbnails on the fly, storyboard, MP4 download by signed URL, VMAF in ``assets show``,
and a separately uploaded audio track — checked with independent parsers and decoders
(m3u8, mpegdash, FFmpeg, PyAV)."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import av
import httpx
import m3u8
import mpegdash.parser
import pytest

from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures import media_sources
from vodstack.captions.webvtt import parse_webvtt
from vodstack.media import ffmpeg_exe

pytestmark = pytest.mark.slow


class Stack:
    def __init__(self, server: LiveServer, asset_id: str, viewer: Viewer, caption: dict) -> None:
        self.server = server
        self.asset_id = asset_id
        self.viewer = viewer
        self.caption = caption  # the sidecar caption's API answer

    @property
    def base(self) -> str:
        return self.viewer.play["hls"].rsplit("/", 1)[0]

    def get(self, rel: str, **kwargs: object) -> httpx.Response:
        return self.viewer.get(urljoin(self.base + "/", rel), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("media")
    master = media_sources.multi_language(home / "multi.mkv")
    server = LiveServer(
        home / "home", {"VODSTACK_MINT_RATE_PER_MIN": "600", "VODSTACK_DASH_TRICK_MODE": "true"}
    )
    server.start()
    try:
        asset_id = server.upload(master, title="Multi").json()["id"]
        assert server.wait(asset_id)["status"] == "ready"
        r = server.client.post(
            f"/api/assets/{asset_id}/captions",
            params={"language": "en", "label": "English", "default": "true"},
            files={"file": ("english.srt", media_sources.SIDECAR_SRT.encode(), "text/plain")},
            headers=server.admin,
        )
        assert r.status_code == 201, r.text
        yield Stack(server, asset_id, server.viewer(asset_id), r.json())
    finally:
        server.stop()


def _caption(stack: Stack, data: bytes, **params: str) -> httpx.Response:
    return stack.server.client.post(
        f"/api/assets/{stack.asset_id}/captions",
        params={"language": "en", **params},
        content=data,
        headers={**stack.server.admin, "content-type": "text/plain"},
    )


def test_caption_upload_is_validated_with_reasons(stack: Stack) -> None:
    bad = {
        b"1\n00:00:05,000 --> 00:00:04,000\nbackwards\n": "line 2: the cue ends",
        b"WEBVTT\n00:00.000 --> 00:01.000\nno blank line\n": "line 2: put a blank line",
        b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nbad arrow\n": "is not a cue timing",
        b"just some text": "not a caption file",
        b"\x00\x01\x02binary": "binary",
        b"WEBVTT\n\nNOTE only a note\n": "no cues",
    }
    for data, reason in bad.items():
        r = _caption(stack, data)
        assert r.status_code == 400, (data, r.text)
        assert reason in r.json()["error"], (data, r.text)
    r = _caption(stack, b"WEBVTT\n\n00:01.000 --> 00:02.000\nok\n", language="not a language")
    assert r.status_code == 400 and "language" in r.json()["error"]
    assert stack.caption["cues"] == 3 and stack.caption["default"] is True


def test_hls_offers_audio_languages_surround_and_subtitles(stack: Stack) -> None:
    master = m3u8.loads(stack.get("index.m3u8").text)
    audio = [m for m in master.media if m.type == "AUDIO"]
    assert [(m.language, m.name, m.default, m.channels) for m in audio] == [
        ("en", "English", "YES", "2"),
        ("fr", "Français", "NO", "2"),
        ("fr", "Français (5.1)", "NO", "6"),
    ]
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert sorted((m.language, m.name, m.default, m.forced) for m in subs) == [
        ("en", "English", "YES", "NO"),
        ("fr", "Français", "NO", "NO"),
    ]
    assert all(m.group_id == "subs" and m.autoselect == "YES" for m in subs)
    for playlist in master.playlists:
        info = playlist.stream_info
        assert info.subtitles == "subs" and info.audio == "aud"
        assert info.codecs.endswith(",mp4a.40.2")
    # every audio rendition decodes with its channel count
    for m in audio:
        media = m3u8.loads(stack.get(m.uri).text)
        init = stack.get(urljoin(m.uri, media.segment_map[0].uri)).content
        first = stack.get(urljoin(m.uri, media.segments[0].uri)).content
        with av.open(io.BytesIO(init + first)) as container:
            assert container.streams.audio[0].codec_context.channels == int(m.channels)


def test_subtitle_segments_carry_cues_across_boundaries(stack: Stack) -> None:
    master = m3u8.loads(stack.get("index.m3u8").text)
    english = next(m for m in master.media if m.type == "SUBTITLES" and m.language == "en")
    playlist = m3u8.loads(stack.get(english.uri).text)
    assert playlist.target_duration == 4 and playlist.is_endlist
    texts = []
    for segment in playlist.segments:
        r = stack.get(urljoin(english.uri, segment.uri))
        assert r.headers["content-type"].startswith("text/vtt")
        assert "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000" in r.text.splitlines()[1]
        texts.append([c.text for c in parse_webvtt(r.text)])
    # the 3.5–4.5 s cue spans the 4 s boundary: it is in both segments, unchanged
    assert texts == [
        ["Hello, <b>world</b> &amp; friends", "Across the boundary"],
        ["Across the boundary", "Last words"],
    ]


def test_ffmpeg_decodes_both_subtitle_renditions(stack: Stack) -> None:
    master = m3u8.loads(stack.get("index.m3u8").text)
    expected = {"en": "Across the boundary", "fr": "À cheval sur la frontière"}
    for media in (m for m in master.media if m.type == "SUBTITLES"):
        proc = subprocess.run(
            [
                *(ffmpeg_exe(), "-hide_banner", "-loglevel", "error"),
                *("-cookies", stack.viewer.ffmpeg_cookies),
                *("-i", urljoin(stack.base + "/", media.uri), "-f", "srt", "-"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert expected[media.language] in proc.stdout
        # FFmpeg's HLS reader drops the repeated boundary cue: three distinct cues
        assert proc.stdout.count("-->") == 3


def test_dash_lists_text_and_audio_adaptation_sets(stack: Stack) -> None:
    mpd = mpegdash.parser.MPEGDASHParser.parse(stack.get("index.mpd").text)
    sets = mpd.periods[0].adaptation_sets
    texts = [s for s in sets if s.content_type == "text"]
    assert sorted(s.lang for s in texts) == ["en", "fr"]
    for aset in texts:
        assert aset.mime_type == "text/vtt"
        assert aset.roles[0].value == "subtitle"
        url = aset.representations[0].segment_lists[0].segment_urls[0].media
        cues = parse_webvtt(stack.get(url).text)
        assert len(cues) == 3  # the whole track, each cue once
    audio = [s for s in sets if s.content_type == "audio"]
    assert [(s.lang, s.audio_channel_configurations[0].value, s.roles[0].value) for s in audio] == [
        ("en", "2", "main"),
        ("fr", "2", "alternate"),
        ("fr", "6", "alternate"),
    ]


def test_iframe_playlists_point_at_keyframes(stack: Stack) -> None:
    master = m3u8.loads(stack.get("index.m3u8").text)
    assert len(master.iframe_playlists) == len(master.playlists)
    for iframe in master.iframe_playlists:
        playlist = m3u8.loads(stack.get(iframe.uri).text)
        assert playlist.is_i_frames_only
        init = stack.get(urljoin(iframe.uri, playlist.segment_map[0].uri)).content
        expected_pts = 0.0
        for segment in playlist.segments:
            length, offset = (int(x) for x in segment.byterange.split("@"))
            r = stack.get(
                urljoin(iframe.uri, segment.uri),
                headers={"Range": f"bytes={offset}-{offset + length - 1}"},
            )
            assert r.status_code == 206 and len(r.content) == length
            with av.open(io.BytesIO(init + r.content)) as container:
                frames = list(container.decode(video=0))
            assert len(frames) == 1 and frames[0].key_frame, segment.uri
            assert abs(frames[0].time - expected_pts) < 0.1
            expected_pts += segment.duration


def test_dash_trick_mode_segments_are_key_frames(stack: Stack) -> None:
    mpd = mpegdash.parser.MPEGDASHParser.parse(stack.get("index.mpd").text)
    sets = mpd.periods[0].adaptation_sets
    trick = next(s for s in sets if s.essential_properties)
    assert trick.essential_properties[0].scheme_id_uri == "http://dashif.org/guidelines/trickmode"
    assert trick.essential_properties[0].value == str(sets[0].id)
    rep = trick.representations[-1]
    template = rep.segment_templates[0]
    init = stack.get(template.initialization).content
    count = sum((s.r or 0) + 1 for s in template.segment_timelines[0].Ss)
    assert count == 3  # one per 2 s fragment of the 6 s title
    body = init + b"".join(
        stack.get(template.media.replace("$Number$", str(n))).content for n in range(1, count + 1)
    )
    with av.open(io.BytesIO(body)) as container:
        frames = list(container.decode(video=0))
    assert [f.key_frame for f in frames] == [True] * 3
    assert [round(f.time, 2) for f in frames] == [0.0, 2.0, 4.0]


def _jpeg_size(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def test_poster_and_thumbnails_are_gated_and_cached(stack: Stack) -> None:
    poster = stack.get("poster.jpg")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert _jpeg_size(poster.content) == (640, 360)
    thumb = stack.get("thumbnail.jpg?time=3.2&width=200")  # answered at 3 s, 240 px wide
    assert thumb.status_code == 200 and _jpeg_size(thumb.content) == (240, 136)
    again = stack.get("thumbnail.jpg?width=200&time=3.2&utm=x")  # same canonical query
    assert again.headers["x-edge-result-type"] == "Hit" and again.content == thumb.content
    other = stack.get("thumbnail.jpg?time=0.5&width=200")
    assert other.headers["x-edge-result-type"] == "Miss" and other.content != thumb.content
    assert stack.get("thumbnail.jpg?time=abc").status_code == 400
    anonymous = httpx.get(f"{stack.base}/thumbnail.jpg?time=1&width=100")
    assert anonymous.status_code == 403
    # choosing the poster by time replaces the automatic one at once
    r = stack.server.client.put(
        f"/api/assets/{stack.asset_id}/poster", json={"time": 5.5}, headers=stack.server.admin
    )
    assert r.status_code == 200
    chosen = stack.get("poster.jpg")
    assert chosen.status_code == 200 and chosen.content != poster.content


def test_storyboard_references_valid_sprite_coordinates(stack: Stack) -> None:
    r = stack.get("storyboard.vtt")
    assert r.status_code == 200 and r.text.startswith("WEBVTT")
    cues = parse_webvtt(r.text)
    duration = stack.server.asset(stack.asset_id)["duration"]
    assert len(cues) == 3 and cues[-1].end_ms == round(duration * 1000)
    sheets: dict[str, tuple[int, int]] = {}
    for cue in cues:
        uri, _, fragment = cue.text.partition("#xywh=")
        x, y, w, h = (int(v) for v in fragment.split(","))
        if uri not in sheets:
            sheet = stack.get(uri)
            assert sheet.headers["cache-control"].endswith("immutable")
            sheets[uri] = _jpeg_size(sheet.content)
        width, height = sheets[uri]
        assert (w, h) == (160, 90) and x + w <= width and y + h <= height
    assert sheets == {"r1-4s/sb/1.jpg": (800, 450)}


def test_download_is_a_signed_faststart_mp4_when_allowed(stack: Stack) -> None:
    token = stack.server.token("viewer-1")
    refused = stack.server.play(stack.asset_id, token, params={"download": "1"})
    assert refused.status_code == 403 and refused.json()["rule"] == "download"
    assert stack.get("download.mp4").status_code == 404  # not even with playback cookies
    r = stack.server.client.put(
        f"/api/assets/{stack.asset_id}/downloads", json={"allow": True}, headers=stack.server.admin
    )
    assert r.status_code == 200
    grant = stack.server.play(stack.asset_id, token, params={"download": "1"}).json()
    assert "Expires=" in grant["url"] and "Signature=" in grant["url"]
    body = httpx.get(grant["url"], timeout=30)  # no cookies: the URL is the credential
    assert body.status_code == 200 and body.headers["content-type"] == "video/mp4"
    boxes = _top_level_boxes(body.content)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: playable while loading
    with av.open(io.BytesIO(body.content)) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        assert abs(container.duration / av.time_base - 6.0) < 0.2
    tampered = grant["url"].replace("download.mp4", "poster.jpg")
    assert httpx.get(tampered).status_code == 403


def _top_level_boxes(data: bytes) -> list[str]:
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        boxes.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size < 8:
            break
        pos += size
    return boxes


def test_quality_scores_are_stored_and_shown(stack: Stack) -> None:
    shown = json.loads(stack.server.cli("assets", "show", stack.asset_id, "--json"))
    scores = [r["vmaf"] for r in shown["renditions"] if r["kind"] == "video"]
    assert len(scores) == 3 and all(s is not None for s in scores)
    assert scores == sorted(scores) and scores[-1] > 90  # bigger rungs look better
    assert shown["quality"]["v360"] == scores[-1]
    assert shown["ladder"]["template"] == "default" and shown["ladder"]["version"] == 1
    api = stack.server.asset(stack.asset_id)
    assert [r["vmaf"] for r in api["renditions"] if r["kind"] == "video"] == scores


def test_a_separately_uploaded_audio_track_joins_the_ladder(stack: Stack, tmp_path: Path) -> None:
    wav = media_sources.audio_track(tmp_path / "de.wav")
    r = stack.server.client.post(
        f"/api/assets/{stack.asset_id}/audio",
        params={"language": "de", "label": "Deutsch"},
        content=wav.read_bytes(),
        headers={**stack.server.admin, "content-type": "audio/wav"},
    )
    assert r.status_code == 202, r.text
    bad = stack.server.client.post(
        f"/api/assets/{stack.asset_id}/audio",
        params={"language": "de"},
        content=b"not audio at all",
        headers=stack.server.admin,
    )
    assert bad.status_code == 422 and "audio" in bad.json()["error"]
    for _ in range(300):
        if stack.server.asset(stack.asset_id)["status"] == "ready" and any(
            x["label"] == "Deutsch" for x in stack.server.asset(stack.asset_id)["renditions"]
        ):
            break
        import time

        time.sleep(0.2)
    viewer = stack.server.viewer(stack.asset_id, "viewer-2")
    master = m3u8.loads(viewer.get(viewer.play["hls"]).text)
    names = [m.name for m in master.media if m.type == "AUDIO"]
    assert "Deutsch" in names and names[0] == "English"
    assert re.search(r"r2-4s/", viewer.get(viewer.play["hls"]).text)
    # sidecar captions survive the new revision; embedded ones were extracted again
    subs = sorted(m.language for m in master.media if m.type == "SUBTITLES")
    assert subs == ["en", "fr"]


def test_a_forced_sidecar_caption_is_flagged_in_hls_and_dash(stack: Stack) -> None:
    vtt = b"WEBVTT\n\n00:01.000 --> 00:02.500\n[sign] Sortie\n"
    r = _caption(stack, vtt, language="es", label="Forced narrative", forced="true")
    assert r.status_code == 201, r.text
    track = r.json()["track"]
    try:
        assert r.json()["forced"] is True and r.json()["default"] is False
        playlist = stack.get("index.m3u8").text
        master = m3u8.loads(playlist)
        subs = {m.language: m for m in master.media if m.type == "SUBTITLES"}
        assert (subs["es"].forced, subs["es"].default) == ("YES", "NO")
        assert all(m.forced == "NO" for lang, m in subs.items() if lang != "es")
        line = next(x for x in playlist.splitlines() if 'LANGUAGE="es"' in x)
        assert "TYPE=SUBTITLES" in line and "FORCED=YES" in line
        mpd = mpegdash.parser.MPEGDASHParser.parse(stack.get("index.mpd").text)
        texts = {s.lang: s for s in mpd.periods[0].adaptation_sets if s.content_type == "text"}
        forced = texts["es"].roles[0]
        assert (forced.scheme_id_uri, forced.value) == (
            "urn:mpeg:dash:role:2011",
            "forced-subtitle",
        )
        assert {lang: s.roles[0].value for lang, s in texts.items() if lang != "es"} == {
            "en": "subtitle",
            "fr": "subtitle",
        }
        url = texts["es"].representations[0].segment_lists[0].segment_urls[0].media
        assert [c.text for c in parse_webvtt(stack.get(url).text)] == ["[sign] Sortie"]
    finally:
        deleted = stack.server.client.delete(
            f"/api/assets/{stack.asset_id}/captions/{track}", headers=stack.server.admin
        )
        assert deleted.status_code == 204
    assert 'LANGUAGE="es"' not in stack.get("index.m3u8").text
