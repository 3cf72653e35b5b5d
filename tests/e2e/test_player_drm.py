"""Protected playback in a real browser (Debian Chromium, headless, W3C EME ClearKey) against a
live `vodstack serve`: Shaka Player and dash.js play `cenc` DASH, dash.js `cbcs` DASH, hls.js
AES-128 and `cbcs` HLS; every key request goes with the viewer's signed cookies; a viewer
without entitlement gets no key and no picture — even when handed the encrypted stream, its
playback grant and cookies of another asset; no key appears in a manifest or in the page."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.browser import Chromium, Page, missing_requirements
from tests.e2e.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLAN = "premium"  # the only plan that grants the dual-protected asset
CF_COOKIES = ("CloudFront-Policy=", "CloudFront-Signature=", "CloudFront-Key-Pair-Id=")
CLEARKEY_SCHEME = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e"
W3C_COMMON_SYSTEM_ID = uuid.UUID("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_forms(key: bytes) -> set[str]:
    """How a 16-byte key could be written down: hex, base64 and base64url."""
    std = base64.b64encode(key).decode()
    return {key.hex(), key.hex().upper(), std, std.rstrip("="), b64url(key)}


@dataclass
class Drm:
    server: LiveServer
    dual_id: str  # HLS AES-128 + DASH cenc; only plan "premium" may play it
    cbcs_id: str  # cbcs for HLS (SAMPLE-AES) and DASH; any plan
    keys: dict[str, bytes] = field(default_factory=dict)  # scheme → content key

    def entitled(self, asset_id: str, subject: str) -> tuple[httpx.Client, dict]:
        """An entitled viewer's cookie jar and /play grant (outside the browser)."""
        self.server.subscribe(subject, plan=PLAN)
        client = httpx.Client(base_url=self.server.base_url, timeout=30)
        r = client.post(
            f"/play/{asset_id}", headers={"Authorization": f"Bearer {self.server.token(subject)}"}
        )
        r.raise_for_status()
        return client, r.json()

    def licence_events(self, asset_id: str) -> int:
        out = self.server.cli("events", "--asset", asset_id, "--type", "licence.issued", "--json")
        return len(json.loads(out))


def default_kid(mpd: str) -> bytes:
    match = re.search(r'cenc:default_KID="([0-9a-fA-F-]+)"', mpd)
    assert match, mpd
    return uuid.UUID(match.group(1)).bytes


def licence_key(client: httpx.Client, license_url: str, kid: bytes) -> bytes:
    r = client.post(license_url, json={"kids": [b64url(kid)], "type": "temporary"})
    r.raise_for_status()
    (jwk,) = r.json()["keys"]
    return b64url_decode(jwk["k"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def drm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drm]:
    home = tmp_path_factory.mktemp("player-drm")
    clip = make_clip_file(home / "clip.mp4", seconds=6, size="320x180")
    server = LiveServer(home / "home", {"VODSTACK_MINT_RATE_PER_MIN": "600"})
    server.start()
    try:
        dual_id = server.upload(clip, title="dual").json()["id"]
        cbcs_id = server.upload(clip, title="cbcs").json()["id"]
        for asset_id in (dual_id, cbcs_id):
            assert server.wait(asset_id, timeout=240)["status"] == "ready"
        for asset_id, schemes in ((dual_id, ["aes-128", "cenc"]), (cbcs_id, ["cbcs"])):
            r = server.client.put(
                f"/api/assets/{asset_id}/protection",
                headers=server.admin,
                json={"schemes": schemes},
            )
            if r.status_code in (404, 405):
                pytest.skip("content protection is not part of this build")
            r.raise_for_status()
        server.client.put(
            f"/api/assets/{dual_id}/access", headers=server.admin, json={"plans": [PLAN]}
        ).raise_for_status()
        stack = Drm(server, dual_id, cbcs_id)
        # The content keys, as an entitled client gets them, to look for them where they must
        # never be. cenc/cbcs from the licence server (KID from the MPD), AES-128 from its URI.
        for asset_id, scheme in ((dual_id, "cenc"), (cbcs_id, "cbcs")):
            client, grant = stack.entitled(asset_id, f"key-reader-{scheme}")
            kid = default_kid(client.get(grant["dash"]).text)
            stack.keys[scheme] = licence_key(client, grant["drm"]["license"], kid)
        client, grant = stack.entitled(dual_id, "key-reader-aes")
        variant = next(
            line for line in client.get(grant["hls"]).text.splitlines() if line.endswith(".m3u8")
        )
        variant_url = str(httpx.URL(grant["hls"]).join(variant))
        key_uri = re.search(r'METHOD=AES-128,URI="([^"]+)"', client.get(variant_url).text)
        assert key_uri, "no AES-128 key in the media playlist"
        stack.keys["aes-128"] = client.get(
            str(httpx.URL(variant_url).join(key_uri.group(1)))
        ).content
        assert {len(k) for k in stack.keys.values()} == {16}
        yield stack
    finally:
        server.stop()


def open_player(browser: Chromium, drm: Drm, subject: str, asset_id: str, engine: str) -> Page:
    drm.server.subscribe(subject, plan=PLAN)
    token = drm.server.token(subject)
    page = browser.page(subject)
    page.goto(f"{drm.server.base_url}/watch/{asset_id}?engine={engine}#token={token}")
    page.wait_for("window.vodstackPlayer?.phase === 'ready'", 15)
    page.click("#play")
    return page


def v1_requests(page: Page, asset_id: str) -> list[dict]:
    return [r for r in page.requests() if f"/v1/{asset_id}/" in r["url"]]


def assert_no_key_in_page(page: Page, drm: Drm) -> None:
    """Neither the page's HTML, the scripts it ran, its player state nor its console hold a
    content key in any spelling."""
    texts = {
        "html": page.eval("document.documentElement.outerHTML"),
        "state": json.dumps(page.player_state()),
        "console": "\n".join(page.console()),
    }
    scripts = {r["url"] for r in page.requests() if r["type"] == "script"}
    assert scripts, "the page loaded no script?"
    for url in scripts:
        texts[url] = drm.server.client.get(url).text
    for scheme, key in drm.keys.items():
        for form in key_forms(key):
            leaked = [where for where, text in texts.items() if form in text]
            assert not leaked, f"the {scheme} key ({form}) appears in {leaked}"


@pytest.mark.parametrize(
    ("engine", "asset", "scheme"),
    [
        ("shaka", "dual", "cenc"),
        ("dash", "dual", "cenc"),
        ("dash", "cbcs", "cbcs"),
        ("hls", "dual", "aes-128"),
        ("hls", "cbcs", "cbcs"),
    ],
)
def test_engine_plays_protected_stream_with_keys_behind_the_cookies(
    browser: Chromium, drm: Drm, engine: str, asset: str, scheme: str
) -> None:
    asset_id = drm.dual_id if asset == "dual" else drm.cbcs_id
    page = open_player(browser, drm, f"drm-{engine}-{scheme}", asset_id, engine)
    page.wait_for("document.querySelector('video').currentTime > 3", 30)
    state = page.player_state()
    assert state["engine"] == engine
    assert state["decoded"] > 0 and state["mediaError"] is None, state
    bad = [e for e in state["errors"] if e["fatal"] or (e.get("status") or 0) >= 400]
    assert bad == [], state["errors"]

    requests = v1_requests(page, asset_id)
    # AES-128: hls.js fetches the key URI ({tag}/key) like a segment. cenc/cbcs: the browser's
    # ClearKey CDM asks for the KID and the player POSTs that to the licence server (hls.js
    # with cbcs too: it reads the SAMPLE-AES keys as ClearKey and never fetches the key URI).
    endpoint, other = ("/key", "/license") if scheme == "aes-128" else ("/license", "/key")
    keys = [r for r in requests if r["url"].endswith(endpoint)]
    assert keys, [r["url"] for r in requests]
    for r in keys:
        assert r["method"] == ("GET" if scheme == "aes-128" else "POST"), r
        assert r["status"] == 200, r
        assert all(name in (r["cookie"] or "") for name in CF_COOKIES), r
    assert not [r for r in requests if r["url"].endswith(other)], [r["url"] for r in requests]
    media = [r for r in requests if r["url"].endswith((".mpd", ".m3u8", ".mp4", ".m4s"))]
    assert any(r["url"].endswith(".m4s") for r in media)
    answered = [r for r in media if r["status"] is not None]
    assert all(r["status"] in (200, 206) for r in answered), [
        (r["url"], r["status"]) for r in media
    ]
    first = {}  # a repeated request can be answered from the browser's cache, with no cookie
    for r in media:
        first.setdefault(r["url"], r)
    assert all(all(n in (r["cookie"] or "") for n in CF_COOKIES) for r in first.values()), [
        (r["url"], r["cookie"]) for r in media
    ]
    assert_no_key_in_page(page, drm)
    page.close()


def test_manifests_signal_clearkey_and_carry_no_key(drm: Drm) -> None:
    for asset_id, scheme in ((drm.dual_id, "cenc"), (drm.cbcs_id, "cbcs")):
        client, grant = drm.entitled(asset_id, f"manifest-reader-{scheme}")
        mpd = client.get(grant["dash"]).text
        assert f'value="{scheme}"' in mpd and default_kid(mpd)
        assert CLEARKEY_SCHEME in mpd and f">{grant['drm']['license']}</dashif:Laurl>" in mpd
        # The W3C common PSSH is no key system: in the MPD dash.js takes it for a ClearKey
        # system and fails (its error 113). It stays in the init segments, for the CDM.
        assert str(W3C_COMMON_SYSTEM_ID) not in mpd
        init = re.search(r'initialization="([^"]+)"', mpd).group(1)
        rep = re.search(r'<Representation id="([^"]+)"', mpd).group(1)
        init_url = str(httpx.URL(grant["dash"]).join(init.replace("$RepresentationID$", rep)))
        assert W3C_COMMON_SYSTEM_ID.bytes in client.get(init_url).content
        texts = [mpd]
        if grant["hls"]:
            master = client.get(grant["hls"]).text
            texts.append(master)
            for line in master.splitlines():
                uri = re.search(r'URI="([^"]+\.m3u8)"', line)
                ref = uri.group(1) if uri else line if line.endswith(".m3u8") else None
                if ref:
                    texts.append(client.get(str(httpx.URL(grant["hls"]).join(ref))).text)
        for key in drm.keys.values():
            for form in key_forms(key):
                assert not any(form in text for text in texts), form


def test_viewer_without_entitlement_gets_no_key_and_no_picture(browser: Chromium, drm: Drm) -> None:
    server, asset_id = drm.server, drm.dual_id
    server.subscribe("basic-viewer", plan="basic")  # a plan, but not one this title allows
    issued = drm.licence_events(asset_id)
    page = browser.page("basic-viewer")
    token = server.token("basic-viewer")
    page.goto(f"{server.base_url}/watch/{asset_id}?engine=shaka#token={token}")
    page.wait_for("window.vodstackPlayer?.message", 15)
    state = page.player_state()
    assert state["rule"] == "subscription", state
    assert state["message"].startswith("You are not entitled to watch this video."), state
    assert page.eval("document.getElementById('play').hidden") is True
    time.sleep(1)
    assert v1_requests(page, asset_id) == []  # no manifest, no segment, no key, no licence
    assert page.player_state()["decoded"] == 0
    assert drm.licence_events(asset_id) == issued
    page.close()


@pytest.mark.parametrize("engine", ["shaka", "dash"])
def test_leaked_stream_with_cookies_of_another_asset_gets_no_licence(
    browser: Chromium, drm: Drm, engine: str
) -> None:
    """The worst case for the licence server: a viewer who may not watch the title is handed
    everything but the key — an entitled viewer's playback grant, the encrypted manifest and
    segments — and replays the signed cookies of a title they may watch on this one's path.
    Only the licence server stands between them and the picture: 403, so no frame."""
    server, asset_id = drm.server, drm.dual_id
    subject = f"leech-{engine}"
    server.subscribe(subject, plan="basic")
    token = server.token(subject)
    # Cookies the leech rightly holds, for the cbcs asset (any plan).
    own = httpx.Client(base_url=server.base_url, timeout=30)
    own.post(
        f"/play/{drm.cbcs_id}", headers={"Authorization": f"Bearer {token}"}
    ).raise_for_status()
    own_cookies = {c.name: c.value for c in own.cookies.jar}
    assert set(own_cookies) >= {name.rstrip("=") for name in CF_COOKIES}
    # What an entitled viewer passes on: the grant and the bytes their cookies fetch.
    insider, grant = drm.entitled(asset_id, f"insider-{engine}")
    insider_cookie = "; ".join(f"{c.name}={c.value}" for c in insider.cookies.jar)

    issued = drm.licence_events(asset_id)
    page = browser.page(subject)
    page.route(
        rf"/play/{asset_id}$",
        method="POST",
        fulfill={"status": 200, "contentType": "application/json", "body": json.dumps(grant)},
    )
    page.route(rf"/v1/{asset_id}/(?!license$)", cookie=insider_cookie)
    page.add_cookies(
        [
            {"name": n, "value": v, "domain": "127.0.0.1", "path": f"/v1/{asset_id}/"}
            for n, v in own_cookies.items()
        ]
    )
    page.goto(f"{server.base_url}/watch/{asset_id}?engine={engine}#token={token}")
    page.wait_for("window.vodstackPlayer?.phase === 'ready'", 15)
    page.click("#play")
    page.wait_for("window.vodstackPlayer.phase === 'error' && !!window.vodstackPlayer.message", 30)
    time.sleep(1)  # anything still in flight
    state = page.player_state()
    # No frame decoded; the playhead never moved (Shaka may nudge it 0.1 s into the buffer).
    assert state["decoded"] == 0 and state["currentTime"] <= 0.2, state
    assert state["messageKind"] == "drm_denied", state
    assert state["message"].startswith("The key to this protected video was refused."), state
    assert any(e["fatal"] for e in state["errors"]), state

    requests = v1_requests(page, asset_id)
    licences = [r for r in requests if r["url"].endswith("/license")]
    assert licences, [r["url"] for r in requests]
    for r in licences:  # sent with the other asset's cookies, and refused
        assert r["status"] == 403, r
        assert f"CloudFront-Policy={own_cookies['CloudFront-Policy']}" in r["cookie"], r
    segments = [r for r in requests if r["url"].endswith(".m4s")]
    assert segments and all(r["status"] in (200, 206) for r in segments)  # the bytes were there
    assert drm.licence_events(asset_id) == issued
    assert_no_key_in_page(page, drm)
    page.close()
