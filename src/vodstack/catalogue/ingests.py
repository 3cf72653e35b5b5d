"""Catalogue rows of the two ways a master arrives without the admin token in hand: direct
uploads (a one-time tus URL handed to a browser) and URL ingests (the server downloads it).

A direct upload is claimed with one conditional update (``UPDATE … WHERE status = 'waiting'
AND expires_at > now``), so two requests racing for one URL can never both start an upload:
exactly one asset comes of it. Its token is kept only as a SHA-256 digest, like a password:
the catalogue (or a backup of it) cannot be replayed into an upload.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Asset, Base, UtcDateTime, utcnow
from vodstack.errors import NotFound

#: waiting → uploading → complete; or cancelled (by the admin or the uploader's tus DELETE).
#: An unused URL past ``expires_at`` reads as ``expired``.
DIRECT_STATES = ("waiting", "uploading", "complete", "cancelled", "expired")


class DirectUpload(Base):
    __tablename__ = "direct_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    ladder: Mapped[str | None] = mapped_column(String(20), default=None)
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    cors_origin: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    upload_id: Mapped[str | None] = mapped_column(String(32), default=None)
    asset_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)

    def state(self, now: datetime | None = None) -> str:
        if self.status == "waiting" and (now or utcnow()) >= self.expires_at:
            return "expired"
        return self.status


class UrlIngest(Base):
    """Where an asset's master is being (or was) downloaded from."""

    __tablename__ = "url_ingests"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    final_url: Mapped[str | None] = mapped_column(Text, default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    content_type: Mapped[str | None] = mapped_column(String(255), default=None)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Ingests:
    """Repository of direct uploads and URL ingests."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- direct uploads -------------------------------------------------------------------
    def add_direct(self, row: DirectUpload) -> DirectUpload:
        with self.db.session() as session:
            session.add(row)
        return row

    def direct(self, direct_id: str) -> DirectUpload:
        with self.db.session() as session:
            row = session.get(DirectUpload, direct_id)
            if row is None:
                raise NotFound(f"no direct upload {direct_id!r}")
            return row

    def direct_by_token(self, token: str) -> DirectUpload | None:
        with self.db.session() as session:
            stmt = select(DirectUpload).where(DirectUpload.token_hash == token_digest(token))
            return session.scalars(stmt).first()

    def claim_direct(self, direct_id: str, upload_id: str, now: datetime) -> bool:
        """Mark the URL used by ``upload_id``; False when it was used, cancelled or expired
        meanwhile (another request won)."""
        with self.db.session() as session:
            result = session.execute(
                update(DirectUpload)
                .where(
                    DirectUpload.id == direct_id,
                    DirectUpload.status == "waiting",
                    DirectUpload.expires_at > now,
                )
                .values(status="uploading", used_at=now, upload_id=upload_id)
            )
            return result.rowcount == 1

    def finish_direct(self, direct_id: str, asset_id: str) -> None:
        with self.db.session() as session:
            session.execute(
                update(DirectUpload)
                .where(DirectUpload.id == direct_id)
                .values(status="complete", asset_id=asset_id, completed_at=utcnow())
            )

    def cancel_direct(self, direct_id: str) -> bool:
        """Cancel an upload not yet complete; False when it already made its asset."""
        with self.db.session() as session:
            result = session.execute(
                update(DirectUpload)
                .where(
                    DirectUpload.id == direct_id,
                    DirectUpload.status.in_(("waiting", "uploading")),
                )
                .values(status="cancelled")
            )
            return result.rowcount == 1

    # -- URL ingests ----------------------------------------------------------------------
    def add_url(self, asset: Asset, row: UrlIngest) -> None:
        """The asset and where its master comes from, in one transaction."""
        with self.db.session() as session:
            session.add(asset)
            session.flush()  # the asset row first: the ingest row refers to it
            session.add(row)

    def url_ingest(self, asset_id: str) -> UrlIngest | None:
        with self.db.session() as session:
            return session.get(UrlIngest, asset_id)

    def url_fetched(
        self, asset_id: str, *, final_url: str, size: int, content_type: str | None
    ) -> None:
        with self.db.session() as session:
            session.execute(
                update(UrlIngest)
                .where(UrlIngest.asset_id == asset_id)
                .values(final_url=final_url, size=size, content_type=content_type)
            )
