"""Entitlement and the signed gate, through the real server: interop with botocore's signer,
forgeries, entitlement rules, JWT failures, key rotation, IP binding, rate limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from vodstack.entitlement.keystore import PrivateKeyStore

pytestmark = pytest.mark.slow


def cf_b64(data: bytes) -> str:
    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def metric(server: LiveServer, name: str, labels: str = "") -> float:
    text = server.metrics()
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + "$", text, re.M)
    return float(match.group(1)) if match else 0.0


def origin_reads(server: LiveServer) -> float:
    return sum(
        metric(server, "vodstack_origin_requests_total", f'kind="{k}"')
        for k in ("manifest", "init", "segment", "other")
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("ent")
    source = make_clip_file(home / "m.mp4", seconds=4, size="320x180")
    server = LiveServer(
        home / "home",
        {"VODSTACK_TRUSTED_PROXIES": '["127.0.0.1/32"]', "VODSTACK_MINT_RATE_PER_MIN": "600"},
    )
    server.start()
    ids = []
    for _ in range(2):
        asset_id = server.upload(source).json()["id"]
        assert server.wait(asset_id)["status"] == "ready"
        ids.append(asset_id)
    # an outside key pair registered like a CloudFront public key
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem_path = home / "outside.pem"
    pem_path.write_bytes(pem)
    assert server.cli("keys", "add", "--public-key", str(pem_path), "--id", "KOUTSIDE") == (
        "KOUTSIDE"
    )
    time.sleep(2.5)  # the server re-reads the key group every 2 s
    yield server, ids[0], ids[1], private
    server.stop()


def botocore_signer(private: rsa.RSAPrivateKey, key_id: str = "KOUTSIDE") -> CloudFrontSigner:
    def rsa_signer(message: bytes) -> bytes:
        return private.sign(message, padding.PKCS1v15(), hashes.SHA1())

    return CloudFrontSigner(key_id, rsa_signer)


def botocore_cookies(
    signer: CloudFrontSigner, private, resource: str, expires: datetime, **kwargs
) -> dict[str, str]:
    """botocore has no cookie helper: cookies are its policy, its signature and the key id."""
    policy = signer.build_policy(resource, expires, **kwargs).encode()
    signature = private.sign(policy, padding.PKCS1v15(), hashes.SHA1())
    return {
        "CloudFront-Policy": cf_b64(policy),
        "CloudFront-Signature": cf_b64(signature),
        "CloudFront-Key-Pair-Id": signer.key_id,
    }


def get(
    server: LiveServer,
    path: str,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    # a raw Cookie header: lets a test send exactly what it wants (duplicates included)
    h = dict(headers or {})
    if cookies:
        h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return httpx.get(server.base_url + path, headers=h, timeout=10)


def test_botocore_signed_cookie_and_urls_are_accepted(env) -> None:
    server, a, _, private = env
    signer = botocore_signer(private)
    expires = datetime.now(UTC) + timedelta(minutes=5)
    cookies = botocore_cookies(signer, private, f"{server.base_url}/v1/{a}/*", expires)
    assert get(server, f"/v1/{a}/index.m3u8", cookies).status_code == 200
    assert get(server, f"/v1/{a}/r1-4s/v144/1.m4s", cookies).status_code == 200
    # canned-policy signed URL for one file
    url = signer.generate_presigned_url(
        f"{server.base_url}/v1/{a}/r1-4s/v144/init.mp4", date_less_than=expires
    )
    assert httpx.get(url).status_code == 200
    # custom-policy signed URL
    policy = signer.build_policy(f"{server.base_url}/v1/{a}/*", expires)
    url = signer.generate_presigned_url(f"{server.base_url}/v1/{a}/r1-4s/a0/1.m4s", policy=policy)
    assert httpx.get(url).status_code == 200


def forgeries(server: LiveServer, a: str, b: str, private) -> dict[str, tuple[str, dict]]:
    """name → (path, cookies): each must be refused."""
    signer = botocore_signer(private)
    now = datetime.now(UTC)
    ok = botocore_cookies(
        signer, private, f"{server.base_url}/v1/{a}/*", now + timedelta(minutes=5)
    )
    other_asset = botocore_cookies(
        signer, private, f"{server.base_url}/v1/{b}/*", now + timedelta(minutes=5)
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sig = bytearray(
        base64.b64decode(
            ok["CloudFront-Signature"].replace("-", "+").replace("_", "=").replace("~", "/")
        )
    )
    sig[10] ^= 0x01
    prefix = a[:-1]
    p = f"/v1/{a}/index.m3u8"
    canned_url = signer.generate_presigned_url(
        f"{server.base_url}{p}", date_less_than=now + timedelta(minutes=5)
    )
    canned_sig = dict(x.split("=", 1) for x in canned_url.split("?", 1)[1].split("&"))
    return {
        "bit_flipped_signature": (p, {**ok, "CloudFront-Signature": cf_b64(bytes(sig))}),
        "swapped_policy": (p, {**ok, "CloudFront-Policy": other_asset["CloudFront-Policy"]}),
        "other_assets_grant": (p, other_asset),
        "unknown_key_id": (p, {**ok, "CloudFront-Key-Pair-Id": "KNOPE"}),
        "untrusted_key": (
            p,
            botocore_cookies(
                botocore_signer(stranger),
                stranger,
                f"{server.base_url}/v1/{a}/*",
                now + timedelta(minutes=5),
            ),
        ),
        "expired": (
            p,
            botocore_cookies(
                signer, private, f"{server.base_url}/v1/{a}/*", now - timedelta(seconds=5)
            ),
        ),
        "not_yet_valid": (
            p,
            botocore_cookies(
                signer,
                private,
                f"{server.base_url}/v1/{a}/*",
                now + timedelta(minutes=5),
                date_greater_than=now + timedelta(minutes=2),
            ),
        ),
        "prefix_trick": (
            p,
            botocore_cookies(
                signer, private, f"{server.base_url}/v1/{prefix}/*", now + timedelta(minutes=5)
            ),
        ),
        "other_host": (
            p,
            botocore_cookies(
                signer, private, f"https://evil.example/v1/{a}/*", now + timedelta(minutes=5)
            ),
        ),
        "wrong_ip": (
            p,
            botocore_cookies(
                signer,
                private,
                f"{server.base_url}/v1/{a}/*",
                now + timedelta(minutes=5),
                ip_address="203.0.113.7/32",
            ),
        ),
        "canned_custom_confusion": (
            p,
            {
                "CloudFront-Expires": canned_sig["Expires"],
                "CloudFront-Signature": ok["CloudFront-Signature"],
                "CloudFront-Key-Pair-Id": "KOUTSIDE",
            },
        ),
        "both_expires_and_policy": (p, {**ok, "CloudFront-Expires": canned_sig["Expires"]}),
        "garbage_base64": (p, {**ok, "CloudFront-Policy": "%%%not-base64%%%"}),
        "oversized_policy": (p, {**ok, "CloudFront-Policy": "A" * 20000}),
        "missing_signature": (p, {k: v for k, v in ok.items() if k != "CloudFront-Signature"}),
        "sha256_claimed_for_sha1": (p, {**ok, "CloudFront-Hash-Algorithm": "SHA256"}),
    }


def test_forgeries_are_refused_before_the_origin(env) -> None:
    server, a, b, private = env
    cases = forgeries(server, a, b, private)
    assert len(cases) >= 15
    before = origin_reads(server)
    denied_before = sum(
        metric(server, "vodstack_gate_denied_total", f'reason="{r}"')
        for r in (
            "missing",
            "malformed",
            "unknown_key",
            "bad_signature",
            "expired",
            "not_yet_valid",
            "scope",
            "ip",
            "ambiguous",
        )
    )
    for name, (path, cookies) in cases.items():
        r = get(server, path, cookies)
        assert r.status_code == 403, name
        assert r.json() == {"error": "access denied"}, name
    # duplicated cookie names (one valid, one not) are ambiguous, never "first wins"
    ok = botocore_cookies(
        botocore_signer(private),
        private,
        f"{server.base_url}/v1/{a}/*",
        datetime.now(UTC) + timedelta(minutes=5),
    )
    raw = "; ".join(f"{k}={v}" for k, v in ok.items()) + "; CloudFront-Key-Pair-Id=KNOPE"
    assert get(server, f"/v1/{a}/index.m3u8", headers={"Cookie": raw}).status_code == 403
    assert origin_reads(server) == before  # zero origin work for any forgery
    denied_after = sum(
        metric(server, "vodstack_gate_denied_total", f'reason="{r}"')
        for r in (
            "missing",
            "malformed",
            "unknown_key",
            "bad_signature",
            "expired",
            "not_yet_valid",
            "scope",
            "ip",
            "ambiguous",
        )
    )
    assert denied_after - denied_before == len(cases) + 1


def test_play_returns_scoped_cookies(env) -> None:
    server, a, b, _ = env
    server.subscribe("alice", "basic")
    r = server.play(a, server.token("alice"))
    assert r.status_code == 200
    body = r.json()
    assert body["hls"] == f"{server.base_url}/v1/{a}/index.m3u8"
    assert body["dash"] == f"{server.base_url}/v1/{a}/index.mpd"
    assert 290 <= body["expires"] - time.time() <= 301
    set_cookies = r.headers.get_list("set-cookie")
    names = sorted(c.split("=", 1)[0] for c in set_cookies)
    assert names == ["CloudFront-Key-Pair-Id", "CloudFront-Policy", "CloudFront-Signature"]
    for c in set_cookies:
        lowered = c.lower()
        assert f"path=/v1/{a}/" in lowered
        assert "httponly" in lowered
        assert "samesite=lax" in lowered
        assert "expires" not in lowered and "max-age" not in lowered  # session cookies
    policy_b64 = next(c for c in set_cookies if c.startswith("CloudFront-Policy=")).split(";")[0]
    policy = json.loads(
        base64.b64decode(
            policy_b64.split("=", 1)[1].replace("-", "+").replace("_", "=").replace("~", "/")
        )
    )
    assert policy["Statement"][0]["Resource"] == f"{server.base_url}/v1/{a}/*"
    assert r.headers["cache-control"] == "no-store"
    # the grant opens asset a, not asset b
    client = httpx.Client(base_url=server.base_url)
    client.post(f"/play/{a}", headers={"Authorization": f"Bearer {server.token('alice')}"})
    assert client.get(f"/v1/{a}/index.mpd").status_code == 200
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    assert get(server, f"/v1/{b}/index.mpd", headers={"Cookie": cookie}).status_code == 403


def test_entitlement_rules_name_the_rule(env) -> None:
    server, a, _, _ = env
    now = datetime.now(UTC)
    server.subscribe(
        "trialist",
        "basic",
        trial=True,
        starts_at=(now - timedelta(days=7)).isoformat(),
        expires_at=(now - timedelta(minutes=10)).isoformat(),
    )
    server.subscribe("cancelled", "basic")
    server.cli("entitle", "cancelled", "--revoke")
    server.subscribe("silver-member", "silver")
    r = server.client.put(
        f"/api/assets/{a}/access", headers=server.admin, json={"plans": ["basic", "premium"]}
    )
    r.raise_for_status()
    expectations = {
        "nobody": "subscription",
        "trialist": "subscription_expired",
        "cancelled": "subscription_cancelled",
        "silver-member": "subscription",
    }
    before = origin_reads(server)
    for subject, rule in expectations.items():
        r = server.play(a, server.token(subject))
        assert r.status_code == 403, subject
        assert r.json()["rule"] == rule, (subject, r.json())
        assert "set-cookie" not in r.headers
    # institutions: a licence for another asset does not cover this one
    _, _, b_id, _ = env
    server.cli("entitle", "Uni A", "--licence", "--asset", b_id)
    r = server.play(a, server.token("student", "institution=Uni A"))
    assert r.json()["rule"] == "licence"
    server.cli(
        "entitle",
        "Uni A",
        "--licence",
        "--asset",
        a,
        "--until",
        (now - timedelta(days=1)).isoformat(),
    )
    assert server.play(a, server.token("s2", "institution=Uni A")).json()["rule"] == (
        "licence_expired"
    )
    server.cli("entitle", "Uni B", "--licence", "--asset", a, "--days", "30")
    assert server.play(a, server.token("s3", "institution=Uni B")).status_code == 200
    assert origin_reads(server) == before
    server.client.put(f"/api/assets/{a}/access", headers=server.admin, json={})


def test_geo_rules_trust_the_country_header_only_from_trusted_proxies(env, tmp_path) -> None:
    server, a, _, _ = env
    server.subscribe("traveller")
    server.client.put(
        f"/api/assets/{a}/access", headers=server.admin, json={"geo_deny": ["FR"]}
    ).raise_for_status()
    token = server.token("traveller")
    before = origin_reads(server)
    blocked = server.play(a, token, headers={"CloudFront-Viewer-Country": "FR"})
    assert blocked.status_code == 403
    assert blocked.json()["rule"] == "geo"
    assert "set-cookie" not in blocked.headers
    assert origin_reads(server) == before  # a blocked country costs the origin nothing
    allowed = server.play(a, token, headers={"CloudFront-Viewer-Country": "DE"})
    assert allowed.status_code == 200
    # unknown country (no header, no GeoIP database): a geo-restricted title fails closed
    assert server.play(a, token).json()["rule"] == "geo"
    server.client.put(f"/api/assets/{a}/access", headers=server.admin, json={})

    # a server that trusts no proxy ignores the header entirely
    other = LiveServer(tmp_path / "home2")
    other.start()
    try:
        src = make_clip_file(tmp_path / "m.mp4", seconds=2, size="160x90")
        asset = other.upload(src).json()["id"]
        assert other.wait(asset)["status"] == "ready"
        other.client.put(
            f"/api/assets/{asset}/access", headers=other.admin, json={"geo_allow": ["DE"]}
        ).raise_for_status()
        other.subscribe("x")
        tok = other.token("x")
        r = other.play(asset, tok, headers={"CloudFront-Viewer-Country": "DE"})
        assert r.status_code == 403
        assert r.json()["rule"] == "geo"
    finally:
        other.stop()


def dev_key(server: LiveServer):
    return PrivateKeyStore(server.home / "secrets" / "keys").load("jwt-dev")


def token_with(server: LiveServer, **overrides) -> str:
    key = dev_key(server)
    now = int(time.time())
    claims = {
        "sub": "alice",
        "iss": "vodstack-dev",
        "aud": "vodstack",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides.pop("claims", {}))
    headers = overrides.pop("headers", None)
    return jwt.encode(claims, key, algorithm="ES256", headers=headers)


def hs256_with_public_key(public_pem: bytes, now: int) -> str:
    """The classic confusion attack, built by hand (PyJWT itself refuses to do it)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(b'{"alg":"HS256","typ":"JWT"}')
        + "."
        + b64(
            json.dumps(
                {"sub": "alice", "iss": "vodstack-dev", "aud": "vodstack", "exp": now + 600}
            ).encode()
        )
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def test_bad_jwts_are_401_with_www_authenticate(env) -> None:
    server, a, _, _ = env
    server.subscribe("alice")
    now = int(time.time())
    public_pem = (
        dev_key(server)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = (
        base64.urlsafe_b64encode(
            json.dumps(
                {"sub": "alice", "iss": "vodstack-dev", "aud": "vodstack", "exp": now + 600}
            ).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    tokens = {
        "expired": token_with(server, claims={"exp": now - 120}),
        "wrong_audience": token_with(server, claims={"aud": "someone-else"}),
        "wrong_issuer": token_with(server, claims={"iss": "https://evil.example"}),
        "alg_none": f"{header}.{payload}.",
        "hs_rs_confusion": hs256_with_public_key(public_pem, now),
        "unknown_kid": token_with(server, headers={"kid": "no-such-key"}),
        "foreign_signature": jwt.encode(
            {"sub": "alice", "iss": "vodstack-dev", "aud": "vodstack", "exp": now + 600},
            other_key,
            algorithm="ES256",
        ),
        "garbage": "not.a.jwt",
    }
    for name, tok in tokens.items():
        r = server.play(a, tok)
        assert r.status_code == 401, name
        assert r.headers["www-authenticate"].startswith("Bearer"), name
        assert "set-cookie" not in r.headers
    r = server.client.post(f"/play/{a}")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_key_rotation_has_zero_downtime(env) -> None:
    server, a, _, _ = env
    server.subscribe("rotator")
    old = httpx.Client(base_url=server.base_url)
    r = old.post(f"/play/{a}", headers={"Authorization": f"Bearer {server.token('rotator')}"})
    old_key = r.json() and old.cookies["CloudFront-Key-Pair-Id"]
    assert old.get(f"/v1/{a}/index.m3u8").status_code == 200
    new_key = server.cli("keys", "rotate")
    assert new_key != old_key
    time.sleep(2.5)  # servers re-read the key group every 2 s
    assert old.get(f"/v1/{a}/r1-4s/v144/1.m4s").status_code == 200  # old cookie still plays
    new = httpx.Client(base_url=server.base_url)
    new.post(f"/play/{a}", headers={"Authorization": f"Bearer {server.token('rotator')}"})
    assert new.cookies["CloudFront-Key-Pair-Id"] == new_key
    assert new.get(f"/v1/{a}/index.m3u8").status_code == 200
    server.cli("keys", "retire", old_key)
    time.sleep(2.5)
    assert old.get(f"/v1/{a}/r1-4s/a0/1.m4s").status_code == 403
    assert new.get(f"/v1/{a}/r1-4s/a0/1.m4s").status_code == 200
    listed = json.loads(server.cli("keys", "list", "--json"))
    assert {k["key_id"]: k["status"] for k in listed}[old_key] == "retired"


def test_mint_rate_limit(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "home", {"VODSTACK_MINT_RATE_PER_MIN": "8"})
    server.start()
    try:
        statuses = [
            server.client.post(
                "/play/aaaaaaaaaaaaaaaaaaaa", headers={"Authorization": "Bearer x"}
            ).status_code
            for _ in range(6)
        ]
        assert statuses[:2] == [401, 401]
        assert 429 in statuses
        r = server.client.post("/play/aaaaaaaaaaaaaaaaaaaa", headers={"Authorization": "Bearer x"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
    finally:
        server.stop()


def test_ip_bound_cookies(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path / "home",
        {"VODSTACK_COOKIE_BIND_IP": "true", "VODSTACK_TRUSTED_PROXIES": '["127.0.0.1/32"]'},
    )
    server.start()
    try:
        src = make_clip_file(tmp_path / "m.mp4", seconds=2, size="160x90")
        a = server.upload(src).json()["id"]
        assert server.wait(a)["status"] == "ready"
        server.subscribe("v")
        client = httpx.Client(base_url=server.base_url)
        tok = server.token("v")
        client.post(
            f"/play/{a}",
            headers={"Authorization": f"Bearer {tok}", "X-Forwarded-For": "198.51.100.4"},
        )
        same = client.get(f"/v1/{a}/index.m3u8", headers={"X-Forwarded-For": "198.51.100.4"})
        assert same.status_code == 200
        moved = client.get(f"/v1/{a}/index.m3u8", headers={"X-Forwarded-For": "198.51.100.5"})
        assert moved.status_code == 403
        # a single-file URL is then a custom policy for that URL and that address only
        variant = next(x for x in same.text.splitlines() if x and not x.startswith("#"))
        init = variant.removesuffix(".m3u8") + "/init.mp4"  # r1-4s/v90.m3u8 → r1-4s/v90/init.mp4
        one = client.post(
            f"/play/{a}",
            params={"file": init},
            headers={"Authorization": f"Bearer {tok}", "X-Forwarded-For": "198.51.100.4"},
        ).json()["url"]
        assert "Policy=" in one and "Expires=" not in one
        fresh = httpx.Client()  # no cookies: the URL alone must do
        got = fresh.get(one, headers={"X-Forwarded-For": "198.51.100.4"})
        assert got.status_code == 200, (got.text, one)
        assert fresh.get(one, headers={"X-Forwarded-For": "198.51.100.5"}).status_code == 403
    finally:
        server.stop()


def test_signed_url_for_a_single_file_not_for_manifests(env) -> None:
    server, a, _, _ = env
    server.subscribe("downloader")
    tok = server.token("downloader")
    r = server.client.post(
        f"/play/{a}",
        params={"file": "r1-4s/v144/init.mp4"},
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert r.status_code == 200
    assert "Expires=" in r.json()["url"]
    assert httpx.get(r.json()["url"]).status_code == 200
    refused = server.client.post(
        f"/play/{a}", params={"file": "index.m3u8"}, headers={"Authorization": f"Bearer {tok}"}
    )
    assert refused.status_code == 400
