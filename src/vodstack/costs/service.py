"""Costs from the catalogue and the store: gathers the facts the pure report needs.

Used by ``vodstack costs`` and ``GET /api/costs``; blocking (database), call off the loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from vodstack.catalogue import (
    Asset,
    AssetFile,
    Database,
    Event,
    Job,
    PlaybackEvent,
    PlaybackSession,
    Rendition,
)
from vodstack.config import Settings
from vodstack.costs import report, store
from vodstack.costs.flusher import hot_class
from vodstack.costs.lifecycle import MASTER_COLD, MASTER_RESTORED
from vodstack.costs.prices import Prices
from vodstack.costs.rungs import SessionRungs, fold
from vodstack.errors import NotFound
from vodstack.storage import ObjectStore

_RUNG_EVENTS = ("start", "first_frame", "playing", "pause", "stall_start", "seek", "switch")
_RUNG_EVENTS += ("ended", "end", "error")


def _job_cpu(job: Job, cpus: int) -> tuple[float, bool]:
    """CPU-seconds of one finished transcode job, and whether they were measured.

    A job records ``{"stages": {name: {"seconds", "cpu_s"}}, "cpu_s": …}`` in ``Job.stages``
    (transcode/timing.py): its ``cpu_s`` is read as is; a job from before that (no record)
    gets wall time × the worker's CPUs, an upper bound."""
    record = job.stages if isinstance(job.stages, dict) else {}
    measured = record.get("cpu_s")
    if isinstance(measured, int | float):
        return float(measured), True
    if job.started_at is None or job.finished_at is None:
        return 0.0, False
    return max(0.0, (job.finished_at - job.started_at).total_seconds()) * cpus, False


class CostSources(Protocol):
    """The parts the cost figures read: the catalogue database, the settings (prices, ladder
    templates, CPUs) and the object store (its storage class). The composition root's
    ``Services`` has all three; naming only these keeps costs below the root."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> ObjectStore: ...


class CostService:
    def __init__(self, settings: Settings, db: Database, store: ObjectStore) -> None:
        self.db = db
        self.settings = settings
        self.store = store
        self.prices = Prices.from_settings(self.settings)

    def template_heights(self) -> dict[str, list[int]]:
        """Each configured ladder template's rung heights (capped by its ``max_height``)."""
        return {
            name: [r.height for r in p.rungs if not p.max_height or r.height <= p.max_height]
            for name, p in self.settings.ladder_profiles.items()
        }

    def facts(self, asset_ids: Sequence[str] | None = None) -> list[report.AssetFacts]:
        hot = hot_class(self.store)
        with self.db.session() as session:
            query = select(Asset).where(Asset.revision > 0)
            if asset_ids is not None:
                query = query.where(Asset.id.in_(asset_ids))
            assets = list(session.scalars(query))
            ids = [a.id for a in assets]
            # Columns, not rows: a rendition row carries its whole fragment index.
            renditions = session.execute(
                select(
                    Rendition.asset_id,
                    Rendition.revision,
                    Rendition.track_id,
                    Rendition.kind,
                    Rendition.height,
                    Rendition.bitrate_avg,
                    Rendition.file_size,
                ).where(Rendition.asset_id.in_(ids))
            )
            tracks: dict[str, list[report.TrackFacts]] = {}
            revision = {a.id: a.revision for a in assets}
            for asset_id, rev, track_id, kind, height, bitrate, size in renditions:
                if rev == revision[asset_id]:
                    tracks.setdefault(asset_id, []).append(
                        report.TrackFacts(track_id, kind, height, bitrate, size)
                    )
            other: dict[str, int] = {}
            for f in session.scalars(select(AssetFile).where(AssetFile.asset_id.in_(ids))):
                if f.revision == revision[f.asset_id]:
                    other[f.asset_id] = other.get(f.asset_id, 0) + f.size
            cpu: dict[str, tuple[float, bool]] = {}
            jobs = select(Job).where(
                Job.asset_id.in_(ids), Job.kind == "transcode", Job.state == "succeeded"
            )
            for job in session.scalars(jobs):
                seconds, measured = _job_cpu(job, self.settings.cpus)
                old = cpu.get(job.asset_id, (0.0, True))
                cpu[job.asset_id] = (old[0] + seconds, old[1] and measured)
            cold = self._cold_masters(session, ids)
        return [
            report.AssetFacts(
                asset_id=a.id,
                title=a.title,
                ladder=a.ladder or "default",
                duration_s=a.duration or 0.0,
                master_bytes=a.source_size,
                master_class=self.settings.cold_storage_class if a.id in cold else hot,
                tracks=tuple(tracks.get(a.id, ())),
                other_bytes=other.get(a.id, 0),
                other_class=hot,
                cpu_s=cpu.get(a.id, (0.0, False))[0],
                cpu_measured=cpu.get(a.id, (0.0, False))[1],
            )
            for a in assets
        ]

    @staticmethod
    def _cold_masters(session: Any, ids: Sequence[str]) -> set[str]:
        events = session.execute(
            select(Event.asset_id, Event.type)
            .where(Event.asset_id.in_(ids), Event.type.in_((MASTER_COLD, MASTER_RESTORED)))
            .order_by(Event.id)
        )
        latest = dict(events.all())
        return {a for a, kind in latest.items() if kind == MASTER_COLD}

    def sessions(
        self, asset_id: str | None = None, since: datetime | None = None
    ) -> list[SessionRungs]:
        with self.db.session() as session:
            query = select(PlaybackSession.id, PlaybackSession.asset_id)
            if asset_id is not None:
                query = query.where(PlaybackSession.asset_id == asset_id)
            if since is not None:
                query = query.where(PlaybackSession.started_at >= since)
            owners = dict(session.execute(query).all())
            events: dict[str, list[tuple[int, str, float, dict[str, Any]]]] = {}
            if owners:
                rows = session.execute(
                    select(
                        PlaybackEvent.session_id,
                        PlaybackEvent.seq,
                        PlaybackEvent.type,
                        PlaybackEvent.t,
                        PlaybackEvent.data,
                    ).where(
                        PlaybackEvent.session_id.in_(list(owners)),
                        PlaybackEvent.type.in_(_RUNG_EVENTS),
                    )
                )
                for sid, seq, kind, t, data in rows:
                    events.setdefault(sid, []).append((seq, kind, t, data or {}))
        return [fold(owners[sid], evs) for sid, evs in events.items()]

    def report(
        self, asset_id: str | None = None, since: datetime | None = None
    ) -> report.CostReport:
        facts = self.facts([asset_id] if asset_id is not None else None)
        if asset_id is not None and not facts:
            raise NotFound(f"no asset {asset_id!r} with a finished transcode")
        rows = store.usage(self.db, since=since)  # all titles: tiers price the whole bill
        sessions = self.sessions(asset_id, since)
        stamp = since.isoformat() if since else None
        return report.build(facts, rows, sessions, self.prices, stamp, scope=asset_id)
