"""Embedding (issue 15): ``/embed/{assetId}`` in an iframe of another site, in real Chromium
with third-party cookies blocked (``--test-third-party-cookie-phaseout``) and web storage
throwing in every frame. hls.js, dash.js and Shaka play with path tokens; a protected
(ClearKey) title plays; the token is refreshed through the engines' request hooks; a site
not in ``VODSTACK_EMBED_ORIGINS`` cannot frame the page; the snippet and oEmbed agree."""

from __future__ import annotations

import html
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.browser import BrowserError, Chromium, Page, missing_requirements
from tests.e2e.conftest import LiveServer
from tests.fixtures import media_sources

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TTL_S = 10


class HostSite:
    """Another site's web server (``http://localhost:PORT``: another site than the player's
    ``127.0.0.1``, RFC 6265bis "site for cookies"), serving pages set by the test. A real
    server, not a page fulfilled by the driver: Chromium's Private Network Access refuses to
    let a page of unknown address space frame a loopback one."""

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.pages = pages
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Env:
    server: LiveServer
    clear: str
    protected: str | None
    multi: str  # two audio languages
    partner: HostSite
    stranger: HostSite


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium(flags=("--test-third-party-cookie-phaseout",)) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("embed")
    partner, stranger = HostSite(), HostSite()
    server = LiveServer(
        root / "home",
        {
            "VODSTACK_EMBED_ORIGINS": json.dumps([partner.origin]),
            "VODSTACK_COOKIE_TTL_S": str(TTL_S),
            "VODSTACK_MINT_RATE_PER_MIN": "600",
        },
    )
    server.start()
    try:
        clear = server.upload(make_clip_file(root / "c.mp4", seconds=30, size="320x180"))
        tiny = server.upload(make_clip_file(root / "p.mp4", seconds=4, size="320x180"))
        multi = server.upload(media_sources.multi_language(root / "multi.mkv"))
        ids = [clear.json()["id"], tiny.json()["id"], multi.json()["id"]]
        for asset_id in ids:
            asset = server.wait(asset_id, timeout=240)
            assert asset["status"] == "ready", asset["error"]
        r = server.client.put(
            f"/api/assets/{ids[1]}/protection", headers=server.admin, json={"schemes": ["cenc"]}
        )
        protected = ids[1] if r.status_code == 200 else None
        yield Env(server, ids[0], protected, ids[2], partner, stranger)
    finally:
        server.stop()
        partner.close()
        stranger.close()


def host_page(
    browser: Chromium, env: Env, name: str, asset_id: str, query: str, stranger: bool = False
) -> Page:
    """A page of ``site`` whose only content is the embed snippet of ``asset_id``."""
    server = env.server
    server.subscribe(name)
    snippet = server.client.get(f"/api/assets/{asset_id}", headers=server.admin).json()["embed"]
    src = f"{snippet['url']}?{query}#token={server.token(name)}"
    iframe = snippet["html"].replace(html.escape(snippet["url"]), html.escape(src))
    site = env.stranger if stranger else env.partner
    site.pages[f"/course/{name}"] = f"<!doctype html><title>course</title>{iframe}".encode()
    page = browser.page(name, block_storage=True)
    page.goto(f"{site.origin}/course/{name}")
    return page


def wait_in_frame(page: Page, expr: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = page.frame_eval("/embed/", expr)
        except Exception:  # the frame is still loading
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            state = page.frame_eval("/embed/", "JSON.stringify(window.vodstackPlayer || {})")
            raise AssertionError(f"timed out waiting for {expr}: {state[:2000]}")
        time.sleep(0.2)


def media(page: Page) -> list[dict]:
    return [r for r in page.requests() if "/v1/" in r["url"]]


@pytest.mark.parametrize("engine", ["hls", "dash", "shaka"])
def test_embed_plays_cross_site_without_cookies_or_storage(
    browser: Chromium, env: Env, engine: str
) -> None:
    page = host_page(browser, env, f"embed-{engine}", env.clear, f"engine={engine}&autoplay=1")
    wait_in_frame(page, "document.querySelector('video').currentTime > 3", 60)
    state = json.loads(page.frame_eval("/embed/", "JSON.stringify(window.vodstackPlayer)"))
    assert state["engine"] == engine and state["credential"] == "token"
    assert not [e for e in state["errors"] if e["fatal"]], state["errors"]
    # storage really throws in the frame, and the page went on without it
    assert page.frame_eval(
        "/embed/", "(() => { try { sessionStorage; return 0 } catch { return 1 } })()"
    )
    requests = media(page)
    segments = [r for r in requests if r["url"].endswith(".m4s")]
    assert len(segments) >= 2
    assert all("/t/" in r["url"] for r in requests), [r["url"] for r in requests]
    # third-party cookies are blocked: /play's cookies were never stored for the frame
    assert not any("CloudFront-" in (r["cookie"] or "") for r in requests)
    assert not [c for c in page.cookies(env.server.base_url) if c["name"].startswith("CloudFront")]
    page.close()


def test_token_is_refreshed_through_the_request_hooks(browser: Chromium, env: Env) -> None:
    page = host_page(browser, env, "embed-refresh", env.clear, "engine=hls&autoplay=1&buffer=4")
    wait_in_frame(page, f"document.querySelector('video').currentTime > {TTL_S + 6}", 120)
    state = json.loads(page.frame_eval("/embed/", "JSON.stringify(window.vodstackPlayer)"))
    assert state["refreshes"] >= 1
    assert not [e for e in state["errors"] if (e.get("status") or 0) >= 400], state["errors"]
    tokens = {r["url"].split("/t/")[1].split("/")[0] for r in media(page) if "/t/" in r["url"]}
    assert len(tokens) >= 2, "later requests should carry the refreshed token"
    page.close()


def test_protected_title_plays_through_the_embed(browser: Chromium, env: Env) -> None:
    if env.protected is None:
        pytest.skip("content protection is not part of this build")
    page = host_page(browser, env, "embed-drm", env.protected, "engine=shaka&autoplay=1")
    wait_in_frame(page, "document.querySelector('video').currentTime > 1", 60)
    licences = [r for r in media(page) if r["url"].endswith("/license")]
    assert licences and all("/t/" in r["url"] and r["status"] == 200 for r in licences)
    page.close()


def test_private_window_with_storage_blocked_plays_the_watch_page(
    browser: Chromium, env: Env
) -> None:
    server = env.server
    server.subscribe("private")
    page = browser.page("private", block_storage=True)  # a fresh context: nothing stored
    page.goto(f"{server.base_url}/watch/{env.clear}?autoplay=1#token={server.token('private')}")
    page.wait_for("document.querySelector('video').currentTime > 2", 60)
    errors = [line for line in page.console() if line.startswith("pageerror")]
    assert not errors
    page.close()


def test_a_site_not_listed_cannot_frame_the_player(browser: Chromium, env: Env) -> None:
    page = host_page(browser, env, "stranger", env.clear, "engine=hls", stranger=True)
    time.sleep(2)
    with pytest.raises(BrowserError, match="no frame"):  # the frame never becomes our page
        page.frame_eval("/embed/", "window.vodstackPlayer.phase")
    assert not media(page)
    page.close()


def test_snippet_and_oembed(env: Env) -> None:
    server = env.server
    asset = server.client.get(f"/api/assets/{env.clear}", headers=server.admin).json()
    assert asset["embed"]["url"] == f"{server.base_url}/embed/{env.clear}"
    assert 'allow="autoplay; fullscreen; encrypted-media' in asset["embed"]["html"]
    page = httpx.get(asset["embed"]["url"])
    csp = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {env.partner.origin}" in csp
    o = httpx.get(
        f"{server.base_url}/oembed",
        params={"url": f"{server.base_url}/watch/{env.clear}", "maxwidth": 320},
    )
    assert o.status_code == 200, o.text
    body = o.json()
    assert (body["version"], body["type"], body["width"], body["height"]) == (
        "1.0",
        "video",
        320,
        180,
    )
    assert asset["embed"]["url"] in body["html"]
    for bad in ("https://elsewhere.example/watch/x", f"{server.base_url}/api/assets/{env.clear}"):
        assert httpx.get(f"{server.base_url}/oembed", params={"url": bad}).status_code == 404
    xml = httpx.get(
        f"{server.base_url}/oembed", params={"url": asset["embed"]["url"], "format": "xml"}
    )
    assert xml.status_code == 501


@pytest.mark.parametrize("engine", ["hls", "shaka"])
def test_one_seek_bar_an_audio_menu_and_the_real_length(
    browser: Chromium, env: Env, engine: str
) -> None:
    server = env.server
    server.subscribe(f"polish-{engine}")
    page = browser.page(f"polish-{engine}")
    token = server.token(f"polish-{engine}")
    page.goto(f"{server.base_url}/watch/{env.multi}?engine={engine}&autoplay=1#token={token}")
    page.wait_for("document.querySelector('video').currentTime > 1", 60)
    state = page.player_state()
    assert page.eval("document.querySelector('video').controls") is False  # our bar only
    assert page.eval("document.querySelectorAll('input[type=range], .scrub').length") == 1
    languages = {t["language"][:2] for t in state["audioTracks"]}
    assert languages == {"en", "fr"}, state["audioTracks"]
    assert page.eval("document.getElementById('audio-menu').hidden") is False
    page.eval(
        """(() => { const s = document.getElementById('audio');
        s.value = s.options[1].value; s.dispatchEvent(new Event('change')); })()"""
    )
    asset = server.client.get(f"/api/assets/{env.multi}", headers=server.admin).json()
    assert abs(state["durationShown"] - asset["duration"]) < 0.01
    shown = page.eval("document.getElementById('time').textContent")
    assert shown.endswith(f"/ 0:0{int(asset['duration'])}"), shown
    page.wait_for("document.querySelector('video').currentTime > 2", 30)
    assert not [e for e in page.player_state()["errors"] if e["fatal"]]
    page.close()
