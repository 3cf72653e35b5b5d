"""The default backend (``VODSTACK_SECRETS_URL=file``): a directory of 0600 files."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from vodstack.secrets.base import NAME


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
            if p.name.startswith(prefix) and NAME.fullmatch(p.name) and p.is_file()
        )
