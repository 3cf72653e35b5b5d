"""The built-in development identity provider: mints viewer JWTs for local use and tests.

Tokens are ES256 (default) or RS256 JWTs (RFC 7519) with ``iss``, ``aud``, ``sub``, ``iat``,
``nbf``, ``exp`` and ``jti``. The signing key lives in the :class:`PrivateKeyStore` so tokens keep
verifying across restarts; its ``kid`` is the RFC 7638 JWK thumbprint, so a new key gets a new
kid by itself. When an external issuer is configured the CLI must not mint, and the external
verifier refuses these tokens (see :mod:`vodstack.entitlement.tokens`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from vodstack.entitlement.jwtkeys import ResolvedKey
from vodstack.entitlement.keys import PrivateKey, generate_private_key
from vodstack.entitlement.keystore import PrivateKeyStore
from vodstack.errors import AuthError, InvalidInput

__all__ = ["DEV_AUDIENCE", "DEV_ISSUER", "DevIdentityProvider"]

DEV_ISSUER = "vodstack-dev"
DEV_AUDIENCE = "vodstack"
_STORE_NAME = "jwt-dev"
#: Claims the provider sets itself; callers may not override them through ``claims``.
_REGISTERED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
# RFC 7638 §3.2: the required members, per key type, that form the thumbprint.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


class DevIdentityProvider:
    """Mints and (via :meth:`resolve`) verifies development viewer tokens."""

    def __init__(
        self,
        private_key: PrivateKey,
        *,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            if not isinstance(private_key.curve, ec.SECP256R1):
                raise InvalidInput("the development IdP signs ES256: its EC key must be P-256")
            self._algorithm: Literal["ES256", "RS256"] = "ES256"
            self._jwk: dict[str, Any] = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        elif isinstance(private_key, rsa.RSAPrivateKey):
            self._algorithm = "RS256"
            self._jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        else:
            raise InvalidInput("the development IdP needs an RSA or ECDSA P-256 key")
        self._private_key = private_key
        self._verification = ResolvedKey(private_key.public_key(), frozenset({self._algorithm}))
        self._kid = _thumbprint(self._jwk)
        self.issuer = issuer
        self.audience = audience
        self._clock = clock

    def __repr__(self) -> str:
        return f"DevIdentityProvider(issuer={self.issuer!r}, kid={self._kid!r})"

    @classmethod
    def load_or_create(
        cls,
        store: PrivateKeyStore,
        *,
        algorithm: Literal["ES256", "RS256"] = "ES256",
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        clock: Callable[[], float] = time.time,
    ) -> DevIdentityProvider:
        """Use the stored dev key, generating it on first run.

        ``algorithm`` only chooses the kind of a *new* key; an existing key keeps its kind.
        """
        if store.exists(_STORE_NAME):
            key = store.load(_STORE_NAME)
        else:
            key = generate_private_key("ecdsa" if algorithm == "ES256" else "rsa")
            try:
                store.save(_STORE_NAME, key)
            except InvalidInput:  # another node (shared secret store) saved one first
                key = store.load(_STORE_NAME)
        return cls(key, issuer=issuer, audience=audience, clock=clock)

    @property
    def key_id(self) -> str:
        return self._kid

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 7517) with ``kid``, ``alg`` and ``use``."""
        return {**self._jwk, "kid": self._kid, "alg": self._algorithm, "use": "sig"}

    def mint(self, subject: str, claims: Mapping[str, Any] | None = None, ttl: int = 3600) -> str:
        """A signed token for ``subject`` valid for ``ttl`` seconds from now.

        ``claims`` adds private claims (plan, institution, ...); registered claims are set here
        (RFC 7519 §4.1) and cannot be overridden.
        """
        if not isinstance(subject, str) or not subject:
            raise InvalidInput("token subject must be a non-empty string")
        if ttl <= 0:
            raise InvalidInput("token ttl must be a positive number of seconds")
        extra = dict(claims or {})
        clash = sorted(_REGISTERED & extra.keys())
        if clash:
            raise InvalidInput(f"claims may not set registered claims: {', '.join(clash)}")
        now = int(self._clock())
        payload = {
            **extra,
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(
            payload, self._private_key, algorithm=self._algorithm, headers={"kid": self._kid}
        )

    def resolve(self, kid: str | None) -> ResolvedKey:
        """:class:`~vodstack.entitlement.jwtkeys.KeyResolver` for development tokens."""
        if kid != self._kid:
            raise AuthError("unknown signing key")
        return self._verification


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(canonical).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
