"""The public URL of the server this data directory serves, for CLI commands that print URLs.

``vodstack serve --port 8400`` sets the port for its own process only; a later
``vodstack assets show`` in another shell builds its settings from the same configuration
and would print the default ``:8000``. So ``serve`` records the base URL it serves under
(``VODSTACK_PUBLIC_URL`` if set, else its scheme, host and port: exactly what the server puts
in its own URLs) in ``$VODSTACK_HOME/server.json``, and the CLI uses it when
``VODSTACK_PUBLIC_URL`` is not set. The last server started wins; a configured public URL
always does.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from vodstack.config import Settings

FILE = "server.json"


def record_server_url(settings: Settings, host: str, port: int) -> str:
    scheme = "https" if settings.tls_cert else "http"
    url = (settings.public_url or f"{scheme}://{host}:{port}").rstrip("/")
    path = settings.home / FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps({"url": url, "pid": os.getpid(), "started": datetime.now(UTC).isoformat()})
    )
    os.replace(tmp, path)
    return url


def recorded_url(home: Path) -> str | None:
    try:
        url = json.loads((home / FILE).read_text()).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def cli_base_url(settings: Settings) -> str:
    """What URLs printed by the CLI start with (no trailing slash)."""
    if settings.public_url:
        return settings.base_url()
    return recorded_url(settings.home) or settings.base_url()
