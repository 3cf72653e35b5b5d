"""The store callers use: named secrets in one backend, created once for every node."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vodstack.errors import ConfigError
from vodstack.secrets.base import NAME, SecretBackend
from vodstack.secrets.files import FileBackend
from vodstack.secrets.url import open_backend

if TYPE_CHECKING:
    from vodstack.config import Settings


class SecretStore:
    """Named secrets in one backend (a directory by default)."""

    def __init__(self, directory: Path | None = None, *, backend: SecretBackend | None = None):
        if backend is None:
            if directory is None:
                raise ValueError("a directory or a backend is needed")
            backend = FileBackend(directory)
        self.backend = backend
        self.directory = directory  # the file backend's, else None

    def __repr__(self) -> str:
        return f"SecretStore({self.backend.description!r})"

    @property
    def shared(self) -> bool:
        """Whether secrets live outside this machine's files (a db or cloud backend)."""
        return not isinstance(self.backend, FileBackend)

    @staticmethod
    def _check(name: str) -> str:
        if not isinstance(name, str) or NAME.fullmatch(name) is None:
            raise ConfigError(f"invalid secret name {name!r}")
        return name

    def read(self, name: str) -> bytes | None:
        return self.backend.read(self._check(name))

    def write(self, name: str, value: bytes) -> None:
        self.backend.write(self._check(name), value)

    def create(self, name: str, value: bytes) -> bool:
        return self.backend.create(self._check(name), value)

    def delete(self, name: str) -> None:
        self.backend.delete(self._check(name))

    def names(self, prefix: str = "") -> list[str]:
        return self.backend.names(prefix)

    def get_or_create(self, name: str, factory: Callable[[], bytes]) -> bytes:
        existing = self.read(name)
        if existing is not None:
            return existing
        if self.create(name, factory()):
            return self.read(name) or b""
        value = self.read(name)  # another node created it first: use theirs
        if value is None:
            raise ConfigError(f"secret {name!r} exists but cannot be read from {self!r}")
        return value

    def admin_token(self, configured: str | None) -> str:
        """The admin bearer token: the configured one, else the one generated on first run."""
        if configured:
            return configured
        raw = self.get_or_create("admin-token", lambda: secrets.token_urlsafe(32).encode())
        return raw.decode().strip()


def random_token() -> bytes:
    """A new generated secret value (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32).encode()


def open_secret_store(settings: Settings) -> SecretStore:
    """The store ``VODSTACK_SECRETS_URL`` names (``file`` when unset)."""
    url = settings.secrets_url.strip()
    if url in ("", "file"):
        return SecretStore(settings.secrets_dir)
    return SecretStore(backend=open_backend(url, settings))
