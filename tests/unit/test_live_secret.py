"""Live shared secrets (secrets.LiveSecret): a rotation reaches every node without a
restart, and receivers accept the previous value until the next rotation."""

from __future__ import annotations

from pathlib import Path

from vodstack.secrets import LiveSecret, SecretStore, rotate_secret


def test_a_rotation_is_read_within_the_ttl_and_keeps_the_previous_value(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    now = [0.0]
    values = iter([b"one", b"two", b"three"])
    live = LiveSecret(store, "origin-secret", lambda: next(values), ttl_s=5, clock=lambda: now[0])
    assert live.values() == (b"one",)  # generated on first use
    rotate_secret(store, "origin-secret", lambda: next(values))  # on another node
    now[0] = 4.9
    assert live.current() == b"one"  # not read again before the TTL
    now[0] = 5.0
    assert live.values() == (b"two", b"one")  # new first, previous still accepted
    rotate_secret(store, "origin-secret", lambda: next(values))
    now[0] = 10.0
    assert live.values() == (b"three", b"two")  # the first value is no longer accepted
