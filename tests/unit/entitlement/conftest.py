"""Fixtures for the entitlement tests: keys are generated once per session (RSA is slow-ish)."""

from __future__ import annotations

import pytest

from vodstack.entitlement.keygroup import KeyGroup, TrustedKey
from vodstack.entitlement.keys import generate_private_key, public_key_pem
from vodstack.entitlement.verify import SignatureVerifier

from .support import CREATED, Clock, Holder, Keys


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa_old=generate_private_key("rsa"),
        rsa_new=generate_private_key("rsa"),
        ecdsa=generate_private_key("ecdsa"),
        stranger=generate_private_key("rsa"),
    )


@pytest.fixture
def group(keys: Keys) -> KeyGroup:
    return KeyGroup(
        [
            TrustedKey("KOLDRSA0000001", public_key_pem(keys.rsa_old), "active", CREATED),
            TrustedKey("KECDSA00000001", public_key_pem(keys.ecdsa), "trusted", CREATED),
        ]
    )


@pytest.fixture
def holder(group: KeyGroup) -> Holder:
    return Holder(group)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(holder: Holder, clock: Clock) -> SignatureVerifier:
    return SignatureVerifier(holder, clock)
