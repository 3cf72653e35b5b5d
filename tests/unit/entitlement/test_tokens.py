"""Viewer JWTs: the development IdP, an external IdP over JWKS, and the attacks we refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from jwt.algorithms import RSAAlgorithm

from vodstack.entitlement.devidp import DevIdentityProvider
from vodstack.entitlement.jwks import JwksCache
from vodstack.entitlement.keys import generate_private_key, public_key_pem
from vodstack.entitlement.keystore import PrivateKeyStore
from vodstack.entitlement.tokens import JwtVerifier, www_authenticate
from vodstack.errors import AuthError

from .support import NOW, Clock, Keys

EXTERNAL_ISSUER = "https://idp.example.com/"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict, payload: dict, sign=lambda signing_input: b"") -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def reason(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.message


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def idp(tmp_path: Path, clock: Clock) -> DevIdentityProvider:
    return DevIdentityProvider.load_or_create(PrivateKeyStore(tmp_path), clock=clock)


@pytest.fixture
def dev(idp: DevIdentityProvider, clock: Clock) -> JwtVerifier:
    return JwtVerifier.development(idp, clock=clock)


def claims(idp: DevIdentityProvider, **overrides: object) -> dict:
    base = {"iss": idp.issuer, "aud": idp.audience, "sub": "alice", "iat": NOW, "exp": NOW + 60}
    return {**base, **overrides}


# --- development IdP ------------------------------------------------------------------------


def test_valid_dev_token(idp: DevIdentityProvider, dev: JwtVerifier) -> None:
    token = idp.mint("alice", {"plan": "gold"}, ttl=600)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    viewer = dev.verify(token)
    assert viewer.subject == "alice"
    assert viewer.issuer == "vodstack-dev"
    assert viewer.claims["plan"] == "gold"
    assert viewer.claims["aud"] == "vodstack"
    assert viewer.expires_at == NOW + 600


def test_dev_key_survives_restart_and_rs256(tmp_path: Path, clock: Clock) -> None:
    store = PrivateKeyStore(tmp_path)
    first = DevIdentityProvider.load_or_create(store, algorithm="RS256", clock=clock)
    token = first.mint("bob")
    second = DevIdentityProvider.load_or_create(store, clock=clock)  # existing key wins
    assert second.algorithm == "RS256"
    assert second.key_id == first.key_id
    assert JwtVerifier.development(second, clock=clock).verify(token).subject == "bob"


def test_mint_refuses_registered_claims(idp: DevIdentityProvider) -> None:
    with pytest.raises(Exception, match="registered claims: aud, iss"):
        idp.mint("alice", {"iss": "x", "aud": "y"})


def test_expired_and_leeway(idp: DevIdentityProvider, dev: JwtVerifier, clock: Clock) -> None:
    token = idp.mint("alice", ttl=60)
    clock.now = NOW + 60 + 29  # within the default 30 s leeway
    assert dev.verify(token).subject == "alice"
    clock.now = NOW + 60 + 30
    assert reason(dev, token) == "token expired"


def test_not_yet_valid(idp: DevIdentityProvider, dev: JwtVerifier, clock: Clock) -> None:
    clock.now = NOW + 3600
    token = idp.mint("alice")
    clock.now = NOW
    assert reason(dev, token) == "token not yet valid"


def test_wrong_audience_and_issuer(idp_key_pair, clock: Clock) -> None:
    key, _, verifier = idp_key_pair
    other_aud = DevIdentityProvider(key, audience="someone-else", clock=clock)
    assert reason(verifier, other_aud.mint("alice")) == "wrong audience"
    other_iss = DevIdentityProvider(key, issuer="https://evil.example", clock=clock)
    assert reason(verifier, other_iss.mint("alice")) == "wrong issuer"


@pytest.fixture
def idp_key_pair(clock: Clock) -> tuple[EllipticCurvePrivateKey, DevIdentityProvider, JwtVerifier]:
    """An IdP whose private key the test holds, to hand-craft tokens with it."""
    key = generate_private_key("ecdsa")
    assert isinstance(key, EllipticCurvePrivateKey)
    own = DevIdentityProvider(key, clock=clock)
    return key, own, JwtVerifier.development(own, clock=clock)


def test_alg_none_refused(idp: DevIdentityProvider, dev: JwtVerifier) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": idp.key_id}
    assert reason(dev, handmade(header, claims(idp))) == "token algorithm not allowed"
    header["alg"] = "None"
    assert reason(dev, handmade(header, claims(idp))) == "token algorithm not allowed"


def test_hs256_with_public_key_as_secret_refused(tmp_path: Path, clock: Clock) -> None:
    idp = DevIdentityProvider.load_or_create(
        PrivateKeyStore(tmp_path), algorithm="RS256", clock=clock
    )
    verifier = JwtVerifier.development(idp, clock=clock)
    pem = public_key_pem(idp.resolve(idp.key_id).key).encode()
    forged = handmade(
        {"alg": "HS256", "typ": "JWT", "kid": idp.key_id},
        claims(idp),
        lambda signing_input: hmac.new(pem, signing_input, hashlib.sha256).digest(),
    )
    assert reason(verifier, forged) == "token algorithm not allowed"


def test_algorithm_must_fit_key_type(idp: DevIdentityProvider, dev: JwtVerifier) -> None:
    rsa_key = generate_private_key("rsa")
    forged = jwt.encode(claims(idp), rsa_key, algorithm="RS256", headers={"kid": idp.key_id})
    assert reason(dev, forged) == "token algorithm not allowed for its key"


def test_tampering_and_structure(idp: DevIdentityProvider, dev: JwtVerifier) -> None:
    header, _, signature = idp.mint("alice").split(".")
    evil = b64url(json.dumps(claims(idp, sub="admin")).encode())
    assert reason(dev, f"{header}.{evil}.{signature}") == "invalid signature"
    assert reason(dev, "not.a.jwt") == "malformed token"
    assert reason(dev, "") == "missing token"
    assert reason(dev, "a" * 9000) == "token too large"
    other = DevIdentityProvider(generate_private_key("ecdsa"))
    assert reason(dev, other.mint("alice")) == "unknown signing key"


@pytest.mark.parametrize(
    ("drop_or_change", "expected"),
    [
        ({"sub": None}, "token lacks the sub claim"),
        ({"exp": None}, "token lacks the exp claim"),
        ({"sub": ""}, "token lacks the sub claim"),
        ({"exp": "tomorrow"}, "token exp claim is not a number"),
        ({"nbf": NOW + 3600}, "token not yet valid"),
        ({"iat": NOW + 3600}, "token issued in the future"),
        ({"aud": ["other", "vodstack"]}, None),  # a list containing our audience is fine
    ],
)
def test_claim_checks(idp_key_pair, drop_or_change: dict, expected: str | None) -> None:
    key, own, verifier = idp_key_pair
    body = {k: v for k, v in claims(own, **drop_or_change).items() if v is not None}
    token = jwt.encode(body, key, algorithm="ES256", headers={"kid": own.key_id})
    if expected is None:
        assert verifier.verify(token).subject == "alice"
    else:
        assert reason(verifier, token) == expected


def test_www_authenticate() -> None:
    assert www_authenticate() == 'Bearer realm="vodstack"'
    assert www_authenticate(AuthError("token expired")) == (
        'Bearer realm="vodstack", error="invalid_token", error_description="token expired"'
    )
    assert www_authenticate(AuthError('bad "say" \\')).endswith('error_description="bad say "')
    assert www_authenticate(AuthError('bad "say"\r\n')).endswith('error_description="bad say"')


# --- external IdP over JWKS -----------------------------------------------------------------


@dataclass
class JwksServer:
    url: str
    keys: list[dict] = field(default_factory=list)
    requests: int = 0


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def external_idp(clock: Clock, kind: str = "ecdsa") -> DevIdentityProvider:
    """A stand-in for an external IdP: same minting code, external issuer, its own key."""
    key = generate_private_key(kind)  # type: ignore[arg-type]
    return DevIdentityProvider(key, issuer=EXTERNAL_ISSUER, audience="vodstack", clock=clock)


def external_verifier(url: str, clock: Clock) -> tuple[JwtVerifier, JwksCache]:
    jwks = JwksCache(url, ttl=3600, min_refresh_interval=60, clock=clock)
    verifier = JwtVerifier.external(
        issuer=EXTERNAL_ISSUER, audience="vodstack", jwks=jwks, clock=clock
    )
    return verifier, jwks


def test_external_tokens_and_one_refetch_per_unknown_kid(
    jwks_server: JwksServer, clock: Clock
) -> None:
    first, second = external_idp(clock), external_idp(clock, "rsa")
    jwks_server.keys = [first.public_jwk()]
    verifier, jwks = external_verifier(jwks_server.url, clock)

    assert verifier.verify(first.mint("carol")).subject == "carol"
    assert verifier.verify(first.mint("dave")).subject == "dave"
    assert jwks_server.requests == 1  # cached

    # The IdP rotates: a token with a new kid triggers exactly one refetch.
    jwks_server.keys = [first.public_jwk(), second.public_jwk()]
    clock.now += 61
    assert verifier.verify(second.mint("erin")).subject == "erin"
    assert jwks_server.requests == 2

    # Unknown kids within the refresh interval do not hammer the IdP.
    stranger = external_idp(clock)
    for _ in range(5):
        assert reason(verifier, stranger.mint("mallory")) == "unknown signing key"
    assert jwks_server.requests == 2
    clock.now += 61
    assert reason(verifier, stranger.mint("mallory")) == "unknown signing key"
    assert reason(verifier, stranger.mint("mallory")) == "unknown signing key"
    assert jwks_server.requests == 3
    assert jwks.fetch_count == 3


def test_dev_tokens_refused_in_external_mode(
    jwks_server: JwksServer, clock: Clock, idp: DevIdentityProvider
) -> None:
    jwks_server.keys = [external_idp(clock).public_jwk()]
    verifier, _ = external_verifier(jwks_server.url, clock)
    assert reason(verifier, idp.mint("alice")) == "token issuer not accepted"
    assert jwks_server.requests == 0  # refused before any key lookup
    # A dev-key token claiming the external issuer fails on the key.
    impostor = DevIdentityProvider(
        generate_private_key("ecdsa"), issuer=EXTERNAL_ISSUER, clock=clock
    )
    assert reason(verifier, impostor.mint("alice")) == "unknown signing key"
    assert jwks_server.requests == 1


def test_jwks_symmetric_and_mismatched_keys_ignored(jwks_server: JwksServer, clock) -> None:
    secret = b"shared-secret-of-32-bytes-length!"
    rsa_key = generate_private_key("rsa")
    rsa_jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    jwks_server.keys = [
        {"kty": "oct", "kid": "hmac", "k": b64url(secret), "alg": "HS256"},
        {**rsa_jwk, "kid": "rsa-declared-hs", "alg": "HS256"},
        {**rsa_jwk, "kid": "rsa-enc", "use": "enc"},
        {**rsa_jwk, "kid": "rsa-ok", "alg": "RS256"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not a key",
    ]
    verifier, _ = external_verifier(jwks_server.url, clock)
    body = {"iss": EXTERNAL_ISSUER, "aud": "vodstack", "sub": "x", "exp": NOW + 60}
    hs = jwt.encode(body, secret, algorithm="HS256", headers={"kid": "hmac"})
    assert reason(verifier, hs) == "token algorithm not allowed"
    for kid in ("rsa-declared-hs", "rsa-enc", "broken"):
        token = jwt.encode(body, rsa_key, algorithm="RS256", headers={"kid": kid})
        assert reason(verifier, token) == "unknown signing key"
    ok = jwt.encode(body, rsa_key, algorithm="RS256", headers={"kid": "rsa-ok"})
    assert verifier.verify(ok).subject == "x"
    ps = jwt.encode(body, rsa_key, algorithm="PS256", headers={"kid": "rsa-ok"})
    assert reason(verifier, ps) == "token algorithm not allowed for its key"  # alg pinned by JWK
    no_kid = jwt.encode(body, rsa_key, algorithm="RS256")
    assert reason(verifier, no_kid) == "token has no key id"


def test_unreachable_jwks(clock: Clock) -> None:
    verifier, _ = external_verifier("http://127.0.0.1:9/jwks.json", clock)
    token = external_idp(clock).mint("x")
    assert reason(verifier, token) == "identity provider keys unavailable"


def test_external_issuer_cannot_be_the_dev_issuer(jwks_server: JwksServer, clock) -> None:
    with pytest.raises(Exception, match="reserved"):
        JwtVerifier.external(
            issuer="vodstack-dev", audience="vodstack", jwks=JwksCache(jwks_server.url)
        )


def test_keys_public_half_only(keys: Keys) -> None:
    idp = DevIdentityProvider(keys.ecdsa)
    assert "d" not in idp.public_jwk()
    assert "BEGIN" not in repr(idp)
