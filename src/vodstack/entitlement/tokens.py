"""Viewer JWT verification (RFC 7519) for ``POST /play/{id}``.

Two modes, chosen once at startup:

- development: tokens from the built-in :class:`~vodstack.entitlement.devidp.DevIdentityProvider`;
- external: tokens from an IdP whose keys come from a JWKS URL
  (:class:`~vodstack.entitlement.jwks.JwksCache`). Development tokens are refused in this mode —
  by issuer before any key lookup, and anyway because their key is not in the IdP's set.

Checks: the header ``alg`` is an asymmetric algorithm pinned to the key's type (never ``none``
or HS*, RFC 8725 §2.1), the signature, ``iss`` and ``aud`` exactly, ``sub`` and ``exp`` present
(RFC 7519 §4.1), and ``exp``/``nbf``/``iat`` against our injected clock with a small leeway
(RFC 7519 §4.1.4-4.1.6 allow "some small leeway" for clock skew). Every failure is an
:class:`~vodstack.errors.AuthError` whose message is a short reason fit for
``WWW-Authenticate`` (RFC 6750 §3) — see :func:`www_authenticate`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jwt

from vodstack.entitlement.devidp import DEV_ISSUER, DevIdentityProvider
from vodstack.entitlement.jwks import JwksCache
from vodstack.entitlement.jwtkeys import ASYMMETRIC_ALGORITHMS, KeyResolver
from vodstack.errors import AuthError, ConfigError

__all__ = ["MAX_TOKEN_LENGTH", "JwtVerifier", "ViewerClaims", "www_authenticate"]

MAX_TOKEN_LENGTH = 8 * 1024
DEFAULT_LEEWAY = 30.0
_REQUIRED = ("iss", "aud", "sub", "exp")


@dataclass(frozen=True)
class ViewerClaims:
    """A verified viewer: subject, issuer, expiry and every claim of the token."""

    subject: str
    issuer: str
    expires_at: float
    claims: Mapping[str, Any]


class JwtVerifier:
    """Verifies viewer tokens against one issuer, one audience and one key resolver."""

    def __init__(
        self,
        keys: KeyResolver,
        *,
        issuer: str,
        audience: str,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.time,
        refused_issuers: Collection[str] = (),
    ) -> None:
        if not issuer or not audience:
            raise ConfigError("a JWT verifier needs an issuer and an audience")
        if issuer in refused_issuers:
            raise ConfigError(f"issuer {issuer!r} is reserved")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock
        self._refused = frozenset(refused_issuers)

    @classmethod
    def development(
        cls,
        idp: DevIdentityProvider,
        *,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.time,
    ) -> JwtVerifier:
        """Accept tokens minted by the built-in development identity provider."""
        return cls(idp, issuer=idp.issuer, audience=idp.audience, leeway=leeway, clock=clock)

    @classmethod
    def external(
        cls,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.time,
    ) -> JwtVerifier:
        """Accept tokens from an external IdP only; development tokens are refused."""
        return cls(
            jwks,
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            clock=clock,
            refused_issuers={DEV_ISSUER},
        )

    def verify(self, token: str) -> ViewerClaims:
        """Return the verified claims or raise :class:`AuthError` with a short reason."""
        if not isinstance(token, str) or not token:
            raise AuthError("missing token")
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ASYMMETRIC_ALGORITHMS:
            raise AuthError("token algorithm not allowed")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("malformed token")
        if self._refused and self._unverified_issuer(token) in self._refused:
            raise AuthError("token issuer not accepted")
        key = self._keys.resolve(kid)
        if alg not in key.algorithms:
            raise AuthError("token algorithm not allowed for its key")
        payload = self._decode(token, key.key, alg)
        return self._check_times(payload)

    def _unverified_issuer(self, token: str) -> object:
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                # Times are checked in _check_times against the injected clock.
                options={
                    "require": list(_REQUIRED),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthError("invalid signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim} claim") from None
        except jwt.InvalidAudienceError:
            raise AuthError("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("wrong issuer") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None

    def _check_times(self, payload: dict[str, Any]) -> ViewerClaims:
        now, leeway = self._clock(), self._leeway
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthError("token lacks the sub claim")
        expires = _numeric_date(payload, "exp")
        assert expires is not None  # required above
        if now - leeway >= expires:
            raise AuthError("token expired")
        not_before = _numeric_date(payload, "nbf")
        if not_before is not None and now + leeway < not_before:
            raise AuthError("token not yet valid")
        issued = _numeric_date(payload, "iat")
        if issued is not None and now + leeway < issued:
            raise AuthError("token issued in the future")
        return ViewerClaims(subject, self._issuer, expires, MappingProxyType(dict(payload)))


def _numeric_date(payload: Mapping[str, Any], name: str) -> float | None:
    """RFC 7519 §2 NumericDate: a JSON number of seconds (non-integer allowed), finite."""
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"token {name} claim is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise AuthError(f"token {name} claim is out of range") from None
    if not math.isfinite(number):
        raise AuthError(f"token {name} claim is not a number")
    return number


def www_authenticate(error: AuthError | None = None, *, realm: str = "vodstack") -> str:
    """The ``WWW-Authenticate`` value for a 401 (RFC 6750 §3).

    No error (no credentials sent) gives just the challenge; otherwise ``invalid_token`` with
    the reason as ``error_description``, restricted to the characters RFC 6750 §3 allows.
    """
    challenge = f'Bearer realm="{_quoted_safe(realm)}"'
    if error is None:
        return challenge
    description = _quoted_safe(error.message) or "invalid token"
    return f'{challenge}, error="invalid_token", error_description="{description}"'


def _quoted_safe(text: str) -> str:
    # RFC 6750 §3: error_description = *( %x20-21 / %x23-5B / %x5D-7E ) - no quote, no backslash.
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')[:200]
