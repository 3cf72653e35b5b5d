from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vodstack.errors import RangeNotSatisfiable
from vodstack.origin.ranges import ByteRange, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=900-5000", ByteRange(900, 999)),
        ("bytes=5-4", None),  # invalid: ignored
        ("bytes=0-1,5-6", None),  # multi-range: whole resource
        ("items=0-1", None),
        ("bytes=a-b", None),
        ("bytes=-", None),
        ("bytes 0-1", None),
    ],
)
def test_parse(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=2000-3000", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


@given(st.text(max_size=60), st.integers(min_value=0, max_value=10**12))
def test_never_raises_anything_else_and_stays_in_bounds(header: str, size: int) -> None:
    try:
        r = parse_range(header, size)
    except RangeNotSatisfiable:
        return
    if r is not None:
        assert 0 <= r.start <= r.end < size
