"""Optional not-before on minted cookies (``cookie_not_before_s``): ``mint()`` puts
``DateGreaterThan`` = mint time − skew in the custom policy, byte-for-byte botocore's
``build_policy`` format, and the gate's verifier honours it (an edge whose clock runs behind
the signer's by less than the skew still accepts a fresh cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.signers import CloudFrontSigner
from pydantic import ValidationError
from tests.conftest import make_settings

from vodstack.catalogue.models import Asset
from vodstack.compose.services import Services, build_services
from vodstack.entitlement import cfbase64
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.service import EntitlementService
from vodstack.entitlement.tokens import ViewerClaims
from vodstack.entitlement.verify import SignatureVerifier

from .support import NOW, Clock, utc

ASSET_ID = "a" * 20
VIEWER = ViewerClaims("viewer-1", "vodstack-dev", NOW + 3600, {})
CLIENT = "198.51.100.7"


@pytest.fixture
def make_services(tmp_path: Path) -> Iterator:
    made: list[Services] = []

    def make(**overrides: object) -> Services:
        services = build_services(make_settings(tmp_path / f"home{len(made)}", **overrides))
        made.append(services)
        return services

    yield make
    for services in made:
        services.close()


def mint(services: Services) -> tuple[dict[str, str], int]:
    """Cookies minted at NOW by the real service (real key ring, real key store)."""
    entitlement = EntitlementService(
        services.settings,
        services.catalogue,
        services.grants,
        services.keyring,
        services.entitlement.verifier,
        services.locator,
        clock=Clock(),
    )
    grant = entitlement.mint(VIEWER, Asset(id=ASSET_ID), CLIENT)
    return dict(grant.cookies), grant.expires


def botocore_policy(services: Services, expires: int, **kwargs: object) -> bytes:
    signer = CloudFrontSigner("unused", lambda message: b"")
    resource = f"{services.settings.base_url()}/v1/{ASSET_ID}/*"
    return signer.build_policy(resource, utc(expires), **kwargs).encode()  # type: ignore[arg-type]


def test_default_policy_has_no_not_before(make_services) -> None:
    services = make_services()
    assert services.settings.cookie_not_before_s == 0
    cookies, expires = mint(services)
    policy = cfbase64.decode(cookies["CloudFront-Policy"])
    assert b"DateGreaterThan" not in policy
    assert policy == botocore_policy(services, expires)


def test_not_before_is_botocore_format_and_verified(make_services) -> None:
    services = make_services(cookie_not_before_s=30)
    cookies, expires = mint(services)
    assert expires == NOW + services.settings.cookie_ttl_s
    policy = cfbase64.decode(cookies["CloudFront-Policy"])
    # byte-for-byte what botocore's CloudFrontSigner.build_policy makes for the same grant
    assert policy == botocore_policy(services, expires, date_greater_than=utc(NOW - 30))
    assert b'"DateGreaterThan":{"AWS:EpochTime":%d}' % (NOW - 30) in policy

    clock = Clock()
    verifier = SignatureVerifier(services.keyring.key_group, clock)
    url = f"{services.settings.base_url()}/v1/{ASSET_ID}/index.m3u8"

    def verdict(at: float):
        clock.now = at
        return verifier.verify(url, cookies, None, CLIENT)

    ok = verdict(NOW)
    assert ok.ok, ok
    assert ok.policy == Policy(f"{services.settings.base_url()}/v1/{ASSET_ID}/*", expires, NOW - 30)
    assert verdict(NOW - 29).ok  # an edge 29 s behind the signer still accepts it
    assert verdict(NOW - 30).reason == "not_yet_valid"  # DateGreaterThan is strict
    assert verdict(NOW - 120).reason == "not_yet_valid"
    assert verdict(expires - 1).ok
    assert verdict(expires).reason == "expired"


def test_not_before_with_ip_binding_keeps_botocore_condition_order(make_services) -> None:
    services = make_services(cookie_not_before_s=5, cookie_bind_ip=True)
    cookies, expires = mint(services)
    policy = cfbase64.decode(cookies["CloudFront-Policy"])
    assert policy == botocore_policy(
        services, expires, date_greater_than=utc(NOW - 5), ip_address=f"{CLIENT}/32"
    )
    verifier = SignatureVerifier(services.keyring.key_group, Clock())
    url = f"{services.settings.base_url()}/v1/{ASSET_ID}/index.m3u8"
    assert verifier.verify(url, cookies, None, CLIENT).ok
    assert verifier.verify(url, cookies, None, "203.0.113.1").reason == "ip"


@pytest.mark.parametrize("value", [-1, 3601])
def test_not_before_setting_is_bounded(tmp_path: Path, value: int) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, cookie_not_before_s=value)
