"""Security properties of a running server, checked from outside with raw requests.

Path traversal in every path parameter of the OpenAPI document (and the static mount), header
injection, oversized headers and cookies, hostile Range headers, replay of a cookie after its
policy expired, CORS, every admin route without a valid token, and secrets absent from the
logs of a full run (upload, transcode, playback, protection, key rotation, an edge in front of
an origin).
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import ADMIN_TOKEN, LiveServer, free_port
from tests.reliability import rawhttp
from tests.reliability.attacks import TRAVERSALS as attack_traversals
from tests.secrets_scan import leaks, secret_forms, secrets_of
from vodstack.entitlement.keys import load_private_key
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies
from vodstack.packaging.encryption import b64url
from vodstack.web.auth import is_admin_path

pytestmark = pytest.mark.slow

#: The path tricks of the attack suite (tests/reliability/attacks.py), plus a rooted path.
TRAVERSALS = [*attack_traversals, "/etc/passwd"]
SAMPLE_VALUES = {
    "asset_id": None,  # the fixture's asset
    "subscription_id": "1",
    "licence_id": "1",
    "key_id": "K0000000000001",
    "path": "index.m3u8",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("security")
    server = LiveServer(
        root / "home",
        {
            "VODSTACK_ACCESS_LOG": str(root / "home" / "access.log"),
            "VODSTACK_LOG_LEVEL": "DEBUG",
        },
    )
    server.start()
    clip = make_clip_file(root / "clip.mp4", seconds=2, size="320x180")
    asset_id = server.upload(clip).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    viewer = server.viewer(asset_id, "sec-viewer")
    cookie = "; ".join(f"{k}={v}" for k, v in viewer.client.cookies.items())
    openapi = server.client.get("/openapi.json", headers=server.admin).json()
    yield {"server": server, "asset": asset_id, "cookie": cookie, "openapi": openapi, "root": root}
    server.stop()


def _operations(openapi: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, op)
        for path, ops in openapi["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "delete", "patch", "head")
    ]


def _fill(path: str, asset_id: str, override: dict[str, str] | None = None) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        if override and name in override:
            return override[name]
        return asset_id if name == "asset_id" else SAMPLE_VALUES.get(name, "x")

    return re.sub(r"\{([^}]+)\}", value, path)


def _alive(server: LiveServer) -> None:
    assert server.client.get("/healthz").status_code == 200


# ----------------------------------------------------------------------------- traversal


def test_path_traversal_in_every_path_parameter(env: dict) -> None:
    server: LiveServer = env["server"]
    secret = ADMIN_TOKEN.encode()
    checked = 0
    templates = [(m, p, op) for m, p, op in _operations(env["openapi"]) if "{" in p]
    templates.append(("GET", "/static/{path}", {}))
    for method, template, _ in templates:
        for name in re.findall(r"\{([^}:]+)", template):
            for payload in TRAVERSALS:
                target = _fill(template, env["asset"], {name: payload})
                r = rawhttp.request(
                    server.port,
                    method,
                    target,
                    [
                        ("Authorization", f"Bearer {ADMIN_TOKEN}"),
                        ("Cookie", env["cookie"]),
                        ("Content-Type", "application/json"),
                    ],
                    body=b"{}" if method in ("POST", "PUT") else b"",
                )
                checked += 1
                where = f"{method} {target}"
                assert r.status == 0 or r.status < 500, f"{where} → {r.status}"
                assert b"root:x:0:0" not in r.body, where
                assert secret not in r.body, where
                assert b"PRIVATE KEY" not in r.body, where
                if "etc" in payload or "secrets" in payload:
                    assert r.status != 200 or method not in ("GET", "HEAD"), where
    assert checked > 200
    _alive(server)


# ----------------------------------------------------------------------------- injection


def test_crlf_in_path_and_query_never_becomes_a_header(env: dict) -> None:
    server: LiveServer = env["server"]
    asset = env["asset"]
    injected = "%0d%0aSet-Cookie:%20injected=1%0d%0aX-Injected:%201"
    for method, target in [
        ("GET", f"/api/assets/x{injected}"),
        ("GET", f"/v1/{asset}/index.m3u8{injected}"),
        ("GET", f"/v1/{asset}/{injected}/init.mp4"),
        ("POST", f"/play/{asset}?file=a{injected}"),
        ("GET", f"/watch/{asset}{injected}"),
        ("GET", f"/static/x{injected}"),
    ]:
        r = rawhttp.request(
            server.port,
            method,
            target,
            [("Authorization", f"Bearer {ADMIN_TOKEN}"), ("Cookie", env["cookie"])],
        )
        assert 0 < r.status < 500, f"{method} {target} → {r.status}"
        names = {k.lower() for k, _ in r.headers}
        assert "x-injected" not in names
        assert not any("injected" in v for k, v in r.headers if k.lower() == "set-cookie")


def test_raw_control_characters_in_headers_are_refused_or_ignored(env: dict) -> None:
    server: LiveServer = env["server"]
    for header in [
        (b"X-Test", b"a\rb"),
        (b"X-Test", b"a\x00b"),
        (b"Cookie", b"CloudFront-Policy=\x00\x01\x02"),
        (b"Range", b"bytes=0-\xb9"),  # latin-1 "¹": str.isdigit() but not a digit
        (b"Range", b"bytes=\xb2-"),
        (b"If-None-Match", b"\xff" * 100),
        (b"Accept-Encoding", b"gzip\x7f"),
    ]:
        r = rawhttp.request(
            server.port,
            "GET",
            f"/v1/{env['asset']}/index.m3u8",
            [(b"Cookie", env["cookie"].encode()), header],
        )
        assert r.status in (0, 200, 400, 403, 416), f"{header!r} → {r.status}"
    _alive(server)


def test_access_log_stays_one_json_object_per_line(env: dict) -> None:
    server: LiveServer = env["server"]
    rawhttp.request(server.port, "GET", "/v1/x%0a%22forged%22:1%0a/index.m3u8")
    rawhttp.request(server.port, "GET", "/healthz", [(b"User-Agent", 'evil"\\\u2028ua'.encode())])
    time.sleep(0.3)
    lines = (server.home / "access.log").read_text().splitlines()
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict)


# ----------------------------------------------------------------------------- oversized


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Cookie", "a=" + "x" * 100_000),
        ("Cookie", "; ".join(f"c{i}={'v' * 90}" for i in range(800))),
        (
            "Cookie",
            "CloudFront-Policy=" + "A" * 9000 + "; CloudFront-Signature=AA__; "
            "CloudFront-Key-Pair-Id=K1",
        ),
        ("Authorization", "Bearer " + "t" * 200_000),
        ("Range", "bytes=" + "1" * 10_000 + "-"),
        ("Range", "bytes=" + ",".join(f"{i}-{i}" for i in range(5000))),
        ("X-Forwarded-For", ", ".join(["203.0.113.7"] * 5000)),
    ],
    ids=["cookie-100k", "800-cookies", "policy-9k", "auth-200k", "range-10k", "5000-ranges", "xff"],
)
def test_oversized_headers_are_refused_without_harm(env: dict, name: str, value: str) -> None:
    server: LiveServer = env["server"]
    headers = [("Cookie", env["cookie"])] if name != "Cookie" else []
    r = rawhttp.request(
        server.port, "GET", f"/v1/{env['asset']}/index.m3u8", [*headers, (name, value)]
    )
    assert r.status == 0 or r.status < 500, r.status
    _alive(server)


def test_many_headers_and_a_huge_url(env: dict) -> None:
    server: LiveServer = env["server"]
    many = [(f"X-H{i}", "v") for i in range(3000)]
    r = rawhttp.request(server.port, "GET", "/healthz", many)
    assert r.status == 0 or r.status < 500
    r = rawhttp.request(server.port, "GET", "/v1/" + "a" * 200_000)
    assert r.status == 0 or r.status < 500
    _alive(server)


# ----------------------------------------------------------------------------- replay


def _server_cookies(server: LiveServer, asset_id: str, expires: int) -> str:
    """Cookies signed with the server's own active key, for a chosen expiry."""
    keys = server.client.get("/api/keys", headers=server.admin).json()
    active = next(k for k in keys if k["status"] == "active")
    pem = (server.home / "secrets" / "keys" / f"signing-{active['key_id']}.pem").read_bytes()
    policy = Policy(f"{server.base_url}/v1/{asset_id}/*", expires)
    cookies = signed_cookies(policy, active["key_id"], load_private_key(pem))
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def test_cookie_replayed_after_expiry_is_refused(env: dict) -> None:
    server: LiveServer = env["server"]
    url = f"{server.base_url}/v1/{env['asset']}/index.m3u8"
    fresh = _server_cookies(server, env["asset"], int(time.time()) + 60)
    assert httpx.get(url, headers={"Cookie": fresh}).status_code == 200  # the control
    expired = _server_cookies(server, env["asset"], int(time.time()) - 1)
    r = httpx.get(url, headers={"Cookie": expired})
    assert r.status_code == 403
    assert "rule" not in r.json()  # gate reasons are not told to forgers
    # and the /play cookies of the fixture, replayed on another asset's path, are refused too
    other = httpx.get(
        f"{server.base_url}/v1/zzzzzzzzzzzzzzzzzzzz/index.m3u8", headers={"Cookie": env["cookie"]}
    )
    assert other.status_code == 403


# ----------------------------------------------------------------------------- CORS


def test_cors_never_allows_credentials_to_any_origin(env: dict) -> None:
    server: LiveServer = env["server"]
    evil = "https://evil.example"
    paths = {_fill(p, env["asset"]) for _, p, _ in _operations(env["openapi"])}
    for path in sorted(paths):
        for method in ("GET", "POST", "OPTIONS"):
            headers = [("Origin", evil), ("Cookie", env["cookie"])]
            if method == "OPTIONS":
                headers += [
                    ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "authorization"),
                ]
            r = rawhttp.request(server.port, method, path, headers)
            allow_origin = r.header("access-control-allow-origin")
            credentials = (r.header("access-control-allow-credentials") or "").lower()
            if credentials == "true":
                assert allow_origin not in ("*", evil, "null"), f"{method} {path}"
            assert allow_origin != evil or credentials != "true"


# ----------------------------------------------------------------------------- admin token


def test_every_admin_route_needs_the_admin_token(env: dict) -> None:
    server: LiveServer = env["server"]
    admin_routes = [
        (m, p)
        for m, p, _ in _operations(env["openapi"])
        # the rule the body-limit layer authenticates by, before any body is read
        if is_admin_path(p)
    ]
    assert len(admin_routes) >= 15
    wrong = [
        [],
        [("Authorization", "Bearer wrong")],
        [("Authorization", f"Basic {base64.b64encode(ADMIN_TOKEN.encode()).decode()}")],
        [("Authorization", f"Bearer {ADMIN_TOKEN[:-1]}")],
        [("Authorization", f"Bearer {ADMIN_TOKEN}x")],
        [("Authorization", "Bearer")],
        [("Cookie", env["cookie"])],  # a viewer's grant is not an admin credential
    ]
    for method, template in admin_routes:
        target = _fill(template, env["asset"])
        for headers in wrong:
            r = rawhttp.request(
                server.port,
                method,
                target,
                [*headers, ("Content-Type", "application/json")],
                body=b"{}" if method in ("POST", "PUT") else b"",
            )
            assert r.status == 401, f"{method} {target} with {headers!r}: {r.status}"
            assert (r.header("www-authenticate") or "").startswith("Bearer")
    # nothing changed: the asset is still there and published
    assert server.asset(env["asset"])["published"] is True


def test_beacons_need_a_session_token(env: dict) -> None:
    server: LiveServer = env["server"]
    r = server.client.post("/api/beacons", json={"token": "forged.token", "events": []})
    assert r.status_code in (401, 422)


# ----------------------------------------------------------------------------- secrets in logs


def test_no_secret_reaches_the_logs_of_a_full_run(tmp_path: Path) -> None:
    """Origin + edge, DEBUG logs and access logs; upload, transcode, play, protect with
    cenc and AES-128 (keys released to the viewer), rotate the signing key; then grep."""
    secret = "origin-secret-" + "7" * 24
    origin_home = tmp_path / "origin"
    common = {"VODSTACK_LOG_LEVEL": "DEBUG", "VODSTACK_ORIGIN_SECRETS": f'["{secret}"]'}
    origin = LiveServer(
        origin_home, {**common, "VODSTACK_ACCESS_LOG": str(origin_home / "access.log")}
    )
    origin.args = ["--role", "origin"]
    origin.start()
    edge_port = free_port()
    edge = LiveServer(
        origin_home,  # same catalogue and keys: the edge verifies cookies the origin's API mints
        {
            **common,
            "VODSTACK_ACCESS_LOG": str(origin_home / "edge-access.log"),
            "VODSTACK_PUBLIC_URL": f"http://127.0.0.1:{edge_port}",
        },
    )
    edge.port, edge.base_url = edge_port, f"http://127.0.0.1:{edge_port}"
    edge.client = httpx.Client(base_url=edge.base_url, timeout=30)
    edge.log_path = origin_home / "edge.log"
    edge.args = ["--role", "edge", "--origin", origin.base_url]
    edge.start()
    try:
        clip = make_clip_file(tmp_path / "clip.mp4", seconds=2, size="320x180")
        asset_id = origin.upload(clip).json()["id"]
        assert origin.wait(asset_id)["status"] == "ready"
        r = origin.client.put(
            f"/api/assets/{asset_id}/protection",
            headers=origin.admin,
            json={"schemes": ["aes-128", "cenc"]},
        )
        assert r.status_code == 200, r.text
        token = origin.token("log-viewer")
        origin.subscribe("log-viewer")
        viewer = httpx.Client(base_url=edge.base_url, timeout=30)
        play = viewer.post(f"/play/{asset_id}", headers={"Authorization": f"Bearer {token}"})
        assert play.status_code == 200, play.text
        grants = {v.encode() for v in viewer.cookies.values() if len(v) >= 12}
        content_keys: set[bytes] = set()
        m3u8 = viewer.get(f"/v1/{asset_id}/index.m3u8").text
        media_uri = next(x for x in m3u8.splitlines() if x and not x.startswith("#"))
        media = viewer.get(f"/v1/{asset_id}/{media_uri}").text
        tag = media_uri.split("/")[0]
        key = viewer.get(f"/v1/{asset_id}/{tag}/key")
        assert key.status_code == 200
        content_keys |= secret_forms(key.content)
        for line in (x for x in media.splitlines() if x and not x.startswith("#")):
            assert viewer.get(f"/v1/{asset_id}/{tag}/{line}").status_code == 200
        mpd = viewer.get(f"/v1/{asset_id}/index.mpd").text
        kid = re.search(r'cenc:default_KID="([0-9a-f-]+)"', mpd).group(1).replace("-", "")
        lic = viewer.post(
            f"/v1/{asset_id}/license",
            json={"kids": [b64url(bytes.fromhex(kid))], "type": "temporary"},
        )
        assert lic.status_code == 200, lic.text
        for k in lic.json()["keys"]:
            content_keys |= secret_forms(base64.urlsafe_b64decode(k["k"] + "=="))
        assert origin.client.post("/api/keys/rotate", headers=origin.admin).status_code in (
            200,
            201,
        )
        viewer.post(f"/play/{asset_id}", headers={"Authorization": f"Bearer {token}"})
    finally:
        edge.stop()
        origin.stop()
    logs = {
        p.name: p.read_bytes() for p in origin_home.iterdir() if p.is_file() and p.suffix == ".log"
    }
    assert {"server.log", "edge.log", "access.log", "edge-access.log"} <= set(logs)
    secrets = secrets_of(origin_home)
    secrets["admin token"] = {ADMIN_TOKEN.encode()}
    secrets["origin secret"] = {secret.encode()}
    secrets["content keys"] = content_keys
    secrets["viewer JWT"] = {token.encode(), token.split(".")[-1].encode()}
    secrets["signed cookies"] = grants
    assert len(secrets) >= 7 and content_keys
    assert leaks(logs, secrets) == []
