"""Cookie-less playback: the grant as a path token ``/v1/{assetId}/t/{token}/…`` (issue 15).

Through a real server process: relative URIs carry the token (checked with the m3u8 parser
and the MPD), two viewers share one origin fetch, the token never reaches the access log,
and every forged, stretched, moved or retired token is a 403 that reaches no origin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import m3u8
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.e2e.test_edge import metric
from tests.reliability import rawhttp
from vodstack.entitlement import cfbase64, pathtoken
from vodstack.entitlement.keys import load_private_key
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("path-token")
    log = root / "access.log"
    server = LiveServer(root / "home", {"VODSTACK_ACCESS_LOG": str(log)})
    server.start()
    try:
        ids = []
        for name, seconds in (("a", 9), ("b", 2)):
            clip = make_clip_file(root / f"{name}.mp4", seconds=seconds, size="320x180")
            asset = server.wait(server.upload(clip).json()["id"])
            assert asset["status"] == "ready"
            ids.append(asset["id"])
        yield {"server": server, "a": ids[0], "b": ids[1], "log": log}
    finally:
        server.stop()


def _token_of(play: dict[str, Any]) -> str:
    base = play["token"]["base"]
    return base.rsplit("/", 1)[1]


def _origin(server: LiveServer) -> float:
    text = server.client.get("/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("vodstack_origin_requests_total{")
    )


def _signer(server: LiveServer, key_id: str):  # type: ignore[no-untyped-def]
    pem = (server.home / "secrets" / "keys" / f"signing-{key_id}.pem").read_bytes()
    return load_private_key(pem)


def test_play_returns_token_urls_and_every_relative_uri_carries_the_token(live: dict) -> None:
    server, a = live["server"], live["a"]
    play = server.viewer(a, "tok-1").play
    token = play["token"]
    assert token["hls"] == f"{token['base']}/index.m3u8"
    assert token["dash"] == f"{token['base']}/index.mpd"
    assert token["expires"] == play["expires"]
    assert play["hls"].endswith(f"/v1/{a}/index.m3u8")  # the cookie URLs are unchanged
    bare = httpx.Client(timeout=30)  # no cookie jar in use: nothing but the URL
    master = bare.get(token["hls"])
    assert master.status_code == 200, master.text
    variant = m3u8.loads(master.text, uri=token["hls"])
    fetched = 0
    for playlist in variant.playlists:
        url = urljoin(token["hls"], playlist.uri)
        assert f"/t/{_token_of(play)}/" in url
        media = m3u8.loads(bare.get(url).text)
        init = urljoin(url, media.segment_map[0].uri)
        seg = urljoin(url, media.segments[0].uri)
        for target in (init, seg):
            assert f"/t/{_token_of(play)}/" in target
            assert bare.get(target).status_code == 200
            fetched += 1
    assert fetched >= 2
    mpd = bare.get(token["dash"])
    assert mpd.status_code == 200 and "<BaseURL>http" not in mpd.text
    if token["storyboard"]:
        vtt = bare.get(token["storyboard"])
        assert vtt.status_code == 200
        sheet = next(line for line in vtt.text.splitlines() if "#xywh=" in line)
        assert bare.get(urljoin(token["storyboard"], sheet.split("#")[0])).status_code == 200


def test_two_viewers_tokens_share_one_origin_fetch(live: dict) -> None:
    server, a = live["server"], live["a"]
    one = server.viewer(a, "share-1").play
    # a grant names no viewer: two minted in the same second are the same token
    time.sleep(1.1)
    two = server.viewer(a, "share-2").play
    assert _token_of(one) != _token_of(two)
    master = m3u8.loads(httpx.get(one["token"]["hls"]).text)
    media_url = urljoin(one["token"]["hls"], master.playlists[0].uri)
    media = m3u8.loads(httpx.get(media_url).text)
    last = media.segments[-1].uri  # not fetched by the test above
    assert len(media.segments) > 1
    before = metric(server, "vodstack_origin_requests_total", 'kind="segment"')
    bodies = []
    for play in (one, two):
        playlist = urljoin(play["token"]["hls"], master.playlists[0].uri)
        r = httpx.get(urljoin(playlist, last))
        assert r.status_code == 200
        bodies.append(r.content)
    assert bodies[0] == bodies[1]
    assert metric(server, "vodstack_origin_requests_total", 'kind="segment"') == before + 1


def test_the_token_never_reaches_the_access_log(live: dict) -> None:
    server, a = live["server"], live["a"]
    play = server.viewer(a, "log-1").play
    assert httpx.get(play["token"]["hls"]).status_code == 200
    time.sleep(0.2)
    text = live["log"].read_text()
    assert f"/v1/{a}/t/-/index.m3u8" in text
    assert _token_of(play) not in text
    assert cfbase64.decode(_token_of(play).split(".")[2])  # a real signature was redacted


def _forgeries(server: LiveServer, a: str, b: str, play: dict) -> dict[str, str]:
    token = _token_of(play)
    key_id, policy, signature = token.split(".")
    base, now = server.base_url, int(time.time())
    key = _signer(server, key_id)

    def own(p: Policy) -> str:
        return pathtoken.encode(signed_cookies(p, key_id, key))

    flipped = bytearray(cfbase64.decode(signature))
    flipped[10] ^= 1
    scope = f"{base}/v1/{a}/*"
    return {
        "tampered signature": f"/v1/{a}/t/{key_id}.{policy}.{cfbase64.encode(bytes(flipped))}/"
        "index.m3u8",
        "truncated": f"/v1/{a}/t/{token[:-20]}/index.m3u8",
        "two fields": f"/v1/{a}/t/{key_id}.{policy}/index.m3u8",
        "empty token": f"/v1/{a}/t//index.m3u8",
        "garbage": f"/v1/{a}/t/%00%ff/index.m3u8",
        "expired yesterday": f"/v1/{a}/t/{own(Policy(scope, now - 86400))}/index.m3u8",
        "not yet valid": f"/v1/{a}/t/{own(Policy(scope, now + 600, now + 300))}/index.m3u8",
        "another address": f"/v1/{a}/t/{own(Policy(scope, now + 600, None, '203.0.113.7'))}"
        "/index.m3u8",
        "token of A on asset B": f"/v1/{b}/t/{token}/index.m3u8",
        "unknown key id": f"/v1/{a}/t/KATTACKER0001.{policy}.{signature}/index.m3u8",
        "token in the query": f"/v1/{a}/index.m3u8?t={token}",
        "token in a query named token": f"/v1/{a}/index.m3u8?token={token}",
        "dot segments after the token": f"/v1/{a}/t/{token}/../../{b}/index.m3u8",
        "encoded dots after the token": f"/v1/{a}/t/{token}/%2e%2e/%2e%2e/{b}/index.m3u8",
        "encoded slash in the token segment": f"/v1/{a}/t/{token}%2Findex.m3u8",
        "encoded t": f"/v1/{a}/%74/{token}/index.m3u8",
        "two token segments": f"/v1/{a}/t/{token}/t/{token}/index.m3u8",
        "token plus signed-URL query": f"/v1/{a}/t/{token}/index.m3u8?Expires=1&Signature=x"
        f"&Key-Pair-Id={key_id}",
        "token and nothing after it": f"/v1/{a}/t/{token}",
    }


def test_forged_and_misplaced_tokens_are_refused_before_the_origin(live: dict) -> None:
    server, a, b = live["server"], live["a"], live["b"]
    play = server.viewer(a, "forger").play
    cases = _forgeries(server, a, b, play)
    before = _origin(server)
    failures = []
    for name, target in cases.items():
        r = rawhttp.request(server.port, "GET", target, [])
        if r.status != 403:
            failures.append((name, r.status, r.body[:120]))
    assert not failures
    assert _origin(server) == before
    assert server.client.get("/healthz").status_code == 200
    # the real token still plays
    assert httpx.get(play["token"]["hls"]).status_code == 200


def test_rotation_keeps_tokens_valid_and_retirement_refuses_them(live: dict) -> None:
    server, a = live["server"], live["a"]
    play = server.viewer(a, "rotate").play
    old_key = _token_of(play).split(".")[0]
    rotated = server.client.post("/api/keys/rotate", headers=server.admin)
    assert rotated.status_code == 200, rotated.text
    assert httpx.get(play["token"]["hls"]).status_code == 200  # rotation: old key verifies
    fresh = server.viewer(a, "rotate-2").play
    assert _token_of(fresh).split(".")[0] == rotated.json()["key_id"]
    retired = server.client.post(f"/api/keys/{old_key}/retire", headers=server.admin)
    assert retired.status_code == 200, retired.text
    assert httpx.get(play["token"]["hls"]).status_code == 403
    assert httpx.get(fresh["token"]["hls"]).status_code == 200


def _eventually(check, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_public_policy_plays_without_a_grant_and_switches_back(live: dict) -> None:
    server, a, b = live["server"], live["a"], live["b"]
    manifest = f"{server.base_url}/v1/{b}/index.m3u8"
    assert httpx.get(manifest).status_code == 403
    r = server.client.put(
        f"/api/assets/{b}/playback", headers=server.admin, json={"policy": "public"}
    )
    assert r.status_code == 200 and r.json()["playback_policy"] == "public"
    assert httpx.get(manifest).status_code == 200  # at once: this server made the switch
    # a public title's /play needs no viewer token and hands out its plain URLs
    play = httpx.post(f"{server.base_url}/play/{b}")
    assert play.status_code == 200, play.text
    assert play.json()["hls"] == manifest and play.json()["token"]["hls"] == manifest
    media = m3u8.loads(httpx.get(manifest).text)
    playlist = urljoin(manifest, media.playlists[0].uri)
    assert httpx.get(playlist).status_code == 200
    # other titles are not affected; a bad policy is refused with a reason
    assert httpx.get(f"{server.base_url}/v1/{a}/index.m3u8").status_code == 403
    bad = server.client.put(
        f"/api/assets/{b}/playback", headers=server.admin, json={"policy": "open"}
    )
    assert bad.status_code == 422
    # back to signed from the CLI: refused again within about a second
    assert "playback signed" in server.cli("assets", "policy", b, "signed")
    assert _eventually(lambda: httpx.get(manifest).status_code == 403)
    assert httpx.post(f"{server.base_url}/play/{b}").status_code == 401


def test_signed_pictures_open_pictures_only(live: dict) -> None:
    server, a, b = live["server"], live["a"], live["b"]
    listed = server.client.get("/api/assets", headers=server.admin).json()
    one = next(x for x in listed if x["id"] == a)
    pictures = server.client.get(f"/api/assets/{a}", headers=server.admin).json()["pictures"]
    assert pictures == one["pictures"]  # same step: the same URLs (cacheable)
    assert pictures["expires"] > time.time() + 3600  # far longer than a playback grant
    bare = httpx.Client(timeout=30)
    for name in ("poster", "thumbnail", "storyboard"):
        if pictures[name]:
            r = bare.get(pictures[name])
            assert r.status_code == 200, (name, r.status_code, r.text[:200])
    assert bare.get(f"{pictures['thumbnail']}?time=1&width=160").status_code == 200
    if pictures["storyboard"]:
        vtt = bare.get(pictures["storyboard"]).text
        sheet = next(line for line in vtt.splitlines() if "#xywh=" in line).split("#")[0]
        assert bare.get(urljoin(pictures["storyboard"], sheet)).status_code == 200
    base = pictures["thumbnail"].rsplit("/", 1)[0]
    token = base.rsplit("/", 1)[1]
    before = _origin(server)
    refused = [
        f"{base}/index.m3u8",  # media: not a picture
        f"{base}/r1-4s/v180/init.mp4",
        f"{server.base_url}/v1/{a}/t/{token}/index.m3u8",  # moved into the media segment
        f"{server.base_url}/v1/{a}/t/{token}/poster.jpg",
        f"{server.base_url}/v1/{b}/p/{token}/poster.jpg",  # another asset
    ]
    for url in refused:
        assert bare.get(url).status_code == 403, url
    assert _origin(server) == before
    # a playback grant opens the pictures too (one credential for the player's needs)
    play = server.viewer(a, "pictures").play
    assert (
        bare.get(f"{play['token']['base'].replace('/t/', '/p/')}/thumbnail.jpg").status_code == 200
    )
    assert _token_of(play) not in live["log"].read_text()
