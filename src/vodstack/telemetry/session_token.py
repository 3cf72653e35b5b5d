"""Playback-session tokens: who may send beacons for which session (HMAC-SHA256, stateless).

``POST /play`` hands the player ``{"id", "token"}``; beacons carry the token, and the server
learns the session id, viewer and asset from it without a lookup. The token is
``base64url(payload) "." base64url(HMAC-SHA256(key, payload))`` where the payload is compact
JSON ``{"sid", "sub", "aid", "exp"}`` — signed, not encrypted: it names nothing the viewer
does not already know.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from vodstack.errors import AuthError

#: Beacons keep arriving after the playback cookie is refreshed or denied (the last
#: heartbeats of a viewer whose access just ended still count), so the token outlives it.
SESSION_TTL_S = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class SessionClaims:
    session_id: str
    subject: str
    asset_id: str
    expires: int


class SessionTokens:
    def __init__(
        self, key: bytes, *, ttl_s: int = SESSION_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        if len(key) < 32:
            raise ValueError("the session key needs at least 32 bytes")
        self._key = key
        self.ttl_s = ttl_s
        self._clock = clock

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def mint(self, subject: str, asset_id: str) -> tuple[SessionClaims, str]:
        claims = SessionClaims(
            session_id=secrets.token_hex(16),
            subject=subject,
            asset_id=asset_id,
            expires=int(self._clock()) + self.ttl_s,
        )
        return claims, self.encode(claims)

    def encode(self, claims: SessionClaims) -> str:
        payload = json.dumps(
            {
                "sid": claims.session_id,
                "sub": claims.subject,
                "aid": claims.asset_id,
                "exp": claims.expires,
            },
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str) -> SessionClaims:
        body, sep, mac = token.partition(".")
        try:
            payload, given = _unb64(body), _unb64(mac)
        except ValueError:
            raise AuthError("malformed playback session token") from None
        if not sep or not hmac.compare_digest(given, self._mac(payload)):
            raise AuthError("invalid playback session token")
        data = json.loads(payload)
        claims = SessionClaims(
            str(data["sid"]), str(data["sub"]), str(data["aid"]), int(data["exp"])
        )
        if claims.expires <= self._clock():
            raise AuthError("the playback session has expired")
        return claims
