"""Catalogue tables (SQLAlchemy 2 declarative). Schema changes go through Alembic migrations.

The catalogue is the source of truth for what exists and what may be served: an asset is
playable only when its status is ``ready`` and it points at a committed revision whose every
rendition row was written in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    # uploaded → queued → transcoding → ready | failed (ARCHITECTURE.md contract)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    source_key: Mapped[str] = mapped_column(String(512))
    source_name: Mapped[str] = mapped_column(String(255), default="")
    source_size: Mapped[int] = mapped_column(BigInteger, default=0)
    source_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # 0 = nothing committed yet
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    drm: Mapped[str] = mapped_column(String(32), default="clear")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="Rendition.id"
    )


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="transcode")
    queue: Mapped[str] = mapped_column(String(32), default="ondemand")
    # queued → running → succeeded | failed; a lapsed lease puts running back to queued
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Rendition(Base):
    """One CMAF track file of one committed revision, with its fragment index."""

    __tablename__ = "renditions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[str] = mapped_column(String(32))  # e.g. "v720", "a0"
    kind: Mapped[str] = mapped_column(String(8))  # video | audio | text
    codec: Mapped[str] = mapped_column(String(64))  # RFC 6381
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    frame_rate: Mapped[str | None] = mapped_column(String(16), default=None)
    sample_rate: Mapped[int | None] = mapped_column(Integer, default=None)
    channels: Mapped[int | None] = mapped_column(Integer, default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    bitrate_avg: Mapped[int] = mapped_column(Integer, default=0)
    bitrate_peak: Mapped[int] = mapped_column(Integer, default=0)
    timescale: Mapped[int] = mapped_column(Integer)
    media_time: Mapped[int] = mapped_column(BigInteger, default=0)
    init_size: Mapped[int] = mapped_column(Integer)
    file_key: Mapped[str] = mapped_column(String(512))
    file_size: Mapped[int] = mapped_column(BigInteger)
    duration: Mapped[float] = mapped_column(Float)
    # [[offset, size, decode_time, duration, presentation_time, sample_count, sap, key_end], …]
    fragments: Mapped[list[Any]] = mapped_column(JSON)

    asset: Mapped[Asset] = relationship(back_populates="renditions")


class Event(Base):
    """Append-only event/audit log; the event bus writes every event here."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    asset_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
