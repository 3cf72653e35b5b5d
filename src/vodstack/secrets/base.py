"""What every secret backend offers, and which names a secret may have.

Its own module so that backends and the store both import it and never each other.
"""

from __future__ import annotations

import re
from typing import Protocol

#: A valid secret name (also what a backend lists: anything else in its namespace is not ours).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)


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
