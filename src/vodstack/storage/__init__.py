"""Object storage: where masters and packaged media live (private, never served directly)."""

from __future__ import annotations

from vodstack.config import Settings
from vodstack.errors import ConfigError
from vodstack.storage.base import (
    MASTERS,
    PACKAGED,
    ObjectStore,
    master_key,
    packaged_prefix,
    validate_key,
    windows_prefix,
)
from vodstack.storage.local import LocalStore

__all__ = [
    "MASTERS",
    "PACKAGED",
    "LocalStore",
    "ObjectStore",
    "master_key",
    "open_store",
    "packaged_prefix",
    "validate_key",
    "windows_prefix",
]


def open_store(settings: Settings) -> ObjectStore:
    """The store named by ``settings.storage_url`` (default: a directory under ``home``).

    ``s3://bucket/prefix`` opens an S3 store on the standard AWS credential chain and runs
    its start-up checks (reachable, not public, encrypting) before returning it.
    """
    url = settings.storage_url
    if url is None:
        return LocalStore(settings.objects_dir)
    if url.startswith("file://"):
        from pathlib import Path

        return LocalStore(Path(url.removeprefix("file://")))
    if url.startswith("s3://"):
        # Imported here so boto3 is only needed by deployments that use S3.
        from vodstack.storage.s3 import open_s3_store

        return open_s3_store(url, settings)
    raise ConfigError(f"unsupported storage URL scheme in {url!r} (supported: file://, s3://)")
