"""Keys of an external identity provider, fetched from its JWKS URL (RFC 7517 §5).

The set is cached for ``ttl`` seconds. A token naming an unknown ``kid`` (the IdP rotated)
triggers a refetch, but at most one per ``min_refresh_interval`` — otherwise anyone could make
us hammer the IdP by sending tokens with random kids. When a refetch fails, the keys we already
have stay in use. Only asymmetric signing keys are kept: ``oct`` (HMAC) keys, encryption keys
(``use: enc``) and keys whose declared ``alg`` does not fit their type are dropped (RFC 8725).

Fetching is blocking (httpx); it happens on first use, every ``ttl``, and on rotation — call
:meth:`JwksCache.refresh` at startup and run verification off the event loop if that matters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import PyJWTError

from vodstack.entitlement.jwtkeys import ResolvedKey, resolved
from vodstack.errors import AuthError

__all__ = ["JwksCache"]

_log = logging.getLogger(__name__)
_MAX_JWKS_BYTES = 512 * 1024
_FROM_JWK = {"RSA": RSAAlgorithm.from_jwk, "EC": ECAlgorithm.from_jwk, "OKP": OKPAlgorithm.from_jwk}


class JwksCache:
    """A :class:`~vodstack.entitlement.jwtkeys.KeyResolver` backed by a JWKS URL."""

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        ttl: float = 3600.0,
        min_refresh_interval: float = 60.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client
        self._ttl = ttl
        self._min_interval = min_refresh_interval
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, ResolvedKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def resolve(self, kid: str | None) -> ResolvedKey:
        if not isinstance(kid, str) or not kid:
            raise AuthError("token has no key id")
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                self._refresh_if_allowed(now)
            key = self._keys.get(kid)
            if key is None:
                self._refresh_if_allowed(now)
                key = self._keys.get(kid)
            if key is None:
                if self._fetched_at is None:
                    raise AuthError("identity provider keys unavailable")
                raise AuthError("unknown signing key")
            return key

    def refresh(self) -> None:
        """Fetch the key set now (e.g. at startup); raises ``AuthError`` if that fails."""
        with self._lock:
            self._attempted_at = self._clock()
            self._keys = self._fetch()
            self._fetched_at = self._attempted_at

    def _refresh_if_allowed(self, now: float) -> None:
        if self._attempted_at is not None and now - self._attempted_at < self._min_interval:
            return
        self._attempted_at = now
        try:
            self._keys = self._fetch()
        except AuthError:
            _log.warning(
                "JWKS refresh from %s failed; keeping %d cached keys", self.url, len(self._keys)
            )
            return
        self._fetched_at = now

    def _fetch(self) -> dict[str, ResolvedKey]:
        self.fetch_count += 1
        try:
            if self._client is not None:
                response = self._client.get(self.url, timeout=self._timeout)
            else:
                response = httpx.get(self.url, timeout=self._timeout)
            response.raise_for_status()
            if len(response.content) > _MAX_JWKS_BYTES:
                raise AuthError("identity provider key set too large")
            document = response.json()
        except (httpx.HTTPError, ValueError):
            raise AuthError("identity provider keys unavailable") from None
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise AuthError("identity provider key set malformed")
        return _usable_keys(keys)


def _usable_keys(jwks: list[Any]) -> dict[str, ResolvedKey]:
    usable: dict[str, ResolvedKey] = {}
    for jwk in jwks:
        if not isinstance(jwk, dict):
            continue
        kid, kty, use = jwk.get("kid"), jwk.get("kty"), jwk.get("use", "sig")
        if not isinstance(kid, str) or kid in usable or use != "sig" or kty not in _FROM_JWK:
            continue
        try:
            key = _FROM_JWK[kty](jwk)
        except (PyJWTError, ValueError, TypeError, KeyError):
            continue
        entry = resolved(key, jwk.get("alg"))
        if entry is not None:
            usable[kid] = entry
    return usable
