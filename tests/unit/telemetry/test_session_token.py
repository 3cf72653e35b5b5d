"""Playback-session tokens: HMAC-signed, scoped to one viewer, asset and session, expiring."""

from __future__ import annotations

import pytest

from vodstack.errors import AuthError
from vodstack.telemetry.session_token import SessionTokens

KEY = b"k" * 32


def test_round_trip() -> None:
    tokens = SessionTokens(KEY, clock=lambda: 1000.0)
    claims, token = tokens.mint("alice", "a" * 20)
    assert tokens.verify(token) == claims
    assert claims.expires == 1000 + tokens.ttl_s
    assert len(claims.session_id) == 32
    assert tokens.mint("alice", "a" * 20)[0].session_id != claims.session_id


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.replace(".", "x", 1),
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: (
            "eyJzaWQiOiJ4Iiwic3ViIjoibWFsbG9yeSIsImFpZCI6IngiLCJleHAiOjk5OTk5OTk5OTl9."
            + t.split(".")[1]
        ),
        lambda t: "",
        lambda t: "%%%.%%%",
    ],
)
def test_forgeries_are_refused(forge) -> None:
    tokens = SessionTokens(KEY, clock=lambda: 1000.0)
    _, token = tokens.mint("alice", "a" * 20)
    with pytest.raises(AuthError):
        tokens.verify(forge(token))


def test_another_key_is_refused() -> None:
    _, token = SessionTokens(KEY).mint("alice", "a" * 20)
    with pytest.raises(AuthError):
        SessionTokens(b"o" * 32).verify(token)


def test_expired_is_refused() -> None:
    now = [1000.0]
    tokens = SessionTokens(KEY, ttl_s=60, clock=lambda: now[0])
    _, token = tokens.mint("alice", "a" * 20)
    now[0] += 61
    with pytest.raises(AuthError, match="expired"):
        tokens.verify(token)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SessionTokens(b"short")
