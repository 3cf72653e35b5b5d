"""Asset status: the states of the public contract and the only moves between them.

``uploaded → queued → transcoding → ready | failed`` (ARCHITECTURE.md, ``GET /api/assets``);
an asset ingested from a URL starts ``fetching`` and becomes ``uploaded`` when its master is in.
Every change of ``assets.status`` goes through this module (the catalogue's ``mark_*``
methods and its revision commits call it): a conditional ``UPDATE … WHERE status IN
(allowed sources)``, so a move :data:`ALLOWED_FROM` does not list is refused (``Conflict``)
instead of silently overwriting what another worker decided. The invariants it keeps:

* ``uploaded`` is entered only by a new asset, or by a fetched one whose master arrived;
  ``fetching`` only by a new URL ingest, or by a re-driven one that failed.
* ``queued`` and ``transcoding`` are never entered from ``ready``: an asset that serves a
  revision keeps serving it (and says ``ready``) while it is re-transcoded; a failed
  re-transcode only notes its reason.
* ``ready`` and ``failed`` may follow anything: a committed revision is served whatever came
  before (a re-transcode, a re-drive, a late join); a failure can strike at any step (at
  ingest, in a job, in a progressive revision's window: a title with a hole is not offered).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.orm import Session

from vodstack.catalogue.models import Asset
from vodstack.errors import Conflict, NotFound


class AssetStatus(StrEnum):
    FETCHING = "fetching"
    UPLOADED = "uploaded"
    QUEUED = "queued"
    TRANSCODING = "transcoding"
    READY = "ready"
    FAILED = "failed"


_S = AssetStatus
# target → the statuses it may be entered from
ALLOWED_FROM: dict[AssetStatus, frozenset[AssetStatus]] = {
    _S.FETCHING: frozenset({_S.FETCHING, _S.FAILED}),  # a new URL ingest, or a re-drive
    _S.UPLOADED: frozenset({_S.FETCHING}),  # else only a new asset is uploaded
    _S.QUEUED: frozenset({_S.UPLOADED, _S.QUEUED, _S.TRANSCODING, _S.FAILED}),
    _S.TRANSCODING: frozenset({_S.UPLOADED, _S.QUEUED, _S.TRANSCODING, _S.FAILED}),
    _S.READY: frozenset(AssetStatus),
    _S.FAILED: frozenset(AssetStatus),
}


def serves_nothing() -> ColumnElement[bool]:
    """SQL condition: no revision is offered (never committed, or failed)."""
    return or_(Asset.revision == 0, Asset.status == _S.FAILED.value)


def may_move(current: str, to: AssetStatus) -> bool:
    return current in ALLOWED_FROM[to]


def check_move(asset_id: str, current: str, to: AssetStatus) -> None:
    if not may_move(current, to):
        raise Conflict(f"asset {asset_id} is {current}: it cannot become {to}")


def transition(
    session: Session,
    asset_id: str,
    to: AssetStatus,
    *,
    error: str | None = None,
    revision: int | None = None,
) -> bool:
    """Move the asset to ``to`` with ``error`` as its reason (None clears it).

    With ``revision``, only while that revision is the asset's current one (False, nothing
    changed, otherwise: the asset moved on meanwhile). Raises NotFound for an unknown asset
    and Conflict for a move :data:`ALLOWED_FROM` does not list.
    """
    stmt = (
        update(Asset)
        .where(Asset.id == asset_id, Asset.status.in_([s.value for s in ALLOWED_FROM[to]]))
        .values(status=to.value, error=error)
    )
    if revision is not None:
        stmt = stmt.where(Asset.revision == revision)
    if session.execute(stmt).rowcount == 1:
        return True
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id!r}")
    if revision is not None and asset.revision != revision:
        return False
    check_move(asset_id, asset.status, to)
    return session.execute(stmt).rowcount == 1  # it moved to an allowed status meanwhile


def requeue_many(session: Session, asset_ids: list[str]) -> int:
    """:func:`requeue` for a batch (a catalogue-wide re-transcode): how many moved."""
    stmt = (
        update(Asset)
        .where(Asset.id.in_(asset_ids), serves_nothing())
        .where(Asset.status.in_([s.value for s in ALLOWED_FROM[_S.QUEUED]]))
        .values(status=_S.QUEUED.value, error=None)
    )
    return int(session.execute(stmt).rowcount or 0)


def requeue(session: Session, asset_id: str) -> bool:
    """``queued`` (reason cleared) when the asset serves nothing; a ready asset keeps serving
    its revision while it is transcoded again. False when nothing changed."""
    stmt = (
        update(Asset)
        .where(Asset.id == asset_id, serves_nothing())
        .where(Asset.status.in_([s.value for s in ALLOWED_FROM[_S.QUEUED]]))
        .values(status=_S.QUEUED.value, error=None)
    )
    return session.execute(stmt).rowcount == 1


def move(asset: Asset, to: AssetStatus, error: str | None = None) -> None:
    """The same move on a row loaded for update (a revision commit)."""
    check_move(asset.id, asset.status, to)
    asset.status, asset.error = to.value, error
