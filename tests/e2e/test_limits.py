"""Limits and expiry on a real server, from outside: the playback rate limit on ``/v1/…``
(the WAF rate rule), the per-subject mint limit of ``POST /play``, the ClearKey licence
server's rate limit, expired and not-yet-valid cookies on the HLS AES-128 key URI and the
licence endpoint, and the optional not-before condition of minted cookies.

One server with small limits; the loopback peer is a trusted proxy, so each test speaks from
its own ``X-Forwarded-For`` address and has token buckets of its own.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from vodstack.entitlement import cfbase64
from vodstack.entitlement.keys import load_private_key
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies
from vodstack.packaging.encryption import b64url

pytestmark = pytest.mark.slow

PLAYBACK_BURST = 6
NOT_BEFORE_S = 30


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("limits")
    server = LiveServer(
        root / "home",
        {
            "VODSTACK_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            "VODSTACK_PLAYBACK_RATE_PER_S": "1",
            "VODSTACK_PLAYBACK_BURST": str(PLAYBACK_BURST),
            "VODSTACK_MINT_RATE_PER_MIN": "8",  # burst 2 per subject and per address
            "VODSTACK_LICENCE_RATE_PER_MIN": "4",  # burst 1 per address
            "VODSTACK_COOKIE_NOT_BEFORE_S": str(NOT_BEFORE_S),
        },
    )
    server.start()
    clip = make_clip_file(root / "clip.mp4", seconds=2, size="160x90")
    asset_id = server.upload(clip).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    r = server.client.put(
        f"/api/assets/{asset_id}/protection",
        headers=server.admin,
        json={"schemes": ["aes-128", "cenc"]},
    )
    assert r.status_code == 200
    yield server, asset_id
    server.stop()


def xff(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def play(server: LiveServer, asset_id: str, subject: str, address: str) -> httpx.Response:
    server.subscribe(subject)
    return server.play(asset_id, server.token(subject), headers=xff(address))


def cookie_header(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return "; ".join(f"{k}={v}" for k, v in response.cookies.items())


def server_cookies(server: LiveServer, asset_id: str, expires: int, not_before: int | None) -> str:
    """Cookies signed with the server's own active key for a chosen time window, as in
    tests/reliability/test_security.py: how a cookie that has expired (or is not yet valid)
    is made without waiting."""
    keys = server.client.get("/api/keys", headers=server.admin).json()
    active = next(k for k in keys if k["status"] == "active")
    pem = (server.home / "secrets" / "keys" / f"signing-{active['key_id']}.pem").read_bytes()
    policy = Policy(f"{server.base_url}/v1/{asset_id}/*", expires, not_before)
    cookies = signed_cookies(policy, active["key_id"], load_private_key(pem))
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def get(server: LiveServer, path: str, cookie: str | None, address: str) -> httpx.Response:
    headers = xff(address) | ({"Cookie": cookie} if cookie else {})
    return httpx.get(server.base_url + path, headers=headers, timeout=30)


def licence(
    server: LiveServer, asset_id: str, kid: bytes, cookie: str, address: str
) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/{asset_id}/license",
        json={"kids": [b64url(kid)], "type": "temporary"},
        headers=xff(address) | {"Cookie": cookie},
        timeout=30,
    )


def key_path(server: LiveServer, asset_id: str, cookie: str, address: str) -> str:
    master = get(server, f"/v1/{asset_id}/index.m3u8", cookie, address).text
    tag = re.search(r"(r1-4s-aes\d+)/", master).group(1)
    return f"/v1/{asset_id}/{tag}/key"


def default_kid(server: LiveServer, asset_id: str, cookie: str, address: str) -> bytes:
    mpd = get(server, f"/v1/{asset_id}/index.mpd", cookie, address).text
    return uuid.UUID(re.search(r'cenc:default_KID="([0-9a-f-]+)"', mpd).group(1)).bytes


def metric(server: LiveServer, name: str, labels: str) -> float:
    text = server.metrics()
    match = re.search(rf"^{re.escape(name + '{' + labels + '}')} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def events(server: LiveServer, asset_id: str, prefix: str) -> list[dict[str, Any]]:
    return json.loads(server.cli("events", "--asset", asset_id, "--type", prefix, "--json"))


# ------------------------------------------------------------------------- playback rate


def test_playback_rate_limit_answers_429_with_retry_after(env) -> None:
    server, a = env
    cookie = cookie_header(play(server, a, "pb-viewer", "198.51.100.10"))
    limited_before = metric(server, "vodstack_rate_limited_total", 'scope="playback"')
    statuses = [
        get(server, f"/v1/{a}/index.m3u8", cookie, "198.51.100.11").status_code
        for _ in range(PLAYBACK_BURST + 4)
    ]
    # the burst passes, then the bucket (1 request/s) is empty
    assert statuses[:PLAYBACK_BURST] == [200] * PLAYBACK_BURST
    assert statuses[-1] == 429
    limited = get(server, f"/v1/{a}/index.m3u8", cookie, "198.51.100.11")
    assert limited.status_code == 429
    wait = int(limited.headers["retry-after"])
    assert 1 <= wait <= 2
    assert "error" in limited.json()
    # the rule runs before any signature work: even a cookie-less request is just 429
    assert get(server, f"/v1/{a}/index.m3u8", None, "198.51.100.11").status_code == 429
    assert metric(server, "vodstack_rate_limited_total", 'scope="playback"') > limited_before
    # per address: the same viewer from another address, and another viewer, still play
    assert get(server, f"/v1/{a}/index.m3u8", cookie, "198.51.100.12").status_code == 200
    assert get(server, f"/v1/{a}/index.m3u8", None, "198.51.100.13").status_code == 403
    # after Retry-After the bucket has refilled
    time.sleep(wait + 0.2)
    assert get(server, f"/v1/{a}/index.m3u8", cookie, "198.51.100.11").status_code == 200


# ------------------------------------------------------------------------- mint per subject


def test_mint_is_limited_per_subject_across_addresses(env) -> None:
    server, a = env
    server.subscribe("greedy")
    token = server.token("greedy")
    # every request from a fresh address: the per-address bucket never empties, so the 429
    # below is the per-subject limit (burst 2 at 8 per minute)
    first = server.play(a, token, headers=xff("203.0.113.1"))
    second = server.play(a, token, headers=xff("203.0.113.2"))
    assert (first.status_code, second.status_code) == (200, 200)
    third = server.play(a, token, headers=xff("203.0.113.3"))
    assert third.status_code == 429
    assert 1 <= int(third.headers["retry-after"]) <= 8
    assert "viewer" in third.json()["error"]
    assert "set-cookie" not in third.headers  # no grant while limited
    assert "rule" not in third.json()
    # another subject is not affected (from a fresh address too)
    assert play(server, a, "patient", "203.0.113.4").status_code == 200
    # the grants the limited subject already holds keep playing: minting is limited, not
    # playback
    held = get(server, f"/v1/{a}/index.m3u8", cookie_header(first), "203.0.113.5")
    assert held.status_code == 200


# ------------------------------------------------------------------------- licence rate


def test_licence_rate_limit_answers_429(env) -> None:
    server, a = env
    cookie = cookie_header(play(server, a, "lic-viewer", "192.0.2.10"))
    kid = default_kid(server, a, cookie, "192.0.2.10")
    issued_before = len(events(server, a, "licence."))
    ok = licence(server, a, kid, cookie, "192.0.2.11")
    assert ok.status_code == 200
    assert ok.json()["keys"][0]["kid"] == b64url(kid)
    limited = licence(server, a, kid, cookie, "192.0.2.11")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "keys" not in limited.json()
    # per address: the same cookie from another address gets its licence
    assert licence(server, a, kid, cookie, "192.0.2.12").status_code == 200
    # the refused request issued nothing: two licences logged, not three
    assert len(events(server, a, "licence.")) - issued_before == 2


# ------------------------------------------------------------------------- expiry on keys


@pytest.mark.parametrize(
    ("window", "reason"),
    [((-1, None), "expired"), ((120, 60), "not_yet_valid")],
    ids=["expired", "not-yet-valid"],
)
def test_cookie_outside_its_window_gets_no_key_and_no_licence(
    env, window: tuple[int, int | None], reason: str
) -> None:
    server, a = env
    now = int(time.time())
    base = 30 if reason == "expired" else 40
    address, other, third = (f"192.0.2.{base + n}" for n in range(3))
    fresh = server_cookies(server, a, now + 60, None)
    path = key_path(server, a, fresh, address)
    kid = default_kid(server, a, fresh, address)
    # the control: a cookie inside its window gets the AES-128 key and the licence
    key = get(server, path, fresh, address)
    assert key.status_code == 200
    assert len(key.content) == 16
    assert licence(server, a, kid, fresh, address).status_code == 200

    expires, not_before = window
    stale = server_cookies(
        server, a, now + expires, None if not_before is None else now + not_before
    )
    denied_before = metric(server, "vodstack_gate_denied_total", f'reason="{reason}"')
    refused_key = get(server, path, stale, other)
    assert refused_key.status_code == 403
    assert key.content not in refused_key.content
    refused_licence = licence(server, a, kid, stale, third)
    assert refused_licence.status_code == 403
    assert "keys" not in refused_licence.json()
    assert "rule" not in refused_licence.json()  # gate reasons are not told to forgers
    assert metric(server, "vodstack_gate_denied_total", f'reason="{reason}"') == denied_before + 2


# ------------------------------------------------------------------------- not-before


def test_minted_cookies_carry_not_before_and_play(env) -> None:
    server, a = env
    before = int(time.time())
    r = play(server, a, "nb-viewer", "192.0.2.60")
    after = int(time.time())
    policy = json.loads(cfbase64.decode(r.cookies["CloudFront-Policy"]))
    condition = policy["Statement"][0]["Condition"]
    not_before = condition["DateGreaterThan"]["AWS:EpochTime"]
    assert before - NOT_BEFORE_S <= not_before <= after - NOT_BEFORE_S
    assert list(condition) == ["DateLessThan", "DateGreaterThan"]  # botocore's order
    assert condition["DateLessThan"]["AWS:EpochTime"] == r.json()["expires"]
    assert get(server, f"/v1/{a}/index.m3u8", cookie_header(r), "192.0.2.60").status_code == 200
