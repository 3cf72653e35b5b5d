"""Secrets (signing keys, the content-key vault's master key, origin and webhook secrets, the
admin token): generated on first use, kept in one store that every node of an installation
can reach, never logged; callers get them as bytes.

Where they live is ``VODSTACK_SECRETS_URL`` (backends in ``secretbackends.py``):

==================  =======================================================================
``file`` (default)  a directory of 0600 files (``home/secrets``): one machine, or a mounted
                    secret volume.
``db``              the catalogue database, each value AES-256-GCM encrypted under a key
                    derived (scrypt) from ``VODSTACK_SECRETS_PASSPHRASE``: every node that
                    reaches the catalogue and knows the passphrase shares the secrets.
``db+kms://KEY``    the same table, sealed under a data key AWS KMS generated and wrapped
                    (only the wrapped key is stored; nodes unwrap it with kms:Decrypt).
``aws-sm://P``      AWS Secrets Manager, secret ``P/<name>`` (what the reference
                    architecture uses; KMS-encrypted by AWS, IAM-scoped per node role).
``aws-ssm://P``     SSM Parameter Store ``SecureString`` parameters ``/P/<name>``.
==================  =======================================================================

Why not plain catalogue rows: the catalogue is shared, backed up and queried by tools;
secrets must not ride along readable, hence the encryption of the ``db`` backend.

Several nodes may start at once on an empty store: creation is create-if-absent in every
backend (``O_EXCL`` link, a unique row, ``CreateSecret``/``PutParameter`` without overwrite),
and the loser reads the winner's value, so all nodes end up with the same secret.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vodstack.errors import ConfigError

if TYPE_CHECKING:
    from vodstack.config import Settings

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)


class SecretBackend(Protocol):
    """Where secret values are kept; names are checked by :class:`SecretStore`."""

    description: str

    def read(self, name: str) -> bytes | None: ...

    def write(self, name: str, value: bytes) -> None:
        """Create or replace."""

    def create(self, name: str, value: bytes) -> bool:
        """Create only if absent; False when the name exists (another node won)."""

    def delete(self, name: str) -> None: ...

    def names(self, prefix: str) -> list[str]:
        """Names starting with ``prefix``, sorted."""


class FileBackend:
    """A directory of small secret files, one per name, 0600 in a 0700 directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.description = str(directory)

    def read(self, name: str) -> bytes | None:
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def _temp(self, name: str, value: bytes) -> Path:
        """``value`` fully written and synced under a temporary name (never half a secret)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        tmp = self.directory / f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(value)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    def write(self, name: str, value: bytes) -> None:
        tmp = self._temp(name, value)
        try:
            os.replace(tmp, self.directory / name)
        finally:
            tmp.unlink(missing_ok=True)

    def create(self, name: str, value: bytes) -> bool:
        tmp = self._temp(name, value)
        try:
            os.link(tmp, self.directory / name)  # atomic, and fails if the name exists
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def delete(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def names(self, prefix: str) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            p.name
            for p in self.directory.iterdir()
            if p.name.startswith(prefix) and _NAME.fullmatch(p.name) and p.is_file()
        )


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
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
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


#: How often a node reads a live secret again: a rotation reaches every node within this.
LIVE_SECRET_TTL_S = 5.0
PREVIOUS = ".previous"


class LiveSecret:
    """A generated shared secret (origin secret, webhook secret) that every node reads again
    at most every ``ttl_s``, so ``vodstack secrets rotate NAME`` on one node reaches the
    others without a restart.

    ``values()`` is the current value, then the previous one the rotation kept
    (``NAME.previous``): receivers (an origin checking its edges) accept both while senders
    (edges, the webhook sender) pick up the new one within ``ttl_s``."""

    def __init__(
        self,
        store: SecretStore,
        name: str,
        factory: Callable[[], bytes],
        *,
        ttl_s: float = LIVE_SECRET_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.name, self.factory = store, name, factory
        self.ttl_s, self.clock = ttl_s, clock
        self._lock = threading.Lock()
        self._values: tuple[bytes, ...] = ()
        self._read_at = -float("inf")

    def values(self) -> tuple[bytes, ...]:
        with self._lock:
            if self.clock() - self._read_at >= self.ttl_s or not self._values:
                current = self.store.get_or_create(self.name, self.factory).strip()
                previous = self.store.read(self.name + PREVIOUS)
                extra = (previous.strip(),) if previous and previous.strip() != current else ()
                self._values = (current, *extra)
                self._read_at = self.clock()
            return self._values

    def current(self) -> bytes:
        return self.values()[0]


def rotate_secret(store: SecretStore, name: str, factory: Callable[[], bytes]) -> None:
    """A new value for ``name``; the old one stays readable as ``name.previous`` (accepted
    by receivers until the next rotation)."""
    old = store.read(name)
    if old is not None:
        store.write(name + PREVIOUS, old)
    store.write(name, factory())


def open_secret_store(settings: Settings) -> SecretStore:
    """The store ``VODSTACK_SECRETS_URL`` names (``file`` when unset)."""
    url = settings.secrets_url.strip()
    if url in ("", "file"):
        return SecretStore(settings.secrets_dir)
    from vodstack import secretbackends

    return SecretStore(backend=secretbackends.open_backend(url, settings))
