"""The session-end sweep finds a secret of a server home in any of its logs, in any form."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.secrets_scan import sweep


def _home(tmp_path: Path, log: bytes) -> Path:
    home = tmp_path / "home"
    (home / "secrets" / "keys").mkdir(parents=True)
    (home / "secrets" / "master.key").write_bytes(bytes(range(32)))
    pem = b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 64 + b"\n-----END PRIVATE KEY-----\n"
    (home / "secrets" / "keys" / "k1.pem").write_bytes(pem)
    (home / "server.log").write_bytes(log)
    return home


def test_clean_logs_pass(tmp_path: Path) -> None:
    assert sweep([_home(tmp_path, b"INFO asset ready\n")], {"token": {b"admin-123456789"}}) == []


def test_every_form_of_a_secret_is_caught(tmp_path: Path) -> None:
    raw = bytes(range(32))
    forms = (raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw))
    for n, form in enumerate(forms):
        found = sweep([_home(tmp_path / str(n), b"x " + form + b" y")], {})
        assert found and "master.key" in found[0]
    pem_line = sweep([_home(tmp_path / "pem", b"key=" + b"A" * 64)], {})
    assert pem_line and "k1.pem" in pem_line[0]
    token = sweep([_home(tmp_path / "t", b"Bearer admin-123456789")], {"t": {b"admin-123456789"}})
    assert token == ["t (b'admin-12'…) in " + str(tmp_path / "t" / "home" / "server.log")]
