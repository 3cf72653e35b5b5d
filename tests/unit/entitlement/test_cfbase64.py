"""CloudFront base64: the alphabet swap, and strict decoding of untrusted input."""

from __future__ import annotations

import base64

import pytest
from botocore.signers import CloudFrontSigner
from hypothesis import given
from hypothesis import strategies as st

from vodstack.entitlement import cfbase64


@given(st.binary(max_size=600))
def test_round_trip_and_matches_botocore_encoder(data: bytes) -> None:
    encoded = cfbase64.encode(data)
    assert encoded == CloudFrontSigner("K", lambda m: m)._url_b64encode(data).decode()
    if data:  # an empty value is refused: no signature or policy is ever empty
        assert cfbase64.decode(encoded) == data


def test_uses_cloudfront_alphabet_not_base64url() -> None:
    data = b"\xfb\xff\xfe?"  # standard base64 "+//+Pw==" exercises all three swaps
    assert base64.b64encode(data) == b"+//+Pw=="
    assert cfbase64.encode(data) == "-~~-Pw__"
    assert cfbase64.decode("-~~-Pw__") == data


@pytest.mark.parametrize(
    "bad",
    [
        "",  # empty
        "+//+Pw==",  # standard alphabet
        "-__-Pw",  # base64url without padding
        "-~~-Pw_",  # wrong padding length
        "-~~-P___",  # three pad characters
        "ab_c",  # padding in the middle
        "abc",  # truncated
        "ab cd",  # whitespace
        "abcd\n",  # trailing newline
        "Pw__Pw__",  # data after padding
        "Px__",  # non-canonical trailing bits (decodes to the same byte as Pw__)
        "é" * 4,  # non-ASCII
    ],
)
def test_rejects_garbage(bad: str) -> None:
    with pytest.raises(cfbase64.CfBase64Error):
        cfbase64.decode(bad)


def test_rejects_oversized_input() -> None:
    big = cfbase64.encode(b"x" * 7000)
    assert len(big) > cfbase64.MAX_ENCODED_LENGTH
    with pytest.raises(cfbase64.CfBase64Error, match="longer than"):
        cfbase64.decode(big)
    assert cfbase64.decode(big, max_length=len(big)) == b"x" * 7000
