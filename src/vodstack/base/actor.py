"""Who asked: written into audit events (``master.purged``, ``asset.restored``, …) and the
rows of direct uploads and URL ingests.

Through the API it is the credential's name (the admin token, or a scoped API key's name)
and the client address.
From the CLI it is the operating-system user and host (the CLI acts with the catalogue's
own rights, so that is the person to ask).
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    via: str  # "api" or "cli"
    name: str  # API key name, or OS user
    where: str  # client address, or host name

    @property
    def label(self) -> str:
        return f"{self.via}:{self.name}@{self.where}"[:128]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def api_actor(request: Any) -> Actor:
    """The caller of an admin API request (a Starlette ``Request``)."""
    # The principal the scope check authenticated (web/scopes.py): the admin token or a key.
    principal = request.scope.get("vodstack.principal")
    key_id = getattr(principal, "key_id", None)
    key = str(getattr(principal, "name", "")) if key_id is not None else "admin-token"
    client = request.client.host if request.client else "-"
    return Actor("api", str(key), client)


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with a bare uid)
        user = "unknown"
    return Actor("cli", user, socket.gethostname())
