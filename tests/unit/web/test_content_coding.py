"""Manifest compression: which coding a client gets for its Accept-Encoding (RFC 9110 §12.5.3)."""

from __future__ import annotations

import brotli
import pytest

from vodstack.web.responses import _brotli, pick_encoding


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),  # what Chromium sends
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("identity", None),
        ("", None),
        ("*", "br"),
        ("*;q=0", None),
        ("*, br;q=0", "gzip"),
        ("GZIP;Q=0.5", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_pick_encoding(header: str, coding: str | None) -> None:
    assert pick_encoding(header) == coding


def test_brotli_round_trips_and_beats_gzip_on_a_manifest() -> None:
    import gzip

    body = b"#EXTM3U\n" + b"".join(
        b"#EXTINF:4.000000,\nr1-4s/v720/%d.m4s\n" % n for n in range(1, 900)
    )
    packed = _brotli(body)
    assert brotli.decompress(packed) == body
    assert len(packed) < len(gzip.compress(body, compresslevel=6))
