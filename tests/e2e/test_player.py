"""The web player in a real browser (Debian Chromium, headless) against a live `vodstack serve`:
hls.js, dash.js and Shaka play; ABR adapts under DevTools throttling; cookies refresh; a revoked
viewer is stopped; a denied viewer gets no media; beacons feed the completion report."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.browser import Chromium, Page, missing_requirements
from tests.e2e.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COOKIE_TTL_S = 10  # the least allowed: the page refreshes every 5 s
# Rungs whose bitrates differ clearly (crf 12 makes each rung run at its cap), so a throttle
# between them forces a switch; audio kept small so it does not blur the picture.
ABR_LADDER = [
    {"height": 180, "maxrate_kbps": 250, "crf": 12},
    {"height": 360, "maxrate_kbps": 1000, "crf": 12},
    {"height": 720, "maxrate_kbps": 3000, "crf": 12},
]
THROTTLE_KBPS = 600  # below the middle rung (≈1.1 Mb/s with audio), above the lowest (≈0.3)
CF_COOKIES = ("CloudFront-Policy=", "CloudFront-Signature=", "CloudFront-Key-Pair-Id=")


PROTECTION = ("aes-128", "cenc", "cbcs")


@dataclass
class Stack:
    server: LiveServer
    long_id: str  # 60 s, 720p source: three rungs
    short_id: str  # 10 s: for completion
    protected: dict[str, str]  # scheme → a 4 s asset protected with it (empty: no protection)


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("player")
    long_clip = make_clip_file(home / "long.mp4", seconds=60, size="1280x720")
    short_clip = make_clip_file(home / "short.mp4", seconds=10, size="640x360")
    tiny_clip = make_clip_file(home / "tiny.mp4", seconds=4, size="320x180")
    server = LiveServer(
        home / "home",
        {
            "VODSTACK_LADDER": json.dumps(ABR_LADDER),
            "VODSTACK_AUDIO_BITRATE_KBPS": "64",
            "VODSTACK_COOKIE_TTL_S": str(COOKIE_TTL_S),
            "VODSTACK_MINT_RATE_PER_MIN": "600",
            "VODSTACK_DEV_IDP": "true",  # the page's sign-in box (test_signing_in_on_the_page)
        },
    )
    server.start()
    try:
        long_id = server.upload(long_clip, title="long").json()["id"]
        short_id = server.upload(short_clip, title="short").json()["id"]
        tiny = {scheme: server.upload(tiny_clip).json()["id"] for scheme in PROTECTION}
        for asset_id in (long_id, short_id, *tiny.values()):
            assert server.wait(asset_id, timeout=240)["status"] == "ready"
        protected = {}
        for scheme, asset_id in tiny.items():
            r = server.client.put(
                f"/api/assets/{asset_id}/protection",
                headers=server.admin,
                json={"schemes": [scheme]},
            )
            if r.status_code in (404, 405):  # content protection is not part of this build
                break
            r.raise_for_status()
            protected[scheme] = asset_id
        yield Stack(server, long_id, short_id, protected)
    finally:
        server.stop()


def metric(server: LiveServer, name: str, labels: str = "") -> float:
    text = server.metrics()
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + "$", text, re.M)
    return float(match.group(1)) if match else 0.0


def origin_media_reads(server: LiveServer) -> dict[str, float]:
    return {
        kind: metric(server, "vodstack_origin_requests_total", f'kind="{kind}"')
        for kind in ("manifest", "init", "segment")
    }


def open_player(
    browser: Chromium,
    stack: Stack,
    subject: str,
    asset_id: str,
    query: str = "",
    *,
    subscribe: bool = True,
    click: bool = True,
) -> Page:
    server = stack.server
    if subscribe:
        server.subscribe(subject)
    token = server.token(subject)
    page = browser.page(subject)
    page.goto(f"{server.base_url}/watch/{asset_id}?{query}#token={token}")
    if click:
        page.wait_for("window.vodstackPlayer?.phase === 'ready'", 15)
        page.click("#play")
    return page


def media_requests(page: Page, since_ms: float = 0) -> list[dict]:
    return [r for r in page.requests(since_ms) if "/v1/" in r["url"]]


def rung(url: str) -> int | None:
    match = re.search(r"/v(\d+)/\d+\.m4s$", url)
    return int(match.group(1)) if match else None


def wait_for_rung(page: Page, height: int, since_ms: float, timeout_s: float) -> None:
    """Until a media segment of the rung ``height`` has been requested after ``since_ms``."""
    deadline = time.monotonic() + timeout_s
    while height not in {rung(r["url"]) for r in media_requests(page, since_ms)}:
        seen = {rung(r["url"]) for r in media_requests(page, since_ms)} - {None}
        assert time.monotonic() < deadline, f"no {height}p segment requested; saw {seen}"
        time.sleep(0.25)


def max_stall_ms(page: Page) -> float:
    return max(page.eval("window.vodstackPlayer.stalls"), default=0.0)


@pytest.mark.parametrize("engine", ["hls", "dash", "shaka"])
def test_engine_plays_with_signed_cookies(
    browser: Chromium, stack: Stack, engine: str, tmp_path: Path
) -> None:
    denied_before = metric(stack.server, "vodstack_gate_denied_total")
    page = open_player(browser, stack, f"viewer-{engine}", stack.long_id, f"engine={engine}")
    page.wait_for("document.querySelector('video').currentTime > 5", 30)
    state = page.player_state()
    assert state["engine"] == engine
    assert state["decoded"] > 0, state
    # No player errors: nothing fatal, no HTTP failure. (Non-fatal buffer warnings can come
    # from a starved CPU on a loaded CI machine; they are not the stack's doing.)
    bad = [e for e in state["errors"] if e["fatal"] or (e.get("status") or 0) >= 400]
    assert bad == [], state["errors"]
    assert state["startupMs"] is not None
    assert len(state["levels"]) == 3
    shot = page.screenshot(tmp_path / f"player-{engine}.png")
    print(f"\nscreenshot of the {engine} player: {shot}")

    requests = media_requests(page)
    segments = [r for r in requests if r["url"].endswith(".m4s")]
    assert len(segments) >= 2
    answered = [r for r in requests if r["status"] is not None]  # not still in flight
    assert all(r["status"] in (200, 206) for r in answered), [
        (r["url"], r["status"], r.get("failure")) for r in requests
    ]
    # The driver reads request headers asynchronously: a request still in flight when the log
    # is read may not have them yet, and a segment answered from the browser's HTTP cache
    # (immutable: an engine may fetch one again after a rung switch) sent none, so the driver
    # reports no Cookie header. A request that reached the server without the cookies would
    # be a 403, which the status check above and the denied counter below catch. Every
    # segment whose request headers were seen must show the three cookies.
    checked = [r for r in segments if r["status"] is not None and r["cookie"]]
    assert len(checked) >= 2
    for r in checked:  # every media segment went with the three signed cookies
        assert all(name in r["cookie"] for name in CF_COOKIES), r
    assert all("Signature=" not in r["url"] for r in segments)  # cookies, not signed URLs
    assert metric(stack.server, "vodstack_gate_denied_total") == denied_before
    page.close()


@pytest.mark.parametrize(
    ("engine", "scheme"), [("hls", "aes-128"), ("shaka", "cenc"), ("shaka", "cbcs")]
)
def test_protected_asset_plays_with_keys_behind_the_cookies(
    browser: Chromium, stack: Stack, engine: str, scheme: str
) -> None:
    if scheme not in stack.protected:
        pytest.skip("content protection (PUT /api/assets/{id}/protection) is not in this build")
    asset_id = stack.protected[scheme]
    page = open_player(browser, stack, f"protected-{scheme}", asset_id, f"engine={engine}")
    page.wait_for("document.querySelector('video').currentTime > 2", 30)
    state = page.player_state()
    assert state["decoded"] > 0 and not [e for e in state["errors"] if e["fatal"]], state
    requests = media_requests(page)
    # AES-128: the HLS key URI ({tag}/key) is fetched like a segment, with the cookies;
    # cenc/cbcs: the CDM's W3C ClearKey licence request goes to /v1/{id}/license.
    endpoint = "/key" if scheme == "aes-128" else "/license"
    keys = [r for r in requests if r["url"].endswith(endpoint)]
    assert keys, [r["url"] for r in requests]
    assert all(r["status"] == 200 and "CloudFront-Signature=" in (r["cookie"] or "") for r in keys)
    page.close()


@pytest.mark.realtime
@pytest.mark.parametrize(
    ("engine", "climbs_back"), [("shaka", True), ("dash", True), ("hls", False)]
)
def test_abr_switches_down_under_throttling_and_climbs_back(
    browser: Chromium, stack: Stack, engine: str, climbs_back: bool
) -> None:
    # hls.js's bandwidth estimate is an EWMA weighted by download time: after a dip it rises
    # by only ≈ segment bits × ln 2 / half-life per segment, so from the 250 kb/s rung it
    # needs minutes to climb back (measured ≈ +140 kb/s per 4 s segment; see README). Shaka
    # and dash.js climb back within seconds, so they carry the "and back up" half.
    page = open_player(browser, stack, f"abr-{engine}", stack.long_id, f"engine={engine}&buffer=8")
    page.wait_for(
        "window.vodstackPlayer.level?.height === 720"
        " && document.querySelector('video').currentTime > 2",
        20,
    )
    switches_before = len(page.eval("window.vodstackPlayer.switches"))

    throttled_at = browser.now_ms()
    page.throttle(THROTTLE_KBPS, latency_ms=40)
    page.wait_for("window.vodstackPlayer.level?.height <= 180", 40)  # player events
    wait_for_rung(page, 180, throttled_at, 45)  # and segment URLs (after in-flight ones)
    down = page.eval("window.vodstackPlayer.switches")[switches_before:]
    assert any(s["height"] < 360 for s in down), down
    time.sleep(3)  # keep playing on the low rung for a while

    if climbs_back:
        restored_at = browser.now_ms()
        page.unthrottle()
        page.wait_for("window.vodstackPlayer.level?.height === 720", 30)
        wait_for_rung(page, 720, restored_at, 15)

    state = page.player_state()
    assert not state["paused"] and state["readyState"] >= 3, state
    assert max_stall_ms(page) <= 1000, state["stalls"]
    assert not [e for e in state["errors"] if e["fatal"]], state["errors"]
    page.close()


@pytest.mark.realtime
def test_cookie_refresh_keeps_a_60_s_playback_going(browser: Chromium, stack: Stack) -> None:
    # A small forward buffer keeps segment requests coming to the end, each needing a valid
    # cookie; with a 10 s TTL that is only possible if the page refreshed them.
    # Played at 2x: the 60 s title ends after ~30 s of wall time, three cookie lifetimes.
    page = open_player(browser, stack, "long-viewer", stack.long_id, "buffer=6")
    started = browser.now_ms()
    page.eval("document.querySelector('video').playbackRate = 2")
    page.wait_for("document.querySelector('video').ended", 60, polling_ms=500)
    state = page.player_state()
    assert state["phase"] == "playing" and state["message"] is None, state
    assert state["refreshes"] >= 3, state
    assert not [e for e in state["errors"] if e["fatal"]], state["errors"]
    assert max_stall_ms(page) <= 1000, state["stalls"]
    requests = media_requests(page)
    assert all(r["status"] in (200, 206) for r in requests), [
        r for r in requests if r["status"] not in (200, 206)
    ]
    policies = {
        m.group(1)
        for r in requests
        if (m := re.search(r"CloudFront-Policy=([^;]+)", r["cookie"] or ""))
    }
    assert len(policies) >= 3, "segments should have gone with ≥ 3 successive cookies"
    late = [r for r in requests if r["at"] > started + 2 * COOKIE_TTL_S * 1000]
    assert late, "no request was made after the first cookies had long expired"
    page.close()


@pytest.mark.realtime
def test_revoked_viewer_stops_at_next_refresh(browser: Chromium, stack: Stack) -> None:
    server = stack.server
    page = open_player(browser, stack, "revoked-viewer", stack.long_id, "buffer=6")
    page.wait_for("document.querySelector('video').currentTime > 2", 20)
    assert server.cli("entitle", "revoked-viewer", "--revoke") == "1 subscription(s) cancelled"
    revoked = time.monotonic()
    page.wait_for("window.vodstackPlayer.phase === 'stopped'", COOKIE_TTL_S + 10)
    assert time.monotonic() - revoked <= COOKIE_TTL_S + 5
    state = page.player_state()
    assert state["paused"], state
    assert state["rule"] == "subscription_cancelled", state
    assert "not entitled" in state["message"] and "cancelled" in state["message"], state
    shown = page.eval("document.getElementById('message').hidden")
    assert shown is False
    stopped_at, position = browser.now_ms(), state["currentTime"]
    time.sleep(2)
    assert page.eval("document.querySelector('video').currentTime") == pytest.approx(position)
    assert not media_requests(page, stopped_at + 200), "no media after the boundary"
    page.close()


def test_denied_viewer_sees_why_and_gets_no_media(browser: Chromium, stack: Stack) -> None:
    before = origin_media_reads(stack.server)
    page = open_player(
        browser, stack, "no-plan-viewer", stack.long_id, subscribe=False, click=False
    )
    page.wait_for("window.vodstackPlayer?.message", 15)
    state = page.player_state()
    assert state["rule"] == "subscription"
    assert state["message"].startswith("You are not entitled to watch this video.")
    assert page.eval("document.getElementById('play').hidden") is True
    time.sleep(0.5)
    assert media_requests(page) == []
    assert origin_media_reads(stack.server) == before
    page.close()


def test_beacons_feed_the_completion_report(browser: Chromium, stack: Stack) -> None:
    server, asset = stack.server, stack.short_id
    startups_before = metric(server, "vodstack_qoe_startup_seconds_count")
    finisher = open_player(browser, stack, "finisher", asset)
    quitter = open_player(browser, stack, "quitter", asset)
    skipper = open_player(browser, stack, "skipper", asset)

    quitter.wait_for("document.querySelector('video').currentTime >= 3", 20, polling_ms=50)
    # Stops at about 30 % and closes the tab: the pagehide beacon carries the last events.
    left_at = quitter.eval("(v => (v.pause(), v.currentTime))(document.querySelector('video'))")
    quitter.close()
    skipper.wait_for("document.querySelector('video').currentTime >= 2", 20)
    skipper.eval("document.querySelector('video').currentTime = 8.5")  # seek ahead
    skipper.wait_for("document.querySelector('video').ended", 20)
    finisher.wait_for("document.querySelector('video').ended", 20)
    finisher.close()
    skipper.close()

    def viewers() -> dict[str, dict]:
        r = server.client.get(f"/api/assets/{asset}/analytics", headers=server.admin)
        r.raise_for_status()
        return {v["subject"]: v for v in r.json()["viewer_completions"]}

    deadline = time.monotonic() + 15
    while len(viewers()) < 3 or viewers()["quitter"]["percent_watched"] is None:
        assert time.monotonic() < deadline, viewers()
        time.sleep(0.5)
    time.sleep(1)  # the last beacons of closed pages
    seen = viewers()
    assert seen["finisher"]["completed"] and seen["finisher"]["percent_watched"] >= 0.95
    assert seen["quitter"]["percent_watched"] == pytest.approx(left_at / 10, abs=0.05), (
        left_at,
        seen["quitter"],
    )
    assert not seen["quitter"]["completed"]
    assert seen["skipper"]["reached_end"] and not seen["skipper"]["completed"], seen["skipper"]
    assert seen["skipper"]["percent_watched"] < 0.6, seen["skipper"]

    report = server.cli("report", "completions", "--asset", asset, "--csv")
    rows = list(csv.DictReader(io.StringIO(report)))
    assert [r["subject"] for r in rows] == ["finisher"], report
    assert rows[0]["completed"] == "yes" and rows[0]["asset_id"] == asset

    analytics = server.client.get(f"/api/assets/{asset}/analytics", headers=server.admin).json()
    assert analytics["sessions"] == 3 and analytics["completed_viewers"] == 1
    assert analytics["startup_p50_s"] is not None and analytics["startup_p50_s"] < 5
    assert analytics["average_bitrate"] and analytics["error_rate"] == 0
    assert metric(server, "vodstack_qoe_startup_seconds_count") >= startups_before + 3
    assert metric(server, "vodstack_beacon_events_total", 'type="heartbeat"') > 0


def test_admin_page_shows_the_pipeline(browser: Chromium, stack: Stack, tmp_path: Path) -> None:
    from tests.e2e.conftest import ADMIN_TOKEN

    page = browser.page("admin")
    page.goto(f"{stack.server.base_url}/admin")
    page.eval(f"document.getElementById('token').value = {json.dumps(ADMIN_TOKEN)}")
    page.click("#login button[type=submit]")
    page.wait_for("document.querySelectorAll('#assets tbody tr').length >= 2", 10)
    rows = page.eval("[...document.querySelectorAll('#assets tbody tr')].map(r => r.innerText)")
    long_row = next(r for r in rows if r.startswith("long"))
    assert "ready" in long_row and "100 %" in long_row and "180p 360p 720p" in long_row
    links = page.eval("[...document.querySelectorAll('#assets a')].map(a => a.pathname)")
    assert f"/watch/{stack.long_id}" in links
    # Upload a master through the page and watch it go through the pipeline.
    master = make_clip_file(tmp_path / "lecture.mp4", seconds=2, size="320x180")
    page.set_input_files("#file", master)
    page.eval("document.getElementById('title').value = 'Lecture from the admin page'")
    page.click("#upload button[type=submit]")
    page.wait_for("document.getElementById('upload-status').textContent.startsWith('Uploaded')", 20)
    page.wait_for(
        "[...document.querySelectorAll('#assets tbody tr')].some(r =>"
        " r.innerText.startsWith('Lecture from the admin page') && r.innerText.includes('ready'))",
        60,
        polling_ms=500,
    )
    print(f"\nscreenshot of the admin page: {page.screenshot(tmp_path / 'admin.png')}")
    page.close()


def test_signing_in_on_the_page(browser: Chromium, stack: Stack) -> None:
    stack.server.subscribe("signin-viewer")
    page = browser.page("signin-viewer")
    page.goto(f"{stack.server.base_url}/watch/{stack.short_id}")
    page.wait_for("window.vodstackPlayer?.phase === 'signed_out'", 10)
    assert page.eval("window.vodstackPlayer.message").startswith("Sign in to watch")
    assert page.eval("document.getElementById('signin').hidden") is False
    page.eval("document.getElementById('subject').value = 'signin-viewer'")
    page.click("#signin button[type=submit]")
    page.wait_for("window.vodstackPlayer.phase === 'ready'", 10)
    assert page.eval("document.getElementById('who').textContent") == "signin-viewer"
    page.click("#play")
    page.wait_for("document.querySelector('video').currentTime > 1", 20)
    page.close()
