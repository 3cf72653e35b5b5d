"""Signing key material: generation, PEM round-trips and CloudFront-style key ids.

CloudFront accepts RSA-2048 and ECDSA P-256 public keys in a trusted key group (AWS CloudFront
API Reference, ``PublicKeyConfig``; Developer Guide "private-content-trusted-signers",
"Create a key pair for a trusted key group"). We accept the same, plus larger RSA keys, and
refuse anything else at load time so a weak or exotic key never reaches the verifier.

Error messages here never contain key material.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vodstack.errors import ConfigError, InvalidInput

__all__ = [
    "KeyKind",
    "PrivateKey",
    "PublicKey",
    "fingerprint",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "new_key_id",
    "private_key_pem",
    "public_key_pem",
]

KeyKind = Literal["rsa", "ecdsa"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_ID_ALPHABET = string.ascii_uppercase + string.digits
_MIN_RSA_BITS = 2048


def new_key_id() -> str:
    """A fresh id shaped like CloudFront's public key ids ("K" + 13 upper-case alphanumerics)."""
    return "K" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


def generate_private_key(kind: KeyKind = "rsa") -> PrivateKey:
    """RSA-2048 (CloudFront's default) or ECDSA P-256."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise InvalidInput(f"unknown key kind {kind!r}; use 'rsa' or 'ecdsa'")


def public_key_pem(key: PrivateKey | PublicKey) -> str:
    """SubjectPublicKeyInfo PEM, the format CloudFront's ``EncodedKey`` takes."""
    public = (
        key.public_key() if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) else key
    )
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def private_key_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_public_key(pem: str | bytes) -> PublicKey:
    """Load and vet a public key: RSA of at least 2048 bits, or ECDSA on P-256."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInput("public key is not a PEM SubjectPublicKeyInfo key") from None
    _vet(key)
    return key  # type: ignore[return-value]


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """Load and vet a private key; a wrong or missing passphrase is a :class:`ConfigError`."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase or None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(
            "private key cannot be loaded (corrupt file, or wrong/missing passphrase)"
        ) from None
    _vet(key)
    return key  # type: ignore[return-value]


def fingerprint(key: PublicKey) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo: identifies a key independent of its id."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def _vet(key: object) -> None:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < _MIN_RSA_BITS:
            raise InvalidInput(f"RSA keys must have at least {_MIN_RSA_BITS} bits")
        return
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidInput("ECDSA keys must use curve P-256 (secp256r1)")
        return
    raise InvalidInput("only RSA and ECDSA P-256 keys are supported")
