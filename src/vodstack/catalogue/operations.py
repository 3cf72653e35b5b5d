"""Catalogue-wide operations as rows: what to do, over which assets, and how far it got.

An operation (re-transcode everything, protect or re-key many titles) walks the catalogue in
batches of asset ids in id order (keyset paging: ``WHERE id > :cursor ORDER BY id LIMIT n``),
and saves its cursor and counters after every batch, in the same conditional update that
extends its lease. So memory holds one batch whatever the catalogue's size, a stopped driver
(Ctrl-C, a killed worker) is resumed from its cursor by anyone, and progress (done/total,
rate, ETA) is a read of one row from any process (CLI, API, /metrics).

Re-running a batch after a crash between its work and its save is safe: each kind's work is
idempotent per asset (an active job is reused, a protection setting written again), except
that a re-key may bump one batch's key generation twice (players keep the previous one).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Base, UtcDateTime, utcnow
from vodstack.catalogue.repository import new_id
from vodstack.errors import Conflict, NotFound

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("succeeded", "failed", "cancelled")
#: ``paused``: its driver was stopped by the operator (Ctrl-C); only ``resume`` goes on.
STATES = (*ACTIVE_STATES, "paused", *FINAL_STATES)
RESUMABLE_STATES = ("paused", "cancelled", "failed")
#: Per-asset reasons kept on the row (the counters count them all).
MAX_ERRORS = 100


class Operation(Base):
    """One catalogue-wide operation (migration 0011)."""

    __tablename__ = "operations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # queued → running → succeeded | failed | cancelled (| paused by the operator); a lapsed
    # lease lets a worker's sweeper resume it
    state: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[str | None] = mapped_column(String(32), default=None)  # last asset id done
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # asset id → reason
    error: Mapped[str | None] = mapped_column(Text, default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # The current run: when it started and how many were done then (its rate and ETA).
    run_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    run_done: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


@dataclass(frozen=True, slots=True)
class Progress:
    """What an operator reads: counters plus the current run's rate and the ETA."""

    processed: int  # done + skipped + failed
    remaining: int
    rate_per_s: float | None
    eta_s: float | None


def progress(op: Operation, now: datetime | None = None) -> Progress:
    processed = op.done + op.skipped + op.failed
    remaining = max(0, op.total - processed)
    rate = eta = None
    if op.run_started_at is not None:
        end = op.finished_at or (now or utcnow())
        elapsed = (end - op.run_started_at).total_seconds()
        if elapsed > 0:
            rate = (processed - op.run_done) / elapsed
            if rate > 0 and op.state in ACTIVE_STATES:
                eta = remaining / rate
    if op.state in FINAL_STATES:
        eta = 0.0 if op.state == "succeeded" else None
    return Progress(processed, remaining, rate, eta)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch did: assets done, and per-asset reasons for those skipped or failed."""

    done: int = 0
    skipped: dict[str, str] | None = None
    failed: dict[str, str] | None = None
    items: dict[str, str] | None = None  # asset id → what was made (a job id), for callers


class Operations:
    """Repository over the ``operations`` table (and nothing else)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, kind: str, params: dict[str, Any], total: int) -> Operation:
        op = Operation(
            id=new_id(),
            kind=kind,
            params=params,
            state="queued",
            total=total,
            errors={},
        )
        with self.db.session() as session:
            session.add(op)
        return op

    def get(self, op_id: str) -> Operation:
        with self.db.session() as session:
            op = session.get(Operation, op_id)
            if op is None:
                raise NotFound(f"no operation {op_id!r}")
            return op

    def list(self, *, state: str | None = None, limit: int = 100) -> list[Operation]:
        with self.db.session() as session:
            stmt = select(Operation).order_by(Operation.created_at.desc()).limit(limit)
            if state is not None:
                stmt = stmt.where(Operation.state == state)
            return list(session.scalars(stmt))

    def active(self) -> builtins.list[Operation]:
        """Queued and running operations (few: what /metrics shows one by one)."""
        with self.db.session() as session:
            stmt = select(Operation).where(Operation.state.in_(ACTIVE_STATES)).limit(100)
            return list(session.scalars(stmt.order_by(Operation.created_at)))

    def counts(self) -> dict[str, int]:
        with self.db.session() as session:
            rows = session.execute(select(Operation.state, func.count()).group_by(Operation.state))
            return dict.fromkeys(STATES, 0) | dict(rows.all())

    def claim(self, op_id: str, owner: str, lease_s: float, now: datetime | None = None) -> bool:
        """Take the operation if it is queued, or running under a lapsed lease (its driver
        died): a conditional update, so two drivers never run one operation."""
        now = now or utcnow()
        with self.db.session() as session:
            result = session.execute(
                update(Operation)
                .where(Operation.id == op_id)
                .where(
                    or_(
                        Operation.state == "queued",
                        (Operation.state == "running") & (Operation.lease_until < now),
                    )
                )
                .values(
                    state="running",
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s),
                    run_started_at=now,
                    run_done=Operation.done + Operation.skipped + Operation.failed,
                    updated_at=now,
                )
            )
            return result.rowcount == 1

    def save_batch(
        self, op: Operation, owner: str, cursor: str, outcome: BatchOutcome, lease_s: float
    ) -> bool:
        """Record one batch and extend the lease; False when the driver lost the operation
        (cancelled, or taken over after its lease lapsed): it must stop."""
        now = utcnow()
        skipped = outcome.skipped or {}
        failed = outcome.failed or {}
        with self.db.session() as session:
            row = session.get(Operation, op.id)
            if row is None or row.state != "running" or row.lease_owner != owner:
                return False
            errors = dict(row.errors or {})
            for asset_id, reason in (*skipped.items(), *failed.items()):
                if len(errors) >= MAX_ERRORS:
                    break
                errors[asset_id] = reason
            result = session.execute(
                update(Operation)
                .where(
                    Operation.id == op.id,
                    Operation.state == "running",
                    Operation.lease_owner == owner,
                )
                .values(
                    cursor=cursor,
                    done=Operation.done + outcome.done,
                    skipped=Operation.skipped + len(skipped),
                    failed=Operation.failed + len(failed),
                    errors=errors,
                    lease_until=now + timedelta(seconds=lease_s),
                    updated_at=now,
                )
            )
            return result.rowcount == 1

    def finish(self, op_id: str, owner: str, *, error: str | None = None) -> bool:
        now = utcnow()
        with self.db.session() as session:
            result = session.execute(
                update(Operation)
                .where(
                    Operation.id == op_id,
                    Operation.state == "running",
                    Operation.lease_owner == owner,
                )
                .values(
                    state="failed" if error else "succeeded",
                    error=error,
                    lease_owner=None,
                    lease_until=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
            return result.rowcount == 1

    def release(self, op_id: str, owner: str, state: str = "queued") -> None:
        """The driver stops without finishing: ``queued`` again (a worker shutting down; any
        driver may go on) or ``paused`` (the operator's Ctrl-C); the cursor is kept."""
        with self.db.session() as session:
            session.execute(
                update(Operation)
                .where(
                    Operation.id == op_id,
                    Operation.state == "running",
                    Operation.lease_owner == owner,
                )
                .values(state=state, lease_owner=None, lease_until=None, updated_at=utcnow())
            )

    def cancel(self, op_id: str) -> Operation:
        with self.db.session() as session:
            result = session.execute(
                update(Operation)
                .where(Operation.id == op_id, Operation.state.in_((*ACTIVE_STATES, "paused")))
                .values(
                    state="cancelled",
                    lease_owner=None,
                    lease_until=None,
                    finished_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            if result.rowcount != 1:
                op = self.get(op_id)
                raise Conflict(f"operation {op_id} is {op.state}; it cannot be cancelled")
        return self.get(op_id)

    def requeue(self, op_id: str) -> Operation:
        """An operator's resume of a paused, cancelled or failed operation: queued again,
        from its cursor (what was done stays done)."""
        with self.db.session() as session:
            result = session.execute(
                update(Operation)
                .where(Operation.id == op_id, Operation.state.in_(RESUMABLE_STATES))
                .values(state="queued", error=None, finished_at=None, updated_at=utcnow())
            )
            if result.rowcount != 1:
                self.get(op_id)  # NotFound first
        return self.get(op_id)

    def stale(self, now: datetime | None = None) -> builtins.list[str]:
        """Running operations whose driver's lease lapsed, and queued ones nobody took for a
        minute (their nudge was lost): what a worker's sweeper starts again."""
        now = now or utcnow()
        with self.db.session() as session:
            stmt = select(Operation.id).where(
                or_(
                    (Operation.state == "running") & (Operation.lease_until < now),
                    (Operation.state == "queued")
                    & (Operation.updated_at < now - timedelta(seconds=60)),
                )
            )
            return list(session.scalars(stmt.limit(100)))
