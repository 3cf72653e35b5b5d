"""Re-transcode jobs for a batch of assets in a few statements (a catalogue-wide backfill).

``AssetManager.retranscode`` does one asset in four transactions plus a broker round trip:
right for one title, ~6 ms each, so 50,000 titles took minutes. Here one batch costs one
read of its assets, one of their active jobs, one multi-row insert of jobs and one of audit
events, and its nudges go to the broker from a few connections at once. The rules are the
same as the single path's:

* an asset whose master is missing, or being restored from cold storage, is skipped with the
  reason (``require_hot`` starts the restore);
* an asset that already has a queued or running transcode keeps it (its id is returned and
  nudged again: a lost nudge is repaired, a duplicate is a no-op);
* an asset that serves nothing (never committed, or failed) goes back to ``queued``; a ready
  one keeps serving its revision until the new one is committed;
* the audit event ``asset.retranscode`` is written per asset (with the operation's id). It is
  inserted directly, not published on the bus: nothing in the process subscribes to it
  (webhooks and purges follow other events), and a bus publish is a transaction per event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import insert, select

from vodstack.base import ASSET_RETRANSCODE
from vodstack.catalogue import ACTIVE_JOB_STATES, TRANSCODE_KIND, Asset, Event, Job, utcnow
from vodstack.catalogue.repository import _ID_ALPHABET, ASSET_ID_LENGTH
from vodstack.catalogue.status import requeue_many
from vodstack.errors import Conflict, NotFound, StorageError
from vodstack.jobs.pipeline import transcode_kind
from vodstack.storage import LocalStore
from vodstack.storage.tiers import require_hot

#: Master checks of a batch run this many at a time on object stores with request latency (S3).
_CHECK_THREADS = 8


@dataclass
class Enqueued:
    jobs: dict[str, str] = field(default_factory=dict)  # asset id → job id (new or existing)
    skipped: dict[str, str] = field(default_factory=dict)  # asset id → reason


def enqueue_transcodes(
    services: object,
    asset_ids: Sequence[str],
    *,
    ladder: str | None = None,
    queue: str = "backfill",
    operation: str | None = None,
) -> Enqueued:
    """Queue a transcode (``ladder`` template) for each asset of the batch; see the module."""
    s = services  # Services: typed loosely so this module does not import the assembly
    db, store, catalogue = s.db, s.store, s.catalogue  # type: ignore[attr-defined]
    settings, pipeline = s.settings, s.pipeline  # type: ignore[attr-defined]
    kind = transcode_kind(ladder)
    out = Enqueued()
    with db.session() as session:
        rows = session.execute(
            select(Asset.id, Asset.source_key).where(Asset.id.in_(list(asset_ids)))
        ).all()
    found = {asset_id for asset_id, _ in rows}
    for asset_id in asset_ids:
        if asset_id not in found:
            out.skipped[asset_id] = "deleted meanwhile"

    def check(row: tuple[str, str]) -> tuple[str, str | None]:
        asset_id, key = row
        try:
            if not store.exists(key):
                return asset_id, "the master is missing; it cannot be re-transcoded"
            require_hot(store, catalogue, asset_id, key)
        except (Conflict, NotFound, StorageError) as exc:
            return asset_id, exc.message
        return asset_id, None

    if isinstance(store, LocalStore):
        checked = [check(tuple(r)) for r in rows]  # a stat each: threads would only add cost
    else:
        with ThreadPoolExecutor(_CHECK_THREADS) as pool:
            checked = list(pool.map(check, [tuple(r) for r in rows]))
    ready = [asset_id for asset_id, reason in checked if reason is None]
    out.skipped.update({asset_id: reason for asset_id, reason in checked if reason})
    if not ready:
        return out
    now = utcnow()
    with db.session() as session:
        # By asset id only, state and kind checked here: with the state in the query, stale
        # statistics after a bulk load (50,000 queued rows the planner has not seen yet) led
        # it down the state index, reading every queued job for each batch: O(N²) in all.
        history = session.execute(
            select(Job.asset_id, Job.id, Job.queue, Job.state, Job.kind).where(
                Job.asset_id.in_(ready)
            )
        ).all()
        existing = [
            (asset_id, job_id, q)
            for asset_id, job_id, q, state, job_kind in history
            if state in ACTIVE_JOB_STATES and job_kind.partition(":")[0] == TRANSCODE_KIND
        ]
        queues = {job_id: q for _, job_id, q in existing}
        out.jobs.update({asset_id: job_id for asset_id, job_id, _ in existing})
        new = [a for a in ready if a not in out.jobs]
        rows_new = [
            {
                "id": job_id,
                "asset_id": a,
                "kind": kind,
                "queue": queue,
                "state": "queued",
                "max_attempts": settings.job_max_attempts,
                "created_at": now,
            }
            for a, job_id in zip(new, new_ids(len(new)), strict=True)
        ]
        if rows_new:
            session.execute(insert(Job), rows_new)
            requeue_many(session, new)
        for row in rows_new:
            out.jobs[row["asset_id"]] = row["id"]
            queues[row["id"]] = queue
        session.execute(
            insert(Event),
            [
                {
                    "type": ASSET_RETRANSCODE,
                    "asset_id": a,
                    "payload": {
                        "job_id": out.jobs[a],
                        "queue": queue,
                        "ladder": ladder or "default",
                        **({"operation": operation} if operation else {}),
                    },
                    "created_at": now,
                }
                for a in ready
            ],
        )
    send_many(pipeline, [(job_id, queues[job_id]) for job_id in out.jobs.values()])
    return out


# Random bytes → id characters: bytes 0…251 map to the 36 characters 7 times each (uniform);
# 252…255 are dropped. Same alphabet and length as repository.new_id, ~20× faster per id.
_TO_ID = bytes((_ID_ALPHABET[b % 36] if b < 252 else "-").encode()[0] for b in range(256))
_DROP = bytes(range(252, 256))


def new_ids(count: int) -> list[str]:
    """``count`` random ids like ``repository.new_id`` (a batch of 500 jobs needs 500)."""
    out: list[str] = []
    while len(out) < count:
        raw = secrets.token_bytes(ASSET_ID_LENGTH * 2 * (count - len(out)))
        chars = raw.translate(_TO_ID, _DROP).decode()
        out += [
            chars[i : i + ASSET_ID_LENGTH]
            for i in range(0, len(chars) - ASSET_ID_LENGTH + 1, ASSET_ID_LENGTH)
        ][: count - len(out)]
    return out


def send_many(pipeline: object, jobs: Sequence[tuple[str, str]]) -> None:
    """Nudge every job (after its rows are committed): through the broker when there is one
    (its ``send_many`` when it has it), else wake this process's pools once."""
    if not jobs:
        return
    dispatcher = getattr(pipeline, "dispatcher", None)
    many = getattr(dispatcher, "send_many", None)
    if many is not None:
        many(jobs)
        return
    if dispatcher is not None:
        for job_id, queue in jobs:
            dispatcher.send(job_id, queue)
        return
    job_id, queue = jobs[0]
    pipeline.dispatch(job_id, queue)  # type: ignore[attr-defined]  # wakes the pools
