"""Find key material in logs: the forms a secret could be printed in, and a sweep of every
server log a test session produced.

Used by ``tests/reliability/test_security.py`` (one dedicated run with DEBUG logs, content
keys and cookies known) and by the session-end sweep in ``tests/conftest.py`` (every
``LiveServer`` home of the whole run against the secrets stored in that home).
"""

from __future__ import annotations

import base64
from pathlib import Path


def secret_forms(raw: bytes) -> set[bytes]:
    """The raw bytes, hex, base64 and base64url of a secret (each at least 12 bytes long)."""
    url = base64.urlsafe_b64encode(raw)
    forms = {raw, raw.hex().encode(), base64.b64encode(raw), url}
    return {f.rstrip(b"=") for f in forms if len(f) >= 12}


def secrets_of(home: Path) -> dict[str, set[bytes]]:
    """Every secret a vodstack home holds (``$VODSTACK_HOME/secrets``), by file name."""
    found: dict[str, set[bytes]] = {}
    for path in (home / "secrets").rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"-----BEGIN" in data:  # PEM: every base64 line of the body is key material
            found[path.name] = {
                line.strip()
                for line in data.splitlines()
                if line.strip() and not line.startswith(b"-----") and len(line.strip()) >= 24
            }
        else:
            found[path.name] = secret_forms(data.strip())
    return found


def leaks(logs: dict[str, bytes], secrets: dict[str, set[bytes]]) -> list[str]:
    """``"<what> in <log>"`` for every secret form found in a log."""
    return [
        f"{what} ({form[:8]!r}…) in {name}"
        for name, text in logs.items()
        for what, forms in secrets.items()
        for form in forms
        if form in text
    ]


def sweep(homes: list[Path], extra: dict[str, set[bytes]]) -> list[str]:
    """Every ``*.log`` under each home against that home's secrets plus ``extra``."""
    found: list[str] = []
    for home in homes:
        if not home.exists():
            continue
        logs = {str(p): p.read_bytes() for p in home.rglob("*.log") if p.is_file()}
        found += leaks(logs, {**secrets_of(home), **extra})
    return found
