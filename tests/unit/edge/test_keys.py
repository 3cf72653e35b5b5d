"""The edge's cache key: one spelling per object, everything else refused before the cache."""

from __future__ import annotations

import pytest

from vodstack.edge.keys import delivery_key
from vodstack.errors import InvalidInput, NotFound
from vodstack.packaging.layout import cache_path


@pytest.mark.parametrize(
    "path",
    ["index.m3u8", "r1-4s/v180/2.m4s", "r2-4s-cbcs1/a1/init.mp4", "r1-4s/sb/1.jpg"],
)
def test_layout_paths_are_their_own_key(path: str) -> None:
    assert delivery_key(path, path, {}) == path


def test_thumbnails_keep_only_their_canonical_query() -> None:
    params = {"width": "320", "time": "1.50", "nonce": "x"}
    key = delivery_key("thumbnail.jpg", "thumbnail.jpg", params)
    assert key == cache_path("thumbnail.jpg", params) and "nonce" not in key


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("r1-4s/v180/2.m4s%3Fnonce", "r1-4s/v180/2.m4s?nonce"),
        ("r1-4s/v180/2.m4s%23x", "r1-4s/v180/2.m4s#x"),
        ("r1-4s/v180/%32.m4s", "r1-4s/v180/2.m4s"),  # an encoded letter: same object, refused
        ("r1-4s/v180/2.m4s;x", "r1-4s/v180/2.m4s;x"),
    ],
)
def test_encoded_or_non_canonical_spellings_are_refused(raw: str, decoded: str) -> None:
    with pytest.raises(InvalidInput, match="percent-encoded"):
        delivery_key(raw, decoded, {})


@pytest.mark.parametrize("path", ["r1-4s/v180/02.m4s", "r01-4s/v180/2.m4s", "x.m4s", ""])
def test_names_outside_the_layout_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        delivery_key(path, path, {})
