"""Catalogue operations for playback telemetry: sessions, their beacon events and QoE totals."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Asset, PlaybackEvent, PlaybackSession
from vodstack.catalogue.session_stats import Beacon, Cursor, Observations, SessionStats

Fold = Callable[[SessionStats], tuple[SessionStats, Observations]]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session, detached from the database."""

    id: str
    asset_id: str
    subject: str
    user_agent: str
    engine: str | None
    started_at: datetime
    updated_at: datetime
    stats: SessionStats


def _stats(row: PlaybackSession) -> SessionStats:
    return SessionStats(
        duration=row.duration,
        startup_s=row.startup_s,
        playing_s=row.playing_s,
        rebuffer_s=row.rebuffer_s,
        rebuffer_count=row.rebuffer_count,
        bitrate_bits=row.bitrate_bits,
        switches=row.switches,
        errors=row.errors,
        fatal_errors=row.fatal_errors,
        watched=tuple((float(a), float(b)) for a, b in row.watched or ()),
        reached_end=row.reached_end,
        finished=row.finished,
        last_seq=row.last_seq,
        cursor=Cursor.from_json(row.cursor),
    )


def _store(row: PlaybackSession, stats: SessionStats) -> None:
    row.startup_s = stats.startup_s
    row.playing_s = stats.playing_s
    row.rebuffer_s = stats.rebuffer_s
    row.rebuffer_count = stats.rebuffer_count
    row.bitrate_bits = stats.bitrate_bits
    row.switches = stats.switches
    row.errors = stats.errors
    row.fatal_errors = stats.fatal_errors
    row.watched = [[a, b] for a, b in stats.watched]
    row.watched_s = stats.watched_s
    row.reached_end = stats.reached_end
    row.finished = stats.finished
    row.last_seq = stats.last_seq
    row.cursor = stats.cursor.to_json()


def _record(row: PlaybackSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        asset_id=row.asset_id,
        subject=row.subject,
        user_agent=row.user_agent,
        engine=row.engine,
        started_at=row.started_at,
        updated_at=row.updated_at,
        stats=_stats(row),
    )


class PlaybackSessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record_batch(
        self,
        *,
        session_id: str,
        asset_id: str,
        subject: str,
        user_agent: str,
        engine: str | None,
        duration: float | None,
        events: Sequence[Beacon],
        fold: Fold,
    ) -> tuple[SessionStats, Observations, int]:
        """Create the session on its first batch, keep the events not seen before, fold them
        into the totals — one transaction. Returns (totals, observations, events kept)."""
        with self.db.session() as session:
            row = session.execute(
                select(PlaybackSession).where(PlaybackSession.id == session_id).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                row = PlaybackSession(
                    id=session_id,
                    asset_id=asset_id,
                    subject=subject,
                    user_agent=user_agent[:512],
                    engine=engine,
                    duration=duration,
                    watched=[],
                    cursor={},
                    last_seq=-1,
                )
                session.add(row)
                session.flush()
            elif engine and not row.engine:
                row.engine = engine
            before = _stats(row)
            fresh = [e for e in events if e.seq > before.last_seq]
            stats, observed = fold(before)
            for e in fresh:
                data = dict(e.data)
                if e.pos is not None:
                    data["pos"] = e.pos
                session.add(
                    PlaybackEvent(session_id=session_id, seq=e.seq, type=e.type, t=e.t, data=data)
                )
            _store(row, stats)
            return stats, observed, len(fresh)

    def for_asset(self, asset_id: str) -> list[SessionRecord]:
        with self.db.session() as session:
            rows = session.scalars(
                select(PlaybackSession)
                .where(PlaybackSession.asset_id == asset_id)
                .order_by(PlaybackSession.started_at)
            )
            return [_record(r) for r in rows]

    def recent_totals(self, *, since: datetime | None = None, limit: int) -> list[SessionRecord]:
        """The newest ``limit`` sessions of every asset (started at or after ``since``), for
        reports: their totals only (columns, not ORM rows; the fold's ``cursor`` and
        ``last_seq`` are not read, so these records must not be folded further)."""
        t = PlaybackSession
        stmt = select(
            t.id, t.asset_id, t.subject, t.user_agent, t.engine, t.started_at, t.updated_at,
            t.duration, t.startup_s, t.playing_s, t.rebuffer_s, t.rebuffer_count,
            t.bitrate_bits, t.switches, t.errors, t.fatal_errors, t.watched, t.reached_end,
            t.finished,
        )  # fmt: skip
        if since is not None:
            stmt = stmt.where(t.started_at >= since)
        stmt = stmt.order_by(t.started_at.desc()).limit(limit)
        with self.db.session() as session:
            return [
                SessionRecord(
                    id=r.id,
                    asset_id=r.asset_id,
                    subject=r.subject,
                    user_agent=r.user_agent,
                    engine=r.engine,
                    started_at=r.started_at,
                    updated_at=r.updated_at,
                    stats=SessionStats(
                        duration=r.duration,
                        startup_s=r.startup_s,
                        playing_s=r.playing_s,
                        rebuffer_s=r.rebuffer_s,
                        rebuffer_count=r.rebuffer_count,
                        bitrate_bits=r.bitrate_bits,
                        switches=r.switches,
                        errors=r.errors,
                        fatal_errors=r.fatal_errors,
                        watched=tuple((float(a), float(b)) for a, b in r.watched or ()),
                        reached_end=r.reached_end,
                        finished=r.finished,
                    ),
                )
                for r in session.execute(stmt)
            ]

    def asset_facts(self, asset_ids: Collection[str]) -> dict[str, tuple[str, float | None]]:
        """(title, duration) of those of ``asset_ids`` still in the catalogue."""
        out: dict[str, tuple[str, float | None]] = {}
        ids = sorted(set(asset_ids))
        with self.db.session() as session:
            for start in range(0, len(ids), 500):  # bounded IN lists
                rows = session.execute(
                    select(Asset.id, Asset.title, Asset.duration).where(
                        Asset.id.in_(ids[start : start + 500])
                    )
                )
                out.update({i: (title, duration) for i, title, duration in rows})
        return out

    def events(self, session_id: str) -> list[Beacon]:
        with self.db.session() as session:
            rows = session.scalars(
                select(PlaybackEvent)
                .where(PlaybackEvent.session_id == session_id)
                .order_by(PlaybackEvent.seq)
            )
            out = []
            for r in rows:
                data = dict(r.data or {})
                pos = data.pop("pos", None)
                out.append(Beacon(r.seq, r.type, r.t, pos, data))
            return out
