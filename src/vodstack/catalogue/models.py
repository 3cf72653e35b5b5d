"""Catalogue tables (SQLAlchemy 2 declarative). Schema changes go through Alembic migrations.

The catalogue is the source of truth for what exists and what may be served: an asset is
playable only when its status is ``ready`` and it points at a committed revision whose every
rendition row was written in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zones and hands back naive values; comparing those with aware ones
    raises. Values are stored as UTC and always come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
    # Access rules (entitlement): plans whose active subscription grants playback (None = any
    # active plan, [] = none: licences only); ISO 3166 country allow/deny lists (None = no rule).
    plans: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    geo_allow: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    geo_deny: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # Media breadth (issue #8): the ladder template chosen at upload (None = the job's or the
    # default), what the transcode decided (template version, per-title probe), a poster time
    # overriding the automatic choice, and whether viewers may download an MP4.
    ladder: Mapped[str | None] = mapped_column(String(20), default=None)
    ladder_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    poster_time: Mapped[float | None] = mapped_column(Float, default=None)
    allow_download: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Who may fetch /v1/{id}/ (issue 15): "signed" (a grant: cookie, signed URL or path token)
    # or "public" (anyone; still cached and rate-limited). See edge.policy.
    playback: Mapped[str] = mapped_column(String(8), default="signed", server_default="signed")
    # Governance labels (issue 18), each filterable; free key/values and tags live in their
    # own tables (catalogue.labels).
    classification: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    owner: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    cost_center: Mapped[str | None] = mapped_column(String(64), default=None, index=True)

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
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # Wall and CPU seconds per stage (probe, ladder, commit; each extra), media seconds and
    # CPU-seconds per media-minute; extras jobs add each extra's status (transcode.timing).
    stages: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


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
    label: Mapped[str | None] = mapped_column(String(100), default=None)  # audio NAME
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    vmaf: Mapped[float | None] = mapped_column(Float, default=None)  # sampled, vs the source
    # file: one CMAF file (file_key) indexed by ``fragments``; windowed: a progressive
    # revision, one stored chunk per window under file_key/ (transcode.windowed), fragment
    # timing planned, offsets read from each chunk
    layout: Mapped[str] = mapped_column(String(16), default="file", server_default="file")

    asset: Mapped[Asset] = relationship(back_populates="renditions")


class Event(Base):
    """Append-only event/audit log; the event bus writes every event here."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    asset_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SigningKey(Base):
    """A public key of the trusted key group (like a CloudFront public key in a key group).

    Private keys never live here: they are in the secrets store (0600 files); ``has_private``
    says whether this installation can sign with the key or only verify (``keys add``).
    """

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))  # rsa | ecdsa
    public_key_pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | trusted | retired
    has_private: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class Subscription(Base):
    """A viewer's plan. Active when not cancelled and ``starts_at <= now < expires_at``."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    plan: Mapped[str] = mapped_column(String(64))
    trial: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Licence(Base):
    """An institution's licence to an asset (``asset_id`` NULL = the whole catalogue)."""

    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution: Mapped[str] = mapped_column(String(255), index=True)
    asset_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PlaybackSession(Base):
    """One viewer's playback of one asset, from a ``POST /play`` until the page goes away.

    Created by the session's first beacon. The QoE columns are running totals kept by
    :func:`vodstack.telemetry.qoe.apply` as batches arrive, so reports never replay events;
    ``cursor`` carries that fold's state between batches. Not a foreign key to ``assets``:
    completion records ("who completed which module") outlive a takedown or deletion.
    """

    __tablename__ = "playback_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    engine: Mapped[str | None] = mapped_column(String(16), default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)  # asset's, at start
    startup_s: Mapped[float | None] = mapped_column(Float, default=None)
    playing_s: Mapped[float] = mapped_column(Float, default=0.0)
    rebuffer_s: Mapped[float] = mapped_column(Float, default=0.0)
    rebuffer_count: Mapped[int] = mapped_column(Integer, default=0)
    bitrate_bits: Mapped[float] = mapped_column(Float, default=0.0)  # ∫ bitrate dt while playing
    switches: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    fatal_errors: Mapped[int] = mapped_column(Integer, default=0)
    # Distinct media seconds watched, as merged [start, end] intervals, and their total.
    watched: Mapped[list[Any]] = mapped_column(JSON, default=list)
    watched_s: Mapped[float] = mapped_column(Float, default=0.0)
    reached_end: Mapped[bool] = mapped_column(Boolean, default=False)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_seq: Mapped[int] = mapped_column(Integer, default=-1)
    # indexed: the catalogue QoE report and the cost report read the newest sessions / those
    # since a date, which on a busy catalogue is a small slice of a table that only grows
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class PlaybackEvent(Base):
    """A player beacon event as received (QoE totals are derived from these)."""

    __tablename__ = "playback_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("playback_sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    t: Mapped[float] = mapped_column(Float)  # seconds since the session started (player clock)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ContentKey(Base):
    """A content key of one asset for one protection scheme (issue #6).

    The key itself is stored only encrypted (AES-GCM under the installation's master key from
    the secrets store); ``generation`` grows with every re-key so URLs of encrypted objects
    change with the key (immutable caching stays correct).
    """

    __tablename__ = "content_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(String(32), index=True)
    scheme: Mapped[str] = mapped_column(String(16))  # cenc | cbcs | aes-128
    generation: Mapped[int] = mapped_column(Integer, default=1)
    kid: Mapped[str] = mapped_column(String(32))  # hex
    key_sealed: Mapped[str] = mapped_column(Text)  # base64(nonce + AES-GCM ciphertext)
    iv: Mapped[str] = mapped_column(String(32))  # hex: cbcs constant IV / AES-128 IV base
    provider: Mapped[str] = mapped_column(String(16), default="local")  # local | speke
    pssh: Mapped[list[Any] | None] = mapped_column(JSON, default=None)  # base64 boxes (SPEKE)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Caption(Base):
    """A WebVTT text track of an asset (issue #8).

    ``source`` ``upload``: a sidecar file, valid for every revision (``revision`` NULL);
    ``embedded``: extracted from the master's text stream by the transcode of ``revision``.
    ``track_id`` is random and never reused, so the caption's URLs are immutable: replacing a
    caption makes a new track.
    """

    __tablename__ = "captions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str] = mapped_column(String(16))  # upload | embedded
    language: Mapped[str] = mapped_column(String(35))  # RFC 5646
    label: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="subtitles")  # subtitles | captions
    file_key: Mapped[str] = mapped_column(String(512))
    cue_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AudioUpload(Base):
    """A separately uploaded audio track (another language, a description track), mixed into
    the ladder as its own rendition by the next transcode."""

    __tablename__ = "audio_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    source_key: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(35))
    label: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AssetFile(Base):
    """A file of one revision besides the CMAF tracks: the poster, the storyboard sprites and
    the progressive MP4 download; ``meta`` describes it (size, storyboard geometry)."""

    __tablename__ = "asset_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # poster | storyboard | download
    file_key: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WindowPart(Base):
    """One encoded window of one track of a windowed (progressive) revision: which parts of
    an asset exist, so progress per rung is a query, not a listing of the store."""

    __tablename__ = "window_parts"
    __table_args__ = (UniqueConstraint("asset_id", "revision", "track_id", "window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[str] = mapped_column(String(32))
    window: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    on_demand: Mapped[bool] = mapped_column(Boolean, default=False)  # made for a waiting viewer
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class UsageHour(Base):
    """Bytes the edges delivered in one hour, per asset, track, object kind and cache result
    (issue #21: the usage ledger). Edges aggregate in memory and add to these rows in batches;
    rows older than ``costs_retention_days`` are pruned, so storage stays bounded by
    hours × assets × tracks × kinds × results. Not a foreign key to ``assets``: the bytes of a
    deleted title were still delivered (and paid for)."""

    __tablename__ = "usage_hours"
    __table_args__ = (UniqueConstraint("hour", "asset_id", "track", "kind", "result"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)  # start of the UTC hour
    asset_id: Mapped[str] = mapped_column(String(32), index=True)
    track: Mapped[str] = mapped_column(String(32))  # "v720", "a0", … or "-" (asset-level)
    kind: Mapped[str] = mapped_column(String(16))  # manifest|playlist|init|segment|key|…
    result: Mapped[str] = mapped_column(String(16))  # Hit|Miss|RefreshHit|StaleHit|origin
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
