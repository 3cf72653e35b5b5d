"""The usage ledger's catalogue half: add drained counts to ``usage_hours``, prune old
hours, and read usage back for reports.

Several edge processes add to the same rows: each flush adds (``bytes = bytes + n``) inside
one transaction, and a row another edge inserted first (unique key) is retried as an update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from vodstack.catalogue import Database, UsageHour
from vodstack.costs.ledger import Usage, UsageKey


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One ledger row as reports read it."""

    hour: datetime
    asset_id: str
    track: str
    kind: str
    result: str
    requests: int
    bytes: int


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def flush(db: Database, rows: Iterable[tuple[UsageKey, Usage]]) -> int:
    """Add ``rows`` to the catalogue; returns how many keys were written."""
    merged: dict[UsageKey, Usage] = {}
    for key, usage in rows:
        into = merged.setdefault(key, Usage())
        into.requests += usage.requests
        into.bytes += usage.bytes
    if not merged:
        return 0
    for _ in range(3):
        try:
            with db.session() as session:
                for key, usage in merged.items():
                    where = (
                        (UsageHour.hour == hour_start(key.hour))
                        & (UsageHour.asset_id == key.asset_id)
                        & (UsageHour.track == key.track)
                        & (UsageHour.kind == key.kind)
                        & (UsageHour.result == key.result)
                    )
                    done = session.execute(
                        update(UsageHour)
                        .where(where)
                        .values(
                            requests=UsageHour.requests + usage.requests,
                            bytes=UsageHour.bytes + usage.bytes,
                        )
                    )
                    if done.rowcount == 0:  # type: ignore[attr-defined]
                        session.add(
                            UsageHour(
                                hour=hour_start(key.hour),
                                asset_id=key.asset_id,
                                track=key.track,
                                kind=key.kind,
                                result=key.result,
                                requests=usage.requests,
                                bytes=usage.bytes,
                            )
                        )
                        session.flush()
            return len(merged)
        except IntegrityError:
            continue  # another edge inserted one of the rows first: add to it instead
    raise RuntimeError("usage rows kept conflicting with other edges' inserts")


def prune(db: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete hours older than the retention; returns how many rows went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with db.session() as session:
        done = session.execute(delete(UsageHour).where(UsageHour.hour < cutoff))
        return int(done.rowcount or 0)  # type: ignore[attr-defined]


def usage(
    db: Database, *, asset_id: str | None = None, since: datetime | None = None
) -> list[UsageRow]:
    query = select(UsageHour)
    if asset_id is not None:
        query = query.where(UsageHour.asset_id == asset_id)
    if since is not None:
        query = query.where(UsageHour.hour >= since)
    with db.session() as session:
        return [
            UsageRow(r.hour, r.asset_id, r.track, r.kind, r.result, r.requests, r.bytes)
            for r in session.scalars(query.order_by(UsageHour.hour))
        ]


def total_bytes(db: Database, since: datetime | None = None) -> dict[str, int]:
    """Delivered bytes by result (for the Prometheus collector)."""
    query = select(UsageHour.result, func.sum(UsageHour.bytes)).group_by(UsageHour.result)
    if since is not None:
        query = query.where(UsageHour.hour >= since)
    with db.session() as session:
        return {result: int(n or 0) for result, n in session.execute(query)}
