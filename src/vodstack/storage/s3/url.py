"""``s3://bucket/prefix`` plus the settings: the store ``open_store`` hands out, checked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vodstack.errors import ConfigError, InvalidInput
from vodstack.storage.s3.store import S3Store

if TYPE_CHECKING:
    from vodstack.config import Settings

log = logging.getLogger(__name__)


def open_s3_store(url: str, settings: Settings, *, client: Any = None) -> S3Store:
    """The store for ``s3://bucket/prefix``, checked before it is handed out.

    Options come from the ``s3_*`` settings (``VODSTACK_S3_*``); credentials from the
    standard AWS chain, never from the URL."""
    parts = urlsplit(url)
    shown = f"s3://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"  # never echo user:password
    if parts.scheme != "s3" or parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigError(
            f"expected s3://bucket/prefix, got {shown!r} (credentials come from the standard "
            "AWS variables, never from the URL)"
        )
    try:
        store = S3Store(
            parts.netloc,
            parts.path,
            client=client,
            endpoint_url=settings.s3_endpoint_url or None,  # an empty variable means unset
            sse=settings.s3_sse,
            kms_key_id=settings.s3_kms_key_id or None,
            cache_dir=settings.s3_cache_dir,
            cache_bytes=settings.s3_cache_bytes,
        )
    except InvalidInput as exc:
        raise ConfigError(f"invalid prefix in storage URL {shown!r}: {exc.message}") from exc
    store.check()
    log.info("object store: %r, SSE %s", store, store.sse)
    return store
