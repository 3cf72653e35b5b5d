"""Scoped API keys (issue 18): named bearer credentials with a set of scopes, instead of
handing the one admin token to every tool.

A key is ``vsk_<id>_<secret>``: 16 id characters to find the row, 256 random bits of secret.
Only the SHA-256 of the whole token is stored (a fast hash is enough for a high-entropy
secret: there is nothing to guess offline), compared in constant time; the token is shown
once, at creation. Revoking is immediate (no cache). ``last_used_at`` is written at most once
a minute per key, so a busy key does not turn every read into a write.

The admin token (``VODSTACK_ADMIN_TOKEN``) stays the bootstrap credential: it holds every
scope and creates the first keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Base, UtcDateTime, utcnow
from vodstack.catalogue.repository import is_valid_id, new_id
from vodstack.errors import Forbidden, InvalidInput, NotFound

#: Each API operation declares one of these (web.scopes.require_scope); ``admin`` holds all.
SCOPES: dict[str, str] = {
    "read": "read assets, jobs, events, analytics and costs",
    "upload": "create assets (multipart, tus) and edit their captions, audio, metadata, tags",
    "publish": "publish/unpublish, playback policy, protection, re-key, poster, downloads, "
    "re-transcode, delete",
    "entitle": "subscriptions, licences and per-asset access rules",
    "keys": "signing keys and API keys (a key can only grant scopes it holds)",
    "admin": "everything, including operations without a narrower scope",
}
TOKEN_PREFIX = "vsk_"  # noqa: S105 - the marker of a key, not a secret
KEY_ID_LENGTH = 16
MAX_NAME = 100
LAST_USED_EVERY = timedelta(seconds=60)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(KEY_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    scopes: Mapped[list[Any]] = mapped_column(JSON)
    secret_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the whole token
    created_by: Mapped[str] = mapped_column(String(MAX_NAME + 20), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the admin token or a named key, and what it may do."""

    name: str
    scopes: frozenset[str]
    key_id: str | None = None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def describe(self) -> str:
        return f"the {self.name}" if self.key_id is None else f"API key {self.name!r}"


ADMIN = Principal("admin token", frozenset(SCOPES))
#: The operator at the server's own command line (``vodstack api-keys create``).
LOCAL_CLI = Principal("local command line", frozenset(SCOPES))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def key_id_of(token: str) -> str | None:
    """The key id inside a well-formed token, else None (then it is not an API key)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    key_id = token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + KEY_ID_LENGTH]
    rest = token[len(TOKEN_PREFIX) + KEY_ID_LENGTH :]
    if not is_valid_id(key_id, KEY_ID_LENGTH) or not rest.startswith("_") or len(rest) < 33:
        return None
    return key_id


def normalise_scopes(scopes: list[str] | tuple[str, ...] | str) -> list[str]:
    """Known scopes, deduplicated, in the order of :data:`SCOPES`; InvalidInput otherwise."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    wanted = {s.strip() for s in items if isinstance(s, str) and s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scope {', '.join(unknown)}; use {', '.join(SCOPES)}")
    if not wanted:
        raise InvalidInput(f"give at least one scope: {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in wanted]


class ApiKeys:
    """The ``api_keys`` table: create, list, revoke, verify."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, scopes: list[str] | str, by: Principal) -> tuple[ApiKey, str]:
        """A new key and its token (the only time the token exists outside the caller).
        ``by`` may only grant scopes it holds itself: a ``keys`` key cannot mint an admin."""
        name = name.strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise InvalidInput(f"a key name is 1-{MAX_NAME} printable characters")
        wanted = normalise_scopes(scopes)
        beyond = [s for s in wanted if not by.allows(s)]
        if beyond:
            raise Forbidden(
                f"{by.describe()} cannot grant the scope {beyond[0]!r}: it does not hold it",
                rule=f"scope:{beyond[0]}",
            )
        key_id = new_id(KEY_ID_LENGTH)
        token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        key = ApiKey(
            id=key_id,
            name=name,
            scopes=wanted,
            secret_hash=token_hash(token),
            created_by=by.describe()[: MAX_NAME + 20],
        )
        with self.db.session() as session:
            session.add(key)
        return key, token

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        with self.db.session() as session:
            stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
            if not include_revoked:
                stmt = stmt.where(ApiKey.revoked_at.is_(None))
            return list(session.scalars(stmt))

    def get(self, key_id: str) -> ApiKey:
        if not is_valid_id(key_id, KEY_ID_LENGTH):
            raise NotFound(f"no API key {key_id[:40]!r}")
        with self.db.session() as session:
            key = session.get(ApiKey, key_id)
            if key is None:
                raise NotFound(f"no API key {key_id!r}")
            return key

    def revoke(self, key_id: str) -> ApiKey:
        """Refuse the key from now on (every process: keys are read per request). Revoking
        a revoked key changes nothing."""
        self.get(key_id)
        with self.db.session() as session:
            session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return self.get(key_id)

    def verify(self, token: str, now: datetime | None = None) -> Principal | None:
        """The key's principal if ``token`` is a live key, else None."""
        key_id = key_id_of(token)
        if key_id is None:
            return None
        now = now or utcnow()
        with self.db.session() as session:
            key = session.get(ApiKey, key_id)
            if key is None or key.revoked_at is not None:
                return None
            if not hmac.compare_digest(key.secret_hash, token_hash(token)):
                return None
            if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
                session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            return Principal(key.name, frozenset(key.scopes), key.id)
