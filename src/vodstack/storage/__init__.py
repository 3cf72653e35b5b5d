"""Object storage: where masters and packaged media live (private, never served directly)."""

from __future__ import annotations

from vodstack.config import Settings
from vodstack.errors import ConfigError
from vodstack.storage.base import ObjectStore
from vodstack.storage.local import LocalStore

__all__ = ["LocalStore", "ObjectStore", "open_store"]


def open_store(settings: Settings) -> ObjectStore:
    """The store named by ``settings.storage_url`` (default: a directory under ``home``)."""
    url = settings.storage_url
    if url is None:
        return LocalStore(settings.objects_dir)
    if url.startswith("file://"):
        from pathlib import Path

        return LocalStore(Path(url.removeprefix("file://")))
    raise ConfigError(f"unsupported storage URL scheme in {url!r} (supported: file://)")
