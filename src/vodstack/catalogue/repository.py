"""Catalogue operations: the only code that changes catalogue rows.

State transitions are conditional updates (``UPDATE … WHERE state = …``) so two workers —
threads, processes or machines sharing one database — can never both take the same job, and
a stale worker can never overwrite the result of the one that replaced it. An asset's status
changes only through the typed transitions here (``mark_*``, ``commit_revision``), which
check the moves ``catalogue.status`` allows; ``update_asset`` refuses to touch it.

Why one module: it is the one writer of catalogue rows, and its guarded transitions (job
claims, leases, asset states) must be read side by side to see that no two of them can
both succeed; the read-mostly helpers live apart (``media``, ``grants``, ``playback``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from vodstack.catalogue import revisions
from vodstack.catalogue import status as asset_status
from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Asset, Event, Job, Rendition, utcnow
from vodstack.catalogue.revisions import RevisionMedia
from vodstack.catalogue.status import AssetStatus
from vodstack.errors import Conflict, NotFound

_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_CHARS = frozenset(_ID_ALPHABET)
ASSET_ID_LENGTH = 20

ACTIVE_JOB_STATES = ("queued", "running")
# Final job states. ``dead`` is the dead-letter queue: out of attempts (or a permanent error),
# kept with its reason until an operator re-drives it.
FINAL_JOB_STATES = ("succeeded", "failed", "dead")
# Claim order across queues: new uploads before bulk work (a backfill never delays an upload).
QUEUE_PRIORITY = ("ondemand", "backfill")
# Job kinds are ``base`` or ``base:param`` (jobs.worker.split_kind). ``transcode`` makes and
# commits the ladder; ``extras`` derives the poster, storyboard, download and quality scores
# of the committed revision afterwards, so an asset is ready without waiting for them.
TRANSCODE_KIND = "transcode"
#: Job kind that downloads a master from a URL (``ingest/url_ingest.py``).
FETCH_KIND = "fetch"
EXTRAS_KIND = "extras"


def kind_is(base: str) -> ColumnElement[bool]:
    """SQL condition: the job's kind is ``base`` or ``base:…``."""
    return or_(Job.kind == base, Job.kind.startswith(f"{base}:"))


def new_id(length: int = ASSET_ID_LENGTH) -> str:
    """Random lowercase alphanumeric id: URL-, path- and cookie-path-safe by construction."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def is_valid_id(value: str, length: int = ASSET_ID_LENGTH) -> bool:
    # Runs on every delivery request: a set comparison, not a loop over the characters.
    return len(value) == length and _ID_CHARS.issuperset(value)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker holds the lease on."""

    id: str
    asset_id: str
    kind: str
    attempt: int
    max_attempts: int
    owner: str


class Catalogue:
    """Repository over the catalogue database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- assets -----------------------------------------------------------------------------
    def create_asset(
        self,
        asset_id: str,
        *,
        title: str,
        source_key: str,
        source_name: str,
        source_size: int,
        source_info: dict[str, Any] | None = None,
        duration: float | None = None,
        ladder: str | None = None,
    ) -> Asset:
        """A new asset, ``uploaded``; with what the probe at ingest found (``source_info``,
        ``duration``) and the ladder template chosen at upload, when known."""
        asset = Asset(
            id=asset_id,
            title=title,
            status=AssetStatus.UPLOADED.value,
            source_key=source_key,
            source_name=source_name,
            source_size=source_size,
            source_info=source_info,
            duration=duration,
            ladder=ladder,
        )
        with self.db.session() as session:
            session.add(asset)
        return asset

    def get_asset(self, asset_id: str, *, with_renditions: bool = False) -> Asset:
        with self.db.session() as session:
            asset = session.get(Asset, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id!r}")
            if with_renditions:
                _ = list(asset.renditions)
            return asset

    def list_assets(self, limit: int = 1000) -> list[Asset]:
        with self.db.session() as session:
            stmt = select(Asset).order_by(Asset.created_at.desc()).limit(limit)
            return list(session.scalars(stmt))

    def update_asset(self, asset_id: str, **values: Any) -> None:
        """Plain columns (title, publish state, access rules, …). Status and its reason change
        only through the transitions below."""
        if owned := {"status", "error"} & set(values):
            raise ValueError(f"{sorted(owned)} change through the asset transitions (mark_…)")
        with self.db.session() as session:
            result = session.execute(update(Asset).where(Asset.id == asset_id).values(**values))
            if result.rowcount == 0:
                raise NotFound(f"no asset {asset_id!r}")

    # -- asset status (catalogue.status) ---------------------------------------------------------
    def mark_fetching(self, asset_id: str) -> None:
        """A URL ingest downloads its master again (a re-drive of its failed fetch)."""
        with self.db.session() as session:
            asset_status.transition(session, asset_id, AssetStatus.FETCHING)

    def mark_uploaded(self, asset_id: str) -> None:
        """A URL ingest's master is in the store: from here it is an ordinary upload."""
        with self.db.session() as session:
            asset_status.transition(session, asset_id, AssetStatus.UPLOADED)

    def mark_transcoding(self, asset_id: str) -> None:
        """A transcode job starts on an asset that serves nothing yet."""
        with self.db.session() as session:
            asset_status.transition(session, asset_id, AssetStatus.TRANSCODING)

    def mark_failed(self, asset_id: str, reason: str, *, revision: int | None = None) -> bool:
        """``failed`` with the reason a person can act on. With ``revision``: only while that
        revision is the asset's current one (False when the asset has moved on)."""
        with self.db.session() as session:
            return asset_status.transition(
                session, asset_id, AssetStatus.FAILED, error=reason, revision=revision
            )

    def note_failed_retranscode(self, asset_id: str, reason: str) -> None:
        """A re-transcode failed: the committed revision keeps serving (still ``ready``), the
        reason is shown beside it."""
        with self.db.session() as session:
            result = session.execute(
                update(Asset)
                .where(Asset.id == asset_id)
                .values(error=f"re-transcode failed: {reason}")
            )
            if result.rowcount == 0:
                raise NotFound(f"no asset {asset_id!r}")

    def delete_asset(self, asset_id: str) -> None:
        with self.db.session() as session:
            asset = session.get(Asset, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id!r}")
            session.execute(Job.__table__.delete().where(Job.asset_id == asset_id))
            session.delete(asset)

    def renditions(self, asset_id: str, revision: int) -> list[Rendition]:
        with self.db.session() as session:
            stmt = (
                select(Rendition)
                .where(Rendition.asset_id == asset_id, Rendition.revision == revision)
                .order_by(Rendition.id)
            )
            return list(session.scalars(stmt))

    def commit_revision(
        self,
        asset_id: str,
        revision: int,
        renditions: Iterable[Rendition],
        duration: float,
        *,
        media: RevisionMedia | None = None,
    ) -> None:
        """Make ``revision`` the served one (``ready``), atomically with all its rendition rows
        and ``media`` (catalogue.revisions)."""
        with self.db.session() as session:
            revisions.commit_revision(session, asset_id, revision, renditions, duration, media)

    def replace_renditions(
        self,
        asset_id: str,
        revision: int,
        renditions: Iterable[Rendition],
        duration: float,
        *,
        media: RevisionMedia | None = None,
    ) -> bool:
        """Swap the rows of a served revision in one transaction; False when the asset has
        moved on to another revision meanwhile (catalogue.revisions)."""
        with self.db.session() as session:
            return revisions.replace_renditions(
                session, asset_id, revision, renditions, duration, media
            )

    # -- jobs -------------------------------------------------------------------------------
    def enqueue_job(
        self, asset_id: str, *, kind: str = "transcode", queue: str = "ondemand", max_attempts: int
    ) -> Job:
        """Queue a job unless one of the same base kind is already queued/running for the
        asset (idempotent): one transcode and one extras job per asset at most."""
        base = kind.partition(":")[0]
        with self.db.session() as session:
            existing = session.scalars(
                select(Job).where(
                    Job.asset_id == asset_id,
                    Job.state.in_(ACTIVE_JOB_STATES),
                    kind_is(base),
                )
            ).first()
            if existing is not None:
                return existing
            job = Job(
                id=new_id(),
                asset_id=asset_id,
                kind=kind,
                queue=queue,
                state="queued",
                max_attempts=max_attempts,
            )
            session.add(job)
            if base == TRANSCODE_KIND:
                # A ready asset keeps serving its current revision while it is re-transcoded;
                # one that serves nothing (never committed, or a progressive revision that
                # failed) is queued again.
                asset_status.requeue(session, asset_id)
            return job

    def latest_job(self, asset_id: str, kind: str = TRANSCODE_KIND) -> Job | None:
        """The newest job of the asset whose kind is ``kind`` or ``kind:…`` (the transcode
        job by default: the one that decides the asset's state)."""
        with self.db.session() as session:
            stmt = (
                select(Job)
                .where(Job.asset_id == asset_id, kind_is(kind))
                .order_by(Job.created_at.desc())
                .limit(1)
            )
            return session.scalars(stmt).first()

    def set_job_stages(self, job_id: str, stages: dict[str, Any]) -> None:
        """Per-stage timings (and, for extras, per-extra status) of a job, for the API."""
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == job_id).values(stages=stages))

    def claim_job(
        self,
        owner: str,
        lease_s: int,
        *,
        asset_id: str | None = None,
        kind: str | None = None,
        now: datetime | None = None,
    ) -> ClaimedJob | None:
        """Take the oldest runnable queued job (of the asset, of base kind ``kind``, when
        given), or None. Safe against concurrent claimers."""
        now = now or utcnow()
        candidates: list[str] = []
        with self.db.session() as session:
            # One queue at a time, in priority order: each is an ordered walk of the index
            # (state, queue, created_at) that stops after a few rows, even with a backfill
            # of 50,000 queued jobs (one query ordered by priority sorted them all).
            for queue in (*QUEUE_PRIORITY, None):
                stmt = select(Job.id).where(Job.state == "queued")
                if queue is None:  # any other queue, last
                    stmt = stmt.where(Job.queue.not_in(QUEUE_PRIORITY))
                else:
                    stmt = stmt.where(Job.queue == queue)
                stmt = stmt.where((Job.not_before.is_(None)) | (Job.not_before <= now))
                if asset_id is not None:
                    stmt = stmt.where(Job.asset_id == asset_id)
                if kind is not None:
                    stmt = stmt.where(kind_is(kind))
                stmt = stmt.order_by(Job.created_at).limit(5 - len(candidates))
                candidates += list(session.scalars(stmt))
                if len(candidates) >= 5:
                    break
        for job_id in candidates:
            job = self.claim_job_by_id(job_id, owner, lease_s, now=now)
            if job is not None:
                return job
        return None

    def claim_job_by_id(
        self, job_id: str, owner: str, lease_s: int, *, now: datetime | None = None
    ) -> ClaimedJob | None:
        """Take one named job if it is queued and due, else None (someone else has it, it is
        finished, or its retry delay has not passed). A broker message carries only the job
        id and calls this: a duplicate delivery finds the job taken and does nothing."""
        now = now or utcnow()
        with self.db.session() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "queued")
                .where((Job.not_before.is_(None)) | (Job.not_before <= now))
                .values(
                    state="running",
                    attempts=Job.attempts + 1,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s),
                    started_at=now,
                    progress=0.0,
                )
            )
            if result.rowcount != 1:
                return None  # another worker won the race
            job = session.get(Job, job_id)
            assert job is not None
            return ClaimedJob(job.id, job.asset_id, job.kind, job.attempts, job.max_attempts, owner)

    def heartbeat(self, job: ClaimedJob, lease_s: int, progress: float | None = None) -> bool:
        """Extend the lease; False means the lease was lost (the job was taken over)."""
        values: dict[str, Any] = {"lease_until": utcnow() + timedelta(seconds=lease_s)}
        if progress is not None:
            values["progress"] = progress
        with self.db.session() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == "running", Job.lease_owner == job.owner)
                .values(**values)
            )
            return result.rowcount == 1

    def finish_job(
        self, job: ClaimedJob, *, error: str | None = None, dead_letter: bool = False
    ) -> None:
        """Record the outcome; with ``dead_letter`` a failed job lands in the DLQ (``dead``)."""
        state = ("dead" if dead_letter else "failed") if error else "succeeded"
        with self.db.session() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == "running", Job.lease_owner == job.owner)
                .values(
                    state=state,
                    error=error,
                    finished_at=utcnow(),
                    lease_owner=None,
                    progress=1.0 if error is None else Job.progress,
                )
            )
            if result.rowcount != 1:
                raise Conflict(f"job {job.id} is no longer held by {job.owner}")

    def retry_job(self, job: ClaimedJob, *, error: str, delay_s: float) -> None:
        """Put the job back in the queue after ``delay_s`` (backoff), keeping the reason."""
        with self.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == "running", Job.lease_owner == job.owner)
                .values(
                    state="queued",
                    error=error,
                    lease_owner=None,
                    lease_until=None,
                    not_before=utcnow() + timedelta(seconds=delay_s),
                )
            )

    def requeue_expired(self, now: datetime | None = None) -> list[str]:
        """Jobs whose worker died (lease lapsed) go back to the queue; returns their ids."""
        now = now or utcnow()
        with self.db.session() as session:
            ids = list(
                session.scalars(select(Job.id).where(Job.state == "running", Job.lease_until < now))
            )
            for job_id in ids:
                session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == "running", Job.lease_until < now)
                    .values(
                        state="queued",
                        lease_owner=None,
                        lease_until=None,
                        error="worker stopped while running; retrying",
                    )
                )
            return ids

    def running_leases(self, owner_prefix: str) -> list[tuple[str, str]]:
        """``(job id, lease owner)`` of running jobs whose owner starts with ``owner_prefix``."""
        with self.db.session() as session:
            stmt = select(Job.id, Job.lease_owner).where(
                Job.state == "running", Job.lease_owner.startswith(owner_prefix, autoescape=True)
            )
            return [(job_id, owner) for job_id, owner in session.execute(stmt) if owner]

    def requeue_lease(self, job_id: str, owner: str, reason: str) -> bool:
        """Put a running job back in the queue now if ``owner`` still holds it (its worker is
        known to be dead, so its lease need not be waited out)."""
        with self.db.session() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "running", Job.lease_owner == owner)
                .values(state="queued", lease_owner=None, lease_until=None, error=reason)
            )
            return result.rowcount == 1

    def get_job(self, job_id: str) -> Job:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id!r}")
            return job

    def list_jobs(
        self, *, state: str | None = None, asset_id: str | None = None, limit: int = 1000
    ) -> list[Job]:
        """Jobs, newest first."""
        with self.db.session() as session:
            stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
            if state is not None:
                stmt = stmt.where(Job.state == state)
            if asset_id is not None:
                stmt = stmt.where(Job.asset_id == asset_id)
            return list(session.scalars(stmt))

    def redrive_job(self, job_id: str) -> Job:
        """Move a dead job back to the queue with its attempts reset (after the operator fixed
        the cause). Refused while another job of the same asset is queued or running."""
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound(f"no job {job_id!r}")
            if job.state != "dead":
                raise Conflict(f"job {job_id} is {job.state}, not in the dead-letter queue")
            active = session.scalars(
                select(Job.id).where(
                    Job.asset_id == job.asset_id,
                    Job.state.in_(ACTIVE_JOB_STATES),
                    Job.id != job_id,
                    kind_is(job.kind.partition(":")[0]),
                )
            ).first()
            if active is not None:
                raise Conflict(f"asset {job.asset_id} already has an active job ({active})")
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "dead")
                .values(
                    state="queued",
                    attempts=0,
                    error=None,
                    progress=0.0,
                    not_before=None,
                    lease_owner=None,
                    lease_until=None,
                    finished_at=None,
                )
            )
            if result.rowcount != 1:
                raise Conflict(f"job {job_id} was re-driven concurrently")
            if job.kind.partition(":")[0] == TRANSCODE_KIND:
                asset_status.requeue(session, job.asset_id)
                # a re-drive follows a fix of the master (often a new file under the same
                # key): what the probe at ingest said about the old one no longer holds
                session.execute(
                    update(Asset).where(Asset.id == job.asset_id).values(source_info=None)
                )
        return self.get_job(job_id)

    def job_counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.db.session() as session:
            rows = session.execute(select(Job.state, func.count()).group_by(Job.state))
            return dict(rows.all())

    # -- events -----------------------------------------------------------------------------
    def add_event(self, type_: str, asset_id: str | None, payload: dict[str, Any]) -> int:
        with self.db.session() as session:
            event = Event(type=type_, asset_id=asset_id, payload=payload)
            session.add(event)
            session.flush()
            return event.id

    def last_event_id(self) -> int:
        from sqlalchemy import func

        with self.db.session() as session:
            return session.scalar(select(func.max(Event.id))) or 0

    def events_after(self, event_id: int, types: tuple[str, ...], limit: int = 1000) -> list[Event]:
        """Events newer than ``event_id`` of the given types, oldest first (for followers)."""
        with self.db.session() as session:
            stmt = (
                select(Event)
                .where(Event.id > event_id, Event.type.in_(types))
                .order_by(Event.id)
                .limit(limit)
            )
            return list(session.scalars(stmt))

    def events(
        self,
        asset_id: str | None = None,
        limit: int = 100,
        *,
        types: Iterable[str] | None = None,
        prefix: str | None = None,
    ) -> list[Event]:
        """Newest first; optionally only some types, or types starting with ``prefix``."""
        with self.db.session() as session:
            stmt = select(Event).order_by(Event.id.desc()).limit(limit)
            if asset_id is not None:
                stmt = stmt.where(Event.asset_id == asset_id)
            if types is not None:
                stmt = stmt.where(Event.type.in_(list(types)))
            if prefix is not None:
                stmt = stmt.where(Event.type.startswith(prefix, autoescape=True))
            return list(session.scalars(stmt))
