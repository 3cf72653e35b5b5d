"""What the server side chooses for an asset that arrives without it (direct uploads, URL
ingests): title, ladder, free metadata — checked once here, at the API's door."""

from __future__ import annotations

import json
import re
from typing import Any

from vodstack.errors import InvalidInput

MAX_KEYS = 50
MAX_KEY = 64
MAX_VALUE = 1000
MAX_JSON = 16 * 1024
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def check_metadata(meta: dict[str, Any] | None) -> dict[str, str] | None:
    """Free key/values: at most 50 keys of ``[A-Za-z0-9_.:-]`` (≤ 64 characters), string
    values of ≤ 1000 characters, 16 KiB in all."""
    if meta is None:
        return None
    if len(meta) > MAX_KEYS:
        raise InvalidInput(f"metadata has {len(meta)} keys; at most {MAX_KEYS}")
    for key, value in meta.items():
        if len(key) > MAX_KEY or not _KEY.fullmatch(key):
            raise InvalidInput(
                f"metadata key {key[:80]!r} is not 1-{MAX_KEY} of letters, digits, _ . : -"
            )
        if not isinstance(value, str):
            raise InvalidInput(f"metadata value of {key!r} must be a string")
        if len(value) > MAX_VALUE:
            raise InvalidInput(f"metadata value of {key!r} is over {MAX_VALUE} characters")
    if len(json.dumps(meta)) > MAX_JSON:
        raise InvalidInput(f"metadata is over {MAX_JSON} bytes")
    return dict(meta)


def check_ladder(ladder: str | None, known: dict[str, Any]) -> str | None:
    if ladder is not None and ladder not in known:
        raise InvalidInput(f"no ladder named {ladder!r}; known: {', '.join(known)}")
    return ladder


def check_max_bytes(requested: int | None, limit: int) -> int:
    """The size cap of one upload: what the caller asked, never above ``max_upload_bytes``."""
    if requested is None:
        return limit
    if requested <= 0:
        raise InvalidInput("max_bytes must be at least 1")
    if requested > limit:
        raise InvalidInput(f"max_bytes is over the server's limit of {limit} bytes")
    return requested
