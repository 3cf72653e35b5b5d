"""Content keys and the text forms other layers need (DASH default_KID, ClearKey JWK).

A key is three 16-byte values: the KID that every player and licence request names, the AES
key itself, and an IV. The IV is the constant IV written in ``tenc`` for ``cbcs``
(ISO/IEC 23001-7 §9.1, per-sample IV size 0) and the base from which HLS AES-128 segment IVs
are derived (RFC 8216 §4.3.2.4); ``cenc`` derives its per-sample IVs elsewhere
(:mod:`vodstack.packaging.encryption.fragment`).

The key and IV are kept out of ``repr`` so that logging a ``ContentKey`` never leaks them.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass, field

__all__ = [
    "ContentKey",
    "b64url",
    "b64url_decode",
    "clearkey_jwk",
    "kid_from_uuid",
    "kid_to_uuid",
]

KEY_SIZE = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _check16(name: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != KEY_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise ValueError(f"{name} must be {KEY_SIZE} bytes, got {size}")


@dataclass(frozen=True, slots=True)
class ContentKey:
    """One 128-bit content key with its KID and IV (all 16 bytes)."""

    kid: bytes
    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check16("kid", self.kid)
        _check16("key", self.key)
        _check16("iv", self.iv)

    @classmethod
    def from_hex(cls, kid: str, key: str, iv: str) -> ContentKey:
        """Build from 32-hex-digit strings (the form Shaka Packager and FFmpeg take)."""
        try:
            return cls(bytes.fromhex(kid), bytes.fromhex(key), bytes.fromhex(iv))
        except ValueError as exc:
            raise ValueError(f"content key fields must be 32 hex digits: {exc}") from None

    @property
    def kid_uuid(self) -> str:
        """8-4-4-4-12 form for DASH ``cenc:default_KID`` (ISO/IEC 23001-7 §11.2)."""
        return kid_to_uuid(self.kid)

    @property
    def kid_b64url(self) -> str:
        """The ``kid`` of a W3C EME ClearKey licence request/response (EME §9.1.3)."""
        return b64url(self.kid)


def kid_to_uuid(kid: bytes) -> str:
    """KID bytes in big-endian UUID text, as DASH and CPIX write it."""
    _check16("kid", kid)
    return str(uuid.UUID(bytes=bytes(kid)))


def kid_from_uuid(text: str) -> bytes:
    """Inverse of :func:`kid_to_uuid`; accepts any form ``uuid.UUID`` accepts."""
    try:
        return uuid.UUID(text).bytes
    except ValueError:
        raise ValueError(f"not a UUID: {text!r}") from None


def b64url(data: bytes) -> str:
    """base64url without ``=`` padding: what EME ClearKey JWKs use (W3C EME §9.1.4, RFC 7515
    Appendix C)."""
    return base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; anything else (incl. the ``+/`` of plain
    base64) raises ``ValueError``."""
    stripped = text.rstrip("=")
    if not _B64URL.fullmatch(stripped):
        raise ValueError(f"not base64url: {text!r}")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"not base64url: {text!r}") from None


def clearkey_jwk(key: ContentKey) -> dict[str, str]:
    """One entry of a ClearKey licence response's JWK Set (W3C EME §9.1.4)."""
    return {"kty": "oct", "kid": b64url(key.kid), "k": b64url(key.key)}
