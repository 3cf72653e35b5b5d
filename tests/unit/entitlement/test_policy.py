"""Policy serialisation (byte-identical to botocore), strict parsing, wildcard matching."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vodstack.entitlement.policy import (
    Policy,
    PolicyError,
    canned_policy,
    evaluate,
    parse_policy,
    resource_matches,
)

from .support import NOW, RESOURCE, SEGMENT_URL, botocore_signer, utc

SIGNER = botocore_signer(key=None)  # type: ignore[arg-type]  # build_policy never signs


@pytest.mark.parametrize(
    ("resource", "less", "greater", "ip"),
    [
        (RESOURCE, NOW, None, None),
        (RESOURCE, NOW, NOW - 60, None),
        (RESOURCE, NOW, None, "203.0.113.7/32"),
        (RESOURCE, NOW, NOW - 60, "203.0.113.0/24"),
        (RESOURCE, NOW, NOW - 60, "203.0.113.7"),  # botocore appends /32
        (RESOURCE, NOW, None, "2001:db8::/64"),
        ("http*://vod.example.com/v1/x?y/*", 0, 1, None),
        ('https://h/päth/"quoted"\\/*', 2**31, None, None),  # escaping of non-ASCII, quotes
        (SEGMENT_URL + "?a=1&b=2", NOW, None, None),
    ],
)
def test_to_json_matches_botocore_byte_for_byte(
    resource: str, less: int, greater: int | None, ip: str | None
) -> None:
    ours = Policy(resource, less, greater, ip).to_json()
    theirs = SIGNER.build_policy(
        resource, utc(less), utc(greater) if greater is not None else None, ip
    )
    assert ours == theirs.encode("utf-8")


def test_canned_policy_is_the_documented_shape() -> None:
    # AWS DG "private-content-creating-signed-url-canned-policy": no whitespace, this order.
    assert canned_policy(
        "https://d111111abcdef8.cloudfront.net/horizon.jpg", 1357034400
    ).to_json() == (
        b'{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/horizon.jpg",'
        b'"Condition":{"DateLessThan":{"AWS:EpochTime":1357034400}}}]}'
    )


@given(
    resource=st.text(min_size=1, max_size=80),
    less=st.integers(0, 2**39),
    greater=st.none() | st.integers(0, 2**39),
    ip=st.none() | st.sampled_from(["10.0.0.1/32", "192.0.2.0/24", "2001:db8::1/128"]),
)
def test_parse_round_trips(resource: str, less: int, greater: int | None, ip: str | None) -> None:
    policy = Policy(resource, less, greater, ip)
    assert parse_policy(policy.to_json()) == policy


def test_bare_ipv6_address_gets_slash_128() -> None:
    assert Policy(RESOURCE, NOW, ip_address="2001:db8::1").ip_address == "2001:db8::1/128"


def _doc(statement: object, **top: object) -> bytes:
    return json.dumps({"Statement": statement, **top}).encode()


_GOOD_STATEMENT = {"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW}}}


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        _doc([]),
        _doc([_GOOD_STATEMENT, _GOOD_STATEMENT]),  # two statements
        _doc(_GOOD_STATEMENT),  # not a list
        _doc([_GOOD_STATEMENT], Extra=1),  # unknown top-level key
        _doc([{**_GOOD_STATEMENT, "Effect": "Allow"}]),  # unknown statement key
        _doc([{"Condition": _GOOD_STATEMENT["Condition"]}]),  # no Resource
        _doc([{"Resource": RESOURCE, "Condition": {}}]),  # no DateLessThan
        _doc([{"Resource": 5, "Condition": _GOOD_STATEMENT["Condition"]}]),
        _doc([{"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": 1.5}}}]),
        _doc([{"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": "1"}}}]),
        _doc([{"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": True}}}]),
        _doc([{"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": -1}}}]),
        _doc([{"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": 10**30}}}]),
        _doc([{"Resource": RESOURCE, "Condition": {"DateLessThan": {"Epoch": NOW}}}]),
        _doc(
            [
                {
                    "Resource": RESOURCE,
                    "Condition": {"DateLessThan": {"AWS:EpochTime": NOW}, "StringLike": {}},
                }
            ]
        ),
        _doc(
            [
                {
                    "Resource": RESOURCE,
                    "Condition": {
                        "DateLessThan": {"AWS:EpochTime": NOW},
                        "IpAddress": {"AWS:SourceIp": "999.0.0.1/32"},
                    },
                }
            ]
        ),
        _doc(
            [
                {
                    "Resource": RESOURCE,
                    "Condition": {
                        "DateLessThan": {"AWS:EpochTime": NOW},
                        "IpAddress": {"AWS:SourceIp": "10.0.0.1"},  # no prefix
                    },
                }
            ]
        ),
        b'{"Statement":[{"Resource":"a","Resource":"b","Condition":{"DateLessThan":'
        b'{"AWS:EpochTime":1}}}]}',  # duplicate key
        b'{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":NaN}}}]}',
        b"[" * 100_000,  # deep nesting is refused by size before recursion
        b'{"Statement":' + b"[" * 3000 + b"]" * 3000 + b"}",
    ],
)
def test_parse_rejects(data: bytes) -> None:
    with pytest.raises(PolicyError):
        parse_policy(data)


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        (RESOURCE, SEGMENT_URL, True),
        (RESOURCE, SEGMENT_URL + "?range=1", True),  # query strings are part of the URL
        (RESOURCE, "https://vod.example.com/v1/a1b2c3/", True),  # * matches zero chars
        (RESOURCE, "https://vod.example.com/v1/a1b2c3", False),
        (RESOURCE, "https://vod.example.com/v1/a1b2c3X/seg.m4s", False),  # prefix trick
        (RESOURCE, "https://vod.example.com/v1/a1b2c/3/seg.m4s", False),
        (RESOURCE, "https://evil.example.com/v1/a1b2c3/seg.m4s", False),  # other host
        (RESOURCE, "http://vod.example.com/v1/a1b2c3/seg.m4s", False),  # other scheme
        (RESOURCE, "https://vod.example.com/v1/a1b2c3/../b/seg.m4s", True),  # literal match
        ("http*://h/x", "https://h/x", True),
        ("http*://h/x", "http://h/x", True),
        ("https://h/?", "https://h/a", True),
        ("https://h/?", "https://h/", False),
        ("https://h/?", "https://h/ab", False),
        ("https://h/a.c", "https://h/abc", False),  # '.' is literal, not a regex
        ("https://h/(a|b)", "https://h/a", False),
        ("https://h/[ab]", "https://h/a", False),
        ("https://h/a+", "https://h/aa", False),
        ("https://h/*/*/z", "https://h/a/b/c/z", True),
        ("https://h/*a*b", "https://h/xxaxxbxb", True),
        ("*", "", True),
        ("", "", True),
        ("", "x", False),
    ],
)
def test_resource_matches(pattern: str, url: str, expected: bool) -> None:
    assert resource_matches(pattern, url) is expected


def test_resource_match_is_not_exponential() -> None:
    pattern = "https://h/" + "*a" * 60 + "*b"
    assert resource_matches(pattern, "https://h/" + "a" * 3000) is False


def test_evaluate_reasons() -> None:
    policy = Policy(RESOURCE, NOW + 60, NOW - 60, "198.51.100.7/32")
    assert evaluate(policy, SEGMENT_URL, NOW, "198.51.100.7") is None
    assert evaluate(policy, SEGMENT_URL, NOW + 60, "198.51.100.7") == "expired"
    assert evaluate(policy, SEGMENT_URL, NOW - 60, "198.51.100.7") == "not_yet_valid"
    assert evaluate(policy, SEGMENT_URL.replace("a1b2c3", "zzz"), NOW, "198.51.100.7") == "scope"
    assert evaluate(policy, SEGMENT_URL, NOW, "198.51.100.8") == "ip"
    assert evaluate(policy, SEGMENT_URL, NOW, "::ffff:198.51.100.7") is None  # dual-stack socket
    assert evaluate(policy, SEGMENT_URL, NOW, "not-an-ip") == "ip"
    assert evaluate(policy, SEGMENT_URL, NOW, "") == "ip"


def test_evaluate_ipv6_slash_128() -> None:
    policy = Policy(RESOURCE, NOW + 60, ip_address="2001:db8::7/128")
    assert evaluate(policy, SEGMENT_URL, NOW, "2001:db8::7") is None
    assert evaluate(policy, SEGMENT_URL, NOW, "2001:db8::8") == "ip"
    assert evaluate(policy, SEGMENT_URL, NOW, "198.51.100.7") == "ip"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resource": "", "date_less_than": NOW},
        {"resource": RESOURCE, "date_less_than": 1.5},
        {"resource": RESOURCE, "date_less_than": True},
        {"resource": RESOURCE, "date_less_than": NOW, "ip_address": "10.0.0.0/33"},
        {"resource": RESOURCE, "date_less_than": NOW, "ip_address": " 10.0.0.1"},
    ],
)
def test_policy_constructor_validates(kwargs: dict) -> None:
    with pytest.raises(PolicyError):
        Policy(**kwargs)
