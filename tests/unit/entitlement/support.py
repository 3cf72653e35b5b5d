"""Constants and helpers shared by the entitlement tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from vodstack.entitlement.keygroup import KeyGroup
from vodstack.entitlement.keys import PrivateKey

HOST = "https://vod.example.com"
ASSET = "a1b2c3"
RESOURCE = f"{HOST}/v1/{ASSET}/*"
SEGMENT_URL = f"{HOST}/v1/{ASSET}/v720/seg-00042.m4s"
NOW = 1_800_000_000
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Keys:
    rsa_old: PrivateKey
    rsa_new: PrivateKey
    ecdsa: PrivateKey
    stranger: PrivateKey


@dataclass
class Holder:
    """A swappable key group, as the catalogue-backed provider will be."""

    group: KeyGroup
    calls: int = field(default=0)

    def __call__(self) -> KeyGroup:
        self.calls += 1
        return self.group


def rsa_sha1_signer(key: PrivateKey) -> Callable[[bytes], bytes]:
    """The signer callable botocore's CloudFrontSigner expects (RSA-SHA1 PKCS#1 v1.5)."""
    return lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # type: ignore[call-arg,arg-type]


def botocore_signer(key: PrivateKey, key_id: str = "KOLDRSA0000001") -> CloudFrontSigner:
    return CloudFrontSigner(key_id, rsa_sha1_signer(key))


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
