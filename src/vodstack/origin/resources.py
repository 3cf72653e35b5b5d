"""How the origin labels what it answers: content types, cache policies, ETags.

The answers themselves (``BytesResource``, ``FileSlice``) are storage value types
(``vodstack.storage.slices``), shared with the edge and the web responses.
"""

from __future__ import annotations

import hashlib

from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, FileSlice

MANIFEST_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "mpd": "application/dash+xml"}
TEXT_TYPES = {**MANIFEST_TYPES, "vtt": "text/vtt; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"
# Pictures and downloads have no revision in their URL: cached, but not "immutable".
PICTURE_CACHE_CONTROL = "public, max-age=3600"
POSTER_CACHE_CONTROL = "public, max-age=300"


def manifest_cache_control(max_age_s: int) -> str:
    return f"public, max-age={max_age_s}"


def etag(*parts: object) -> str:
    digest = hashlib.blake2s("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


def text_resource(text: str, ext: str, cache_control: str) -> BytesResource:
    """A document made now (a manifest, a playlist, a WebVTT file), tagged by its content."""
    body = text.encode()
    return BytesResource(
        body, TEXT_TYPES[ext], cache_control, etag(hashlib.sha256(body).hexdigest())
    )


def stored_file(store: ObjectStore, key: str, content_type: str, cache_control: str) -> FileSlice:
    """A whole stored file, served like a segment (Range, zero-copy at the edge)."""
    size = store.size(key)
    return FileSlice(
        key=key,
        path=store.local_path(key),
        offset=0,
        length=size,
        content_type=content_type,
        cache_control=cache_control,
        etag=etag(key, size),
    )
