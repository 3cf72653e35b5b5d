"""An external identity provider: JWKS fetched over HTTP, refreshed on an unknown kid; the
development IdP is refused once an issuer is configured."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.slow
ISSUER = "https://idp.example.test/"


class Jwks:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.requests = 0

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def document(self) -> bytes:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": keys}).encode()

    def token(self, kid: str, subject: str) -> str:
        now = int(time.time())
        return jwt.encode(
            {"sub": subject, "iss": ISSUER, "aud": "vodstack", "iat": now, "exp": now + 600},
            self.keys[kid],
            algorithm="RS256",
            headers={"kid": kid},
        )


@pytest.fixture
def idp():
    jwks = Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            jwks.requests += 1
            body = jwks.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield jwks, f"http://127.0.0.1:{httpd.server_address[1]}/.well-known/jwks.json"
    httpd.shutdown()


def test_external_idp_tokens_play_and_dev_tokens_are_refused(idp, tmp_path) -> None:
    jwks, url = idp
    jwks.add("k1")
    # a dev token minted before the IdP was configured
    dev_server = LiveServer(tmp_path / "home")
    dev_token = dev_server.token("alice")
    server = LiveServer(
        tmp_path / "home",
        {
            "VODSTACK_JWT_ISSUER": ISSUER,
            "VODSTACK_JWKS_URL": url,
            "VODSTACK_JWKS_MIN_REFRESH_S": "1",
        },
    )
    server.start()
    try:
        asset = server.upload(make_clip_file(tmp_path / "m.mp4", seconds=2, size="160x90")).json()[
            "id"
        ]
        assert server.wait(asset)["status"] == "ready"
        server.subscribe("alice")
        assert server.play(asset, jwks.token("k1", "alice")).status_code == 200
        fetched = jwks.requests
        assert server.play(asset, jwks.token("k1", "alice")).status_code == 200
        assert jwks.requests == fetched  # cached
        # the IdP rotates its key: an unknown kid triggers one refetch, then plays
        jwks.add("k2")
        time.sleep(1.1)  # refetches are throttled (VODSTACK_JWKS_MIN_REFRESH_S)
        assert server.play(asset, jwks.token("k2", "alice")).status_code == 200
        assert jwks.requests == fetched + 1
        refused = server.play(asset, dev_token)
        assert refused.status_code == 401
        assert "invalid_token" in refused.headers["www-authenticate"]
        with pytest.raises(RuntimeError, match="dev tokens are disabled"):
            server.token("alice")
    finally:
        server.stop()
