"""Inputs the fuzzers found that once escaped as foreign exceptions or wrong answers.

Each test failed before its fix; the input is kept verbatim (bench/fuzz.py artifacts).
"""

from __future__ import annotations

import pytest

from tests.reliability import targets
from vodstack.origin.ranges import parse_range


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-\u00b99",  # atheris: ranges-crash-42c7ca9e…, "¹" is str.isdigit() but not int()
        "bytes=\u00b2-",
        "bytes=-\u00b3",
        "bytes=\u0661-\u0662",  # Arabic-Indic digits: int() accepts them, RFC 9110 does not
    ],
)
def test_range_with_non_ascii_digits_is_ignored(header: str) -> None:
    # RFC 9110 §14.1.1: first-pos/last-pos are 1*DIGIT, and DIGIT is ASCII (RFC 5234 B.1)
    assert parse_range(header, 100) is None


def test_range_crash_input_verbatim() -> None:
    targets.ranges(bytes.fromhex("00000000000000") + b"bytes=0-\xb99")
