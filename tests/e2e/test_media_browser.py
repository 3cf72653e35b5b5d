"""Media breadth in a real browser (Debian Chromium, headless) against a live server
(issue #8): subtitles appear as text tracks in hls.js, dash.js and Shaka and show their cues;
an AV1 variant offered beside H.264 plays (Chromium decodes AV1 with dav1d)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.e2e.browser import Chromium, Page, missing_requirements
from tests.e2e.conftest import LiveServer
from tests.fixtures import media_sources

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LADDER = [{"height": 180, "maxrate_kbps": 300}, {"height": 360, "maxrate_kbps": 800}]
# The cues of the sidecar English track, as players put them in a TextTrack.
TEXT_TRACK_CUES = """(() => {
  const out = [];
  for (const track of document.querySelector('video').textTracks) {
    if (track.mode === 'disabled') continue;
    for (const cue of track.cues || []) out.push(cue.text);
  }
  return out;
})()"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("media-browser")
    master = media_sources.multi_language(home / "multi.mkv", seconds=12)
    server = LiveServer(
        home / "home",
        {
            "VODSTACK_LADDER": json.dumps(LADDER),
            "VODSTACK_VIDEO_CODECS": '["h264", "av1"]',
            "VODSTACK_DASH_TRICK_MODE": "true",  # dash.js drops the set, Shaka keeps it
            "VODSTACK_MINT_RATE_PER_MIN": "600",
        },
    )
    server.start()
    try:
        asset_id = server.upload(master).json()["id"]
        assert server.wait(asset_id, timeout=300)["status"] == "ready"
        r = server.client.post(
            f"/api/assets/{asset_id}/captions",
            params={"language": "en", "label": "English"},
            files={"file": ("en.srt", media_sources.SIDECAR_SRT.encode(), "text/plain")},
            headers=server.admin,
        )
        assert r.status_code == 201, r.text
        yield server, asset_id
    finally:
        server.stop()


def _open(browser: Chromium, server: LiveServer, asset_id: str, subject: str, query: str) -> Page:
    server.subscribe(subject)
    page = browser.page(subject)
    page.goto(f"{server.base_url}/watch/{asset_id}?{query}#token={server.token(subject)}")
    page.wait_for("window.vodstackPlayer?.phase === 'ready'", 20)
    page.click("#play")
    page.wait_for("document.querySelector('video').currentTime > 0.5", 30)
    return page


@pytest.mark.parametrize("engine", ["hls", "dash", "shaka"])
def test_subtitles_appear_as_tracks_and_show_cues(
    browser: Chromium, stack: tuple[LiveServer, str], engine: str
) -> None:
    server, asset_id = stack
    page = _open(browser, server, asset_id, f"subs-{engine}", f"engine={engine}")
    try:
        # the player lists the text tracks: the captions button appears
        page.wait_for("!document.getElementById('captions').hidden", 20)
        page.click("#captions")
        page.eval("document.querySelector('video').currentTime = 0.9")
        cues = page.wait_for(
            f"(() => {{ const c = {TEXT_TRACK_CUES}; return c.length ? c : null; }})()", 30
        )
        assert any(
            text in " ".join(cues)
            for text in ("Hello, world & friends", "Bonjour tout le monde", "Bonjour")
        ), cues
        requests = [r["url"] for r in page.requests() if "/v1/" in r["url"]]
        if engine == "hls":
            assert any(re.search(r"/[et][a-z0-9]+/\d+\.vtt$", u) for u in requests)
        else:
            assert any(re.search(r"/[et][a-z0-9]+\.vtt$", u) for u in requests)
        errors = [e for e in page.player_state().get("errors", []) if e.get("fatal")]
        assert not errors, errors
    finally:
        page.close()


def test_an_av1_variant_plays_in_chromium(browser: Chromium, stack: tuple[LiveServer, str]) -> None:
    server, asset_id = stack
    page = _open(browser, server, asset_id, "av1-viewer", "engine=shaka")
    try:
        assert page.eval("MediaSource.isTypeSupported('video/mp4; codecs=\"av01.0.01M.08\"')")
        page.wait_for("document.querySelector('video').currentTime > 3", 40)
        segments = [r for r in page.requests() if re.search(r"/v\d+av1/\d+\.m4s$", r["url"])]
        assert segments and all(r["status"] == 200 for r in segments if r["status"]), segments
        decoded = page.eval(
            "document.querySelector('video').getVideoPlaybackQuality().totalVideoFrames"
        )
        assert decoded > 60 and not page.player_state()["mediaError"]
        # Shaka picked the AV1 set (same quality, fewer bits); no H.264 media were needed
        h264 = [r for r in page.requests() if re.search(r"/v\d+/\d+\.m4s$", r["url"])]
        assert not h264, h264
    finally:
        page.close()


def test_poster_and_storyboard_preview_on_seek_hover(browser: Chromium, stack) -> None:  # type: ignore[no-untyped-def]
    """The poster and the storyboard come from the asset's signed path once /play has set the
    cookies; hovering the seek bar shows the sprite of that moment, and a click seeks."""
    server, asset_id = stack
    page = _open(browser, server, asset_id, "hover-viewer", "engine=hls")
    assert page.eval("document.querySelector('video').poster").endswith(
        f"/v1/{asset_id}/poster.jpg"
    )
    page.wait_for("window.vodstackPlayer.storyboard > 0", 15)
    page.wait_for("!document.getElementById('scrub').hidden", 15)
    preview = page.eval(
        """(() => {
          const scrub = document.getElementById('scrub');
          const box = scrub.getBoundingClientRect();
          scrub.dispatchEvent(new MouseEvent('mousemove', {
            clientX: box.left + box.width * 0.75, clientY: box.top + 4, bubbles: true }));
          return window.vodstackPlayer.preview;
        })()"""
    )
    duration = page.eval("document.querySelector('video').duration")
    assert abs(preview["t"] - 0.75 * duration) < 0.5, preview
    assert re.search(r"/sb/\d+\.jpg$", preview["url"]), preview
    assert preview["w"] > 0 and preview["h"] > 0
    assert page.eval("!document.getElementById('preview').hidden")
    assert "/sb/" in page.eval("document.getElementById('preview').style.backgroundImage")
    # the sprite sheet answers with the viewer's cookies, as the preview's image request does
    status = page.eval(
        f"fetch({json.dumps(preview['url'])}, {{credentials: 'include'}}).then(r => r.status)"
    )
    assert status == 200
    page.eval(
        """(() => {
          const scrub = document.getElementById('scrub');
          const box = scrub.getBoundingClientRect();
          scrub.dispatchEvent(new MouseEvent('click', {
            clientX: box.left + box.width * 0.5, clientY: box.top + 4, bubbles: true }));
        })()"""
    )
    page.wait_for(
        "Math.abs(document.querySelector('video').currentTime - "
        "document.querySelector('video').duration / 2) < 2",
        15,
    )
    page.close()
