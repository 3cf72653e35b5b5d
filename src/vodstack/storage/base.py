"""The object store seam: masters and packaged media live behind this protocol.

Keys are relative, slash-separated and validated here once, so no caller can build a key
that escapes the store (path traversal is impossible by construction, not by checks spread
around the code base).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from vodstack.errors import InvalidInput

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")

MASTERS = "masters"
PACKAGED = "packaged"


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise.

    Every segment must start with an alphanumeric, so ``.``/``..`` and hidden names are
    impossible; only ``[A-Za-z0-9._-]`` characters are allowed.
    """
    if len(key) > 512 or not _KEY.fullmatch(key):
        raise InvalidInput(f"invalid object key {key!r}")
    return key


def master_key(asset_id: str, extension: str) -> str:
    return validate_key(f"{MASTERS}/{asset_id}/source{extension}")


def packaged_prefix(asset_id: str, revision: int) -> str:
    return validate_key(f"{PACKAGED}/{asset_id}/{revision}")


def windows_prefix(asset_id: str, revision: int) -> str:
    """Per-window chunks of a windowed revision (transcode.windowed), beside its files."""
    return validate_key(f"{PACKAGED}/{asset_id}/w{revision}")


class ObjectStore(Protocol):
    """What vodstack needs from storage: atomic writes, seekable reads, prefix listing."""

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A file to write ``key``; visible only after the block exits without error."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A seekable binary reader for ``key``; raises NotFound."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file's path when the store is a local directory (lets the origin use sendfile)."""
        ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def publish_directory(self, local_dir: Path, prefix: str) -> None:
        """Make every file of ``local_dir`` appear under ``prefix`` at once (or fail whole)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many."""
        ...
