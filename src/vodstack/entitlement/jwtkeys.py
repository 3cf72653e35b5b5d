"""Which key, and which algorithms, a viewer JWT may be verified with.

Algorithms are pinned per key *type* (RFC 8725 §2.1, §3.1): an RSA key allows only RS*/PS*, an
EC key only the ES* of its curve. HMAC (HS*) and ``none`` are never allowed, so a public key can
never be used as an HMAC secret (the classic RS/HS confusion, RFC 8725 §2.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "JwtPublicKey",
    "KeyResolver",
    "ResolvedKey",
    "allowed_algorithms",
    "resolved",
]

JwtPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_BY_CURVE = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
#: Every algorithm a token header may name at all; anything else is refused before key lookup.
ASYMMETRIC_ALGORITHMS = _RSA | frozenset(_EC_BY_CURVE.values()) | {"EdDSA"}
_MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class ResolvedKey:
    """A verification key and the only algorithms a token may use with it."""

    key: JwtPublicKey = field(repr=False)
    algorithms: frozenset[str]


class KeyResolver(Protocol):
    """Finds the key for a token's ``kid``; raises ``AuthError`` when there is none."""

    def resolve(self, kid: str | None) -> ResolvedKey: ...


def allowed_algorithms(key: Any) -> frozenset[str]:
    """Algorithms a key may verify; empty for keys we refuse (weak RSA, unknown curves)."""
    if isinstance(key, rsa.RSAPublicKey):
        return _RSA if key.key_size >= _MIN_RSA_BITS else frozenset()
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = _EC_BY_CURVE.get(key.curve.name)
        return frozenset({alg}) if alg else frozenset()
    if isinstance(key, ed25519.Ed25519PublicKey):
        return frozenset({"EdDSA"})
    return frozenset()


def resolved(key: Any, declared_alg: object = None) -> ResolvedKey | None:
    """Pin ``key`` to its allowed algorithms, narrowed to a JWK's declared ``alg`` if any."""
    public_key: Callable[[], Any] | None = getattr(key, "public_key", None)
    if not isinstance(key, JwtPublicKey) and public_key is not None:
        key = public_key()  # a JWK that carried private parameters: keep only the public half
    algorithms = allowed_algorithms(key)
    if declared_alg is not None:
        algorithms = algorithms & {declared_alg} if isinstance(declared_alg, str) else frozenset()
    return ResolvedKey(key, algorithms) if algorithms else None
