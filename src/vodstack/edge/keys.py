"""The edge's cache key for a delivery request: the parsed delivery path, one spelling each.

Why strict: the server decodes ``%XX`` before routing, and the layout parser used to read a
decoded ``?`` as the start of a query, so ``…/2.m4s%3Fnonce`` resolved to the real segment
under a cache key of its own — one viewer could turn every request into an origin fetch and
a fresh disk copy, flushing the cache for everyone (RFC 9111 §4.1 keys on the whole URI; a
CDN in front of us would do the same). Delivery URLs are built by us (``packaging.layout``)
and never need percent-encoding, so a request spelled any other way is refused before the
cache, with a reason, and a path outside the layout is a 404 without an origin fetch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from vodstack.errors import InvalidInput, NotFound
from vodstack.packaging import cache_path, parse_delivery_path

# RFC 3986 §2.3 unreserved characters minus "~", plus "/": every layout name is made of these.
_PLAIN = re.compile(r"[A-Za-z0-9._/-]*")


def delivery_key(
    raw_rest: str, path: str, params: Mapping[str, str], duration_s: float | None = None
) -> str:
    """The cache path of a request for ``/v1/{assetId}/{path}``.

    ``raw_rest`` is the same part as the client sent it (before percent-decoding). Raises
    ``InvalidInput`` for an encoded or otherwise non-canonical spelling and ``NotFound`` for
    a path that names nothing in the layout."""
    if raw_rest != path or _PLAIN.fullmatch(path) is None:
        raise InvalidInput(
            "delivery URLs are never percent-encoded and contain only letters, digits, "
            "'.', '-', '_' and '/'; request the URL exactly as the manifest names it"
        )
    if not _in_layout(path):
        raise NotFound(f"no such resource {path[:120]!r}")
    return cache_path(path, params, duration_s)


@lru_cache(maxsize=8192)
def _in_layout(path: str) -> bool:
    """Memoised: this runs on every hit, and a popular title asks for the same few paths;
    made-up names only churn this bounded LRU."""
    return parse_delivery_path(path) is not None
