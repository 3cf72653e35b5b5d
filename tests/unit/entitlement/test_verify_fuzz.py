"""Property: whatever arrives in cookies, query or URL, the verifier answers a denial verdict
(never an exception, never an accidental ``ok``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vodstack.entitlement import cfbase64
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies
from vodstack.entitlement.verify import REASONS, SignatureVerifier, parse_cookie_header

from .support import NOW, RESOURCE, SEGMENT_URL, Keys

NAMES = [
    "CloudFront-Policy",
    "CloudFront-Signature",
    "CloudFront-Key-Pair-Id",
    "CloudFront-Expires",
    "CloudFront-Hash-Algorithm",
]
QUERY_NAMES = ["Policy", "Signature", "Key-Pair-Id", "Expires", "Hash-Algorithm", "x"]
ALPHABET = "ABCDEFabcdef0123456789-_~+/=%&?;\"' \t\n\x00é"

values = (
    st.text(alphabet=ALPHABET, max_size=60)
    | st.text(max_size=40)
    | st.builds(cfbase64.encode, st.binary(min_size=1, max_size=300))
)
value_or_list = values | st.lists(values, max_size=3)
cookie_maps = st.dictionaries(st.sampled_from([*NAMES, "other"]), value_or_list, max_size=6)
query_maps = st.none() | st.dictionaries(st.sampled_from(QUERY_NAMES), value_or_list, max_size=6)
urls = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda q: f"{SEGMENT_URL}?{q}",
        st.text(alphabet=ALPHABET + "PolicySignatureKeyPairIdExpires", max_size=120),
    ),
)
ips = st.sampled_from(["198.51.100.7", "::1", "", "garbage", "::ffff:198.51.100.7"]) | st.text(
    max_size=20
)
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(url=urls, cookies=cookie_maps, query=query_maps, ip=ips)
def test_random_input_is_always_a_denial(
    verifier: SignatureVerifier, url: str, cookies: dict, query: dict | None, ip: str
) -> None:
    verdict = verifier.verify(url, cookies, query, ip)
    assert not verdict.ok
    assert verdict.reason in REASONS


@FUZZ
@given(
    header=st.text(alphabet=ALPHABET + "CloudFront-PolicySignatureKeyPairIdExpires", max_size=200)
)
def test_random_cookie_headers_are_denied(verifier: SignatureVerifier, header: str) -> None:
    verdict = verifier.verify(SEGMENT_URL, parse_cookie_header(header), None, "198.51.100.7")
    assert not verdict.ok
    assert verdict.reason in REASONS


@pytest.fixture(scope="module")
def valid_cookies(keys: Keys) -> dict[str, str]:
    return signed_cookies(Policy(RESOURCE, NOW + 3600), "KOLDRSA0000001", keys.rsa_old)


@FUZZ
@given(field=st.sampled_from(NAMES), replacement=value_or_list, ip=ips)
def test_one_mutated_part_of_a_valid_grant_is_denied(
    verifier: SignatureVerifier, valid_cookies: dict, field: str, replacement, ip: str
) -> None:
    # What the verifier will see for ``field``: a list of one is the value, an empty list is none.
    effective = replacement
    if isinstance(replacement, list):
        effective = replacement[0] if len(replacement) == 1 else (None if not replacement else "*")
    if effective == valid_cookies.get(field) or (
        field == "CloudFront-Hash-Algorithm" and effective in (None, "SHA1")
    ):
        return  # the grant is unchanged (or names the default hash explicitly)
    cookies = {**valid_cookies, field: replacement}
    verdict = verifier.verify(SEGMENT_URL, cookies, None, ip)
    assert not verdict.ok
    assert verdict.reason in REASONS


def test_reason_vocabulary_is_fixed() -> None:
    # Metric labels: changing them breaks dashboards, so the set is pinned.
    assert set(REASONS) == {
        "missing",
        "malformed",
        "unknown_key",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "scope",
        "ip",
        "ambiguous",
    }
