"""Catalogue-wide operations: re-transcode everything (or with another ladder: a ladder
backfill), protect or re-key many titles — batched, resumable, with progress.

A driver claims the operation row (catalogue.operations), then repeats: the next batch of
asset ids after its cursor (keyset over the primary key), the kind's work for that batch,
one conditional update saving cursor, counters and lease. Memory holds one batch; the time
per batch does not depend on how many titles came before.

Where a driver runs:

* ``vodstack operations …`` / ``vodstack assets retranscode --all``: in the CLI process, in
  the foreground, with a progress bar (Ctrl-C pauses; ``operations resume ID`` goes on);
* ``POST /api/operations``: on the backfill lane of ``vodstack worker`` when a broker is
  configured (a Celery task carrying the operation id), else in a thread of the server;
* a worker's sweeper starts again any operation whose driver died (lapsed lease).

Re-transcodes are queued on the backfill lane, so a new upload never waits behind them.
Publish/unpublish by tag is not offered: assets have no tags yet (see docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, exists, func, select

from vodstack.catalogue import Asset
from vodstack.catalogue.labels import AssetTag
from vodstack.catalogue.operations import BatchOutcome, Operation, Operations
from vodstack.errors import InvalidInput, NotFound, VodstackError
from vodstack.jobs.bulk_enqueue import enqueue_transcodes
from vodstack.jobs.owner import owner_prefix

if TYPE_CHECKING:
    from vodstack.base import EventBus
    from vodstack.catalogue import Catalogue, Database
    from vodstack.config import Settings
    from vodstack.jobs.pipeline import Pipeline
    from vodstack.protection import Protection
    from vodstack.secrets import SecretStore

log = logging.getLogger(__name__)

#: A driver renews its lease with every batch; a batch must take less than this.
LEASE_S = 120.0
STATUSES = ("uploaded", "queued", "transcoding", "ready", "failed")


class _Assets(Protocol):
    """The asset operations these kinds call (vodstack.assets.AssetManager has them)."""

    catalogue: Catalogue
    bus: EventBus

    def get(self, asset_id: str) -> Asset: ...

    def set_published(self, asset_id: str, published: bool) -> Asset: ...


class Services(Protocol):
    """What the operations need of the composition root (its ``Services`` has them all);
    naming only these keeps jobs below the root."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def assets(self) -> _Assets: ...

    @property
    def secrets(self) -> SecretStore: ...


class Context:
    """What a kind's work needs: the services, and protection built on first use."""

    def __init__(self, services: Services, protection: Protection | None = None) -> None:
        self.services = services
        self._protection = protection

    @property
    def protection(self) -> Protection:
        if self._protection is None:
            from vodstack.protection import build_protection

            s = self.services
            self._protection = build_protection(s.settings, s.db, s.secrets)
        return self._protection


Work = Callable[[Context, Sequence[str], dict[str, Any]], BatchOutcome]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    summary: str
    batch: int
    work: Work
    only: Callable[[dict[str, Any]], list[ColumnElement[bool]]] = lambda params: []


def _retranscode(ctx: Context, ids: Sequence[str], params: dict[str, Any]) -> BatchOutcome:
    queued = enqueue_transcodes(
        ctx.services,
        ids,
        ladder=params.get("ladder"),
        queue="backfill",
        operation=params.get("_operation"),
    )
    return BatchOutcome(done=len(queued.jobs), skipped=queued.skipped, items=queued.jobs)


def _per_asset(action: Callable[[Context, str, dict[str, Any]], object]) -> Work:
    """Work done one asset at a time through the same function the single-asset API uses
    (same events, same purges); a deleted asset is skipped, any other refusal recorded."""

    def work(ctx: Context, ids: Sequence[str], params: dict[str, Any]) -> BatchOutcome:
        done, skipped, failed = 0, {}, {}
        for asset_id in ids:
            try:
                action(ctx, asset_id, params)
                done += 1
            except NotFound:
                skipped[asset_id] = "deleted meanwhile"
            except VodstackError as exc:
                failed[asset_id] = exc.message
        return BatchOutcome(done=done, skipped=skipped, failed=failed)

    return work


def _protect(ctx: Context, asset_id: str, params: dict[str, Any]) -> object:
    from vodstack.protection import admin

    return admin.set_protection(ctx.services.assets, ctx.protection, asset_id, params["schemes"])


def _publish(ctx: Context, asset_id: str, params: dict[str, Any]) -> object:
    return ctx.services.assets.set_published(asset_id, True)


def _unpublish(ctx: Context, asset_id: str, params: dict[str, Any]) -> object:
    return ctx.services.assets.set_published(asset_id, False)


def _rekey(ctx: Context, asset_id: str, params: dict[str, Any]) -> object:
    from vodstack.protection import admin

    return admin.rekey(ctx.services.assets, ctx.protection, asset_id)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "retranscode",
            "re-run a ladder (default or `ladder`) from every master, on the backfill lane",
            500,
            _retranscode,
        ),
        Kind(
            "protect",
            "serve every selected asset with `schemes` (clear, aes-128, cbcs, cenc)",
            100,
            _per_asset(_protect),
        ),
        Kind(
            "publish",
            "allow playback of every selected asset (`tag`: those with all these tags)",
            200,
            _per_asset(_publish),
        ),
        Kind(
            "unpublish",
            "stop playback of every selected asset at once (takedown; `tag` as for publish)",
            200,
            _per_asset(_unpublish),
        ),
        Kind(
            "rekey",
            "new content keys for every protected asset",
            100,
            _per_asset(_rekey),
            lambda params: [Asset.drm != "clear"],
        ),
    )
}


# -- selection: keyset pages of asset ids ------------------------------------------------------
def _filters(kind: Kind, params: dict[str, Any]) -> list[ColumnElement[bool]]:
    where = list(kind.only(params))
    if params.get("status"):
        where.append(Asset.status.in_(params["status"]))
    for tag in params.get("tag") or ():  # all of them (as the asset listing's ``tag``)
        where.append(exists().where(AssetTag.asset_id == Asset.id, AssetTag.tag == tag))
    return where


def next_ids(
    services: Services, kind: Kind, params: dict[str, Any], after: str | None
) -> list[str]:
    """The next batch of asset ids after ``after``, in id order (primary-key index)."""
    stmt = select(Asset.id).where(*_filters(kind, params)).order_by(Asset.id)
    if after is not None:
        stmt = stmt.where(Asset.id > after)
    size = int(params.get("batch") or kind.batch)
    with services.db.session() as session:
        return list(session.scalars(stmt.limit(size)))


def count(services: Services, kind: Kind, params: dict[str, Any]) -> int:
    """How many assets the operation will visit (once, when it is created)."""
    stmt = select(func.count()).select_from(Asset).where(*_filters(kind, params))
    with services.db.session() as session:
        return int(session.scalar(stmt) or 0)


# -- creating ------------------------------------------------------------------------------------
def validate(services: Services, kind_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The operation's parameters, checked before anything is created (InvalidInput)."""
    if kind_name not in KINDS:
        raise InvalidInput(f"no operation {kind_name!r}; known: {', '.join(KINDS)}")
    out: dict[str, Any] = {}
    status = params.get("status")
    if status:
        unknown = set(status) - set(STATUSES)
        if unknown:
            raise InvalidInput(f"unknown status {sorted(unknown)}; known: {', '.join(STATUSES)}")
        out["status"] = sorted(set(status))
    if params.get("tag"):
        tags = [str(t).strip() for t in params["tag"]]
        if len(tags) > 20 or not all(0 < len(t) <= 64 for t in tags):
            raise InvalidInput("tag: at most 20 tags of 1-64 characters")
        out["tag"] = sorted(set(tags))
    if params.get("max_per_s"):
        out["max_per_s"] = float(params["max_per_s"])
    if params.get("batch"):
        out["batch"] = max(1, min(5000, int(params["batch"])))
    if kind_name == "retranscode":
        ladder = params.get("ladder")
        if (ladder or "default") not in services.settings.ladder_templates:
            known = ", ".join(services.settings.ladder_templates)
            raise InvalidInput(f"no ladder named {ladder!r}; known: {known}")
        out["ladder"] = ladder
    if kind_name == "protect":
        from vodstack.protection import parse_schemes
        from vodstack.protection.service import protection_setting

        schemes = params.get("schemes")
        if not schemes:
            raise InvalidInput("protect needs schemes, e.g. aes-128,cenc or clear")
        out["schemes"] = protection_setting(parse_schemes(schemes))
    return out


def create(services: Services, kind_name: str, params: dict[str, Any]) -> Operation:
    checked = validate(services, kind_name, params)
    total = count(services, KINDS[kind_name], checked)
    op = Operations(services.db).create(kind_name, checked, total)
    services.bus.publish("operation.created", None, operation=op.id, kind=kind_name, **checked)
    return op


# -- driving -------------------------------------------------------------------------------------
OnBatch = Callable[[Operation, BatchOutcome], None]


def drive(
    services: Services,
    op_id: str,
    *,
    protection: Protection | None = None,
    stop: threading.Event | None = None,
    on_batch: OnBatch | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Operation:
    """Run the operation to its end here (or until ``stop``: paused; or cancelled, or taken
    over by another driver). Returns the row as it was left. A driver that finds the
    operation held by a live driver returns at once."""
    ops = Operations(services.db)
    owner = f"{owner_prefix()}:op:{threading.get_native_id()}"
    if not ops.claim(op_id, owner, LEASE_S):
        return ops.get(op_id)
    op = ops.get(op_id)
    kind = KINDS[op.kind]
    params = {**op.params, "_operation": op.id}
    ctx = Context(services, protection)
    cursor = op.cursor
    max_per_s = float(op.params.get("max_per_s") or 0)
    log.info("operation %s (%s) runs from %s", op.id, op.kind, cursor or "the start")
    try:
        while True:
            if stop is not None and stop.is_set():
                ops.release(op_id, owner, "paused")
                break
            started = clock()
            ids = next_ids(services, kind, params, cursor)
            if not ids:
                ops.finish(op_id, owner)
                break
            outcome = kind.work(ctx, ids, params)
            cursor = ids[-1]
            if not ops.save_batch(op, owner, cursor, outcome, LEASE_S):
                log.warning("operation %s: no longer ours (cancelled or taken over)", op_id)
                break
            if on_batch is not None:
                on_batch(ops.get(op_id), outcome)
            if max_per_s > 0:  # a gentle pace: e.g. purges reaching every edge
                wait = len(ids) / max_per_s - (clock() - started)
                if wait > 0 and stop is not None:
                    stop.wait(wait)
                elif wait > 0:
                    time.sleep(wait)
    except KeyboardInterrupt:
        ops.release(op_id, owner, "paused")
        raise
    except Exception as exc:
        log.exception("operation %s failed", op_id)
        ops.finish(op_id, owner, error=f"{type(exc).__name__}: {exc}")
    final = ops.get(op_id)
    if final.state in ("succeeded", "failed"):
        services.bus.publish(
            f"operation.{final.state}",
            None,
            operation=final.id,
            kind=final.kind,
            done=final.done,
            skipped=final.skipped,
            failed=final.failed,
        )
    return final


def launch(services: Services, op_id: str, protection: Protection | None = None) -> str:
    """Start the operation's driver away from the caller: on the backfill lane (broker), or
    in a daemon thread of this process. Returns where it went."""
    send = getattr(services.pipeline.dispatcher, "send_operation", None)
    if send is not None:
        send(op_id)
        return "backfill lane"
    threading.Thread(
        target=_drive_quietly,
        args=(services, op_id, protection),
        name=f"vodstack-operation-{op_id}",
        daemon=True,
    ).start()
    return "this server"


def _drive_quietly(services: Services, op_id: str, protection: Protection | None) -> None:
    try:
        drive(services, op_id, protection=protection)
    except Exception:  # drive records failures on the row; this is the thread's last word
        log.exception("operation %s driver stopped", op_id)


def resume_stale(services: Services) -> list[str]:
    """Send again the operations whose driver died (a worker's sweeper calls this)."""
    stale = Operations(services.db).stale()
    for op_id in stale:
        log.warning("operation %s: its driver stopped; sent again", op_id)
        launch(services, op_id)
    return stale
