"""Secrets on disk: generated on first use, written atomically with 0600 permissions.

Why a file store and not the catalogue: the catalogue is shared, backed up and queried by
tools; secrets must not ride along. Values are never logged; callers get them as str/bytes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from vodstack.errors import ConfigError


class SecretStore:
    """A directory of small secret files, one per name."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ConfigError(f"invalid secret name {name!r}")
        return self.directory / name

    def read(self, name: str) -> bytes | None:
        path = self._path(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self, name: str, value: bytes) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a secret."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        path = self._path(name)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(value)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def get_or_create(self, name: str, factory: Callable[[], bytes]) -> bytes:
        existing = self.read(name)
        if existing is not None:
            return existing
        value = factory()
        self.write(name, value)
        return value

    def admin_token(self, configured: str | None) -> str:
        """The admin bearer token: the configured one, else the one generated on first run."""
        if configured:
            return configured
        raw = self.get_or_create("admin-token", lambda: secrets.token_urlsafe(32).encode())
        return raw.decode().strip()
