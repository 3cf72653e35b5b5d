"""Private signing keys on disk: one PEM file per key, owner-only permissions.

The architecture keeps secrets in files with 0600 permissions that are never logged. Files are
written to a temporary name created with mode 0600 (never briefly world-readable) and renamed
into place atomically. An optional passphrase encrypts keys at rest with cryptography's
``BestAvailableEncryption``; without it the directory permissions are the only protection.
A key written in clear before a passphrase was configured is re-encrypted when first loaded,
so turning the option on needs no manual migration.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from pathlib import Path

from vodstack.entitlement.keys import PrivateKey, load_private_key, private_key_pem
from vodstack.errors import ConfigError, InvalidInput, NotFound
from vodstack.secrets import SecretStore

__all__ = ["PrivateKeyStore", "SecretKeyStore"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
_SUFFIX = ".pem"


class PrivateKeyStore:
    """Save and load private keys as ``<directory>/<name>.pem`` (mode 0600, dir 0700)."""

    def __init__(self, directory: Path, passphrase: bytes | None = None) -> None:
        self._directory = Path(directory)
        self._passphrase = passphrase or None

    def __repr__(self) -> str:  # never show the passphrase
        encrypted = "encrypted" if self._passphrase else "plain"
        return f"PrivateKeyStore({str(self._directory)!r}, {encrypted})"

    @property
    def directory(self) -> Path:
        return self._directory

    def save(self, name: str, key: PrivateKey) -> Path:
        """Write ``key`` under ``name``; refuses to overwrite an existing key."""
        path = self._path(name)
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            raise InvalidInput(f"a private key named {name!r} already exists")
        self._write(name, path, private_key_pem(key, self._passphrase))
        return path

    def _write(self, name: str, path: Path, data: bytes) -> None:
        temporary = self._directory / f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)  # in case a umask or ACL widened it
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def load(self, name: str) -> PrivateKey:
        """Read a key back; refuses files that other users can read (like OpenSSH does)."""
        path = self._path(name)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise NotFound(f"no private key named {name!r} in {self._directory}") from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"private key file {path} is accessible by others; chmod 600 it")
        data = path.read_bytes()
        if self._passphrase is not None and not _is_encrypted(data):
            # Stored before the passphrase was configured: encrypt it in place (atomic rename;
            # concurrent processes doing the same write equivalent files).
            key = load_private_key(data)
            self._write(name, path, private_key_pem(key, self._passphrase))
            log.warning("private key %r was stored in clear; re-encrypted at rest", name)
            return key
        return load_private_key(data, self._passphrase)

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Names of the stored keys, sorted."""
        if not self._directory.is_dir():
            return []
        return sorted(
            p.name.removesuffix(_SUFFIX)
            for p in self._directory.iterdir()
            if p.name.endswith(_SUFFIX) and _NAME.fullmatch(p.name.removesuffix(_SUFFIX))
        )

    def is_encrypted(self, name: str) -> bool:
        """Whether the stored file of ``name`` is passphrase-encrypted (reads no key)."""
        return _is_encrypted(self._path(name).read_bytes())

    def encrypt_stored(self) -> list[str]:
        """With a passphrase: re-encrypt every key still stored in clear (names returned).

        Run at start-up so that keys not loaded in this process (a retired or rotated-out
        key) do not stay in clear on disk after the passphrase was configured."""
        if self._passphrase is None:
            return []
        plain = [n for n in self.names() if not self.is_encrypted(n)]
        for name in plain:
            self.load(name)  # loading a clear key with a passphrase set re-encrypts it
        return plain

    def _path(self, name: str) -> Path:
        # The name becomes a file name: only a safe alphabet, so no "../" can escape.
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise InvalidInput("key names are 1-64 letters, digits, '-' or '_'")
        return self._directory / f"{name}{_SUFFIX}"


def _is_encrypted(pem: bytes) -> bool:
    """PKCS#8 ``ENCRYPTED PRIVATE KEY`` or a legacy OpenSSL ``Proc-Type: 4,ENCRYPTED`` PEM."""
    head = pem[:256]
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in head or b"Proc-Type: 4,ENCRYPTED" in head


class SecretKeyStore(PrivateKeyStore):
    """Private keys as secrets named ``key.<name>`` of a shared :class:`SecretStore`
    (``VODSTACK_SECRETS_URL`` db or AWS): every node loads the key another node created or
    rotated in, with no file copied by hand. The passphrase, when set, still encrypts each
    PEM (defence in depth on top of the backend's own encryption)."""

    _PREFIX = "key."

    def __init__(self, store: SecretStore, passphrase: bytes | None = None) -> None:
        super().__init__(Path("."), passphrase)
        self._store = store

    def __repr__(self) -> str:
        encrypted = "encrypted" if self._passphrase else "plain"
        return f"SecretKeyStore({self._store!r}, {encrypted})"

    def _secret(self, name: str) -> str:
        self._path(name)  # vets the name
        return f"{self._PREFIX}{name}"

    def save(self, name: str, key: PrivateKey) -> Path:
        if not self._store.create(self._secret(name), private_key_pem(key, self._passphrase)):
            raise InvalidInput(f"a private key named {name!r} already exists")
        return Path(self._secret(name))

    def load(self, name: str) -> PrivateKey:
        data = self._store.read(self._secret(name))
        if data is None:
            raise NotFound(f"no private key named {name!r} in {self._store!r}")
        if self._passphrase is not None and not _is_encrypted(data):
            key = load_private_key(data)
            self._store.write(self._secret(name), private_key_pem(key, self._passphrase))
            log.warning("private key %r was stored in clear; re-encrypted at rest", name)
            return key
        return load_private_key(data, self._passphrase)

    def exists(self, name: str) -> bool:
        return self._store.read(self._secret(name)) is not None

    def delete(self, name: str) -> None:
        self._store.delete(self._secret(name))

    def names(self) -> list[str]:
        return sorted(
            n.removeprefix(self._PREFIX)
            for n in self._store.names(self._PREFIX)
            if _NAME.fullmatch(n.removeprefix(self._PREFIX))
        )

    def is_encrypted(self, name: str) -> bool:
        return _is_encrypted(self._store.read(self._secret(name)) or b"")
