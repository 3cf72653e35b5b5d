"""Committing a transcode's result: one revision, all its rows, in one transaction.

A revision becomes served only together with everything it names: its rendition rows, the
captions it extracted from the master, a clean slate for its files (the extras job's poster,
storyboard and download come later), what the transcode decided (``ladder_info``) and, for
an asset ingested before masters were probed at ingest, the probe the job made. A crash
before the commit leaves the previous revision served; after it, the whole new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from vodstack.catalogue import status as asset_status
from vodstack.catalogue.media import put_embedded_captions, put_files
from vodstack.catalogue.models import Asset, Caption, Rendition, utcnow
from vodstack.catalogue.status import AssetStatus
from vodstack.errors import NotFound


@dataclass(frozen=True, slots=True)
class RevisionMedia:
    """What a transcode commits beside the rendition rows of its revision."""

    captions: Sequence[Caption] = ()  # embedded subtitles the revision extracted
    ladder_info: dict[str, Any] | None = None  # template, mode, per-title decision, rungs
    source_info: dict[str, Any] | None = None  # a probe the job made (None: kept as it is)


def _locked(session: Session, asset_id: str) -> Asset:
    asset = session.get(Asset, asset_id, with_for_update=True)
    if asset is None:
        raise NotFound(f"no asset {asset_id!r}")
    return asset


def _put_rows(
    session: Session, asset_id: str, revision: int, renditions: Iterable[Rendition]
) -> None:
    session.execute(
        Rendition.__table__.delete().where(
            Rendition.asset_id == asset_id, Rendition.revision == revision
        )
    )
    for rendition in renditions:
        rendition.asset_id = asset_id
        rendition.revision = revision
        session.add(rendition)


def _put_media(session: Session, asset: Asset, revision: int, media: RevisionMedia) -> None:
    put_embedded_captions(session, asset.id, revision, media.captions)
    put_files(session, asset.id, revision, ())  # the extras job's, made after the commit
    if media.ladder_info is not None:
        asset.ladder_info = media.ladder_info
    if media.source_info is not None:
        asset.source_info = media.source_info


def commit_revision(
    session: Session,
    asset_id: str,
    revision: int,
    renditions: Iterable[Rendition],
    duration: float,
    media: RevisionMedia | None = None,
) -> None:
    """Make ``revision`` the served one (``ready``). Rows of revisions older than the
    previous one go; the previous revision's stay so a player holding an old manifest can
    finish its segments."""
    asset = _locked(session, asset_id)
    session.execute(
        Rendition.__table__.delete().where(
            Rendition.asset_id == asset_id,
            Rendition.revision.not_in([asset.revision, revision]),
        )
    )
    _put_rows(session, asset_id, revision, renditions)
    if media is not None:
        _put_media(session, asset, revision, media)
    asset.revision = revision
    asset_status.move(asset, AssetStatus.READY)
    asset.duration = duration
    asset.ready_at = utcnow()


def replace_renditions(
    session: Session,
    asset_id: str,
    revision: int,
    renditions: Iterable[Rendition],
    duration: float,
    media: RevisionMedia | None = None,
) -> bool:
    """Swap the rows of a served revision (a progressive revision whose windows were joined
    into files: same segments, new index). False when the asset has moved on to another
    revision meanwhile (nothing changed)."""
    asset = _locked(session, asset_id)
    if asset.revision != revision:
        return False
    _put_rows(session, asset_id, revision, renditions)
    if media is not None:
        _put_media(session, asset, revision, media)
    asset.duration = duration
    if asset.status == AssetStatus.FAILED:
        asset_status.move(asset, AssetStatus.READY)
    return True
