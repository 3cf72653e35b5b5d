"""Catalogue operations for an asset's media beyond the ladder (issue #8): captions,
separately uploaded audio tracks, per-revision files (poster, storyboard, download) and
per-rendition quality scores.

Rows of these tables hang off ``assets`` with ``ON DELETE CASCADE``: deleting an asset
removes them with it (SQLite runs with ``foreign_keys=ON``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Asset, AssetFile, AudioUpload, Caption, Rendition
from vodstack.errors import NotFound


def put_embedded_captions(
    session: Session, asset_id: str, revision: int, captions: Iterable[Caption]
) -> None:
    """The captions a transcode extracted, committed with its revision (a served revision
    never lacks them); captions of revisions no longer kept go."""
    session.execute(
        delete(Caption).where(
            Caption.asset_id == asset_id,
            Caption.source == "embedded",
            or_(Caption.revision == revision, Caption.revision < revision - 1),
        )
    )
    for caption in captions:
        caption.asset_id, caption.revision = asset_id, revision
        session.add(caption)


def put_files(session: Session, asset_id: str, revision: int, files: Iterable[AssetFile]) -> None:
    """A revision's files; older revisions' rows go except the previous one's (players
    finishing the old manifest)."""
    session.execute(
        delete(AssetFile).where(
            AssetFile.asset_id == asset_id,
            or_(AssetFile.revision == revision, AssetFile.revision < revision - 1),
        )
    )
    for f in files:
        f.asset_id, f.revision = asset_id, revision
        session.add(f)


class MediaCatalogue:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- captions ---------------------------------------------------------------------------
    def add_caption(self, caption: Caption) -> Caption:
        """Add a caption; a new default caption takes the default flag from the others (at
        most one DEFAULT=YES per group, RFC 8216 §4.3.4.1)."""
        with self.db.session() as session:
            if caption.is_default:
                self._clear_default(session, caption.asset_id, caption.revision)
            session.add(caption)
            session.flush()
            return caption

    @staticmethod
    def _clear_default(session: Any, asset_id: str, revision: int | None) -> None:
        session.execute(
            update(Caption)
            .where(Caption.asset_id == asset_id, Caption.source == "upload")
            .values(is_default=False)
        )

    def captions(self, asset_id: str, revision: int | None = None) -> list[Caption]:
        """Sidecar captions plus, with ``revision``, those extracted by that revision."""
        with self.db.session() as session:
            stmt = select(Caption).where(Caption.asset_id == asset_id)
            if revision is None:
                stmt = stmt.where(Caption.revision.is_(None))
            else:
                stmt = stmt.where(or_(Caption.revision.is_(None), Caption.revision == revision))
            return list(session.scalars(stmt.order_by(Caption.id)))

    def delete_caption(self, asset_id: str, track_id: str) -> Caption:
        with self.db.session() as session:
            caption = session.scalars(
                select(Caption).where(Caption.asset_id == asset_id, Caption.track_id == track_id)
            ).first()
            if caption is None:
                raise NotFound(f"asset {asset_id} has no caption {track_id!r}")
            session.delete(caption)
            return caption

    # -- separately uploaded audio ------------------------------------------------------------
    def add_audio_upload(self, upload: AudioUpload) -> AudioUpload:
        with self.db.session() as session:
            if upload.is_default:
                session.execute(
                    update(AudioUpload)
                    .where(AudioUpload.asset_id == upload.asset_id)
                    .values(is_default=False)
                )
            session.add(upload)
            session.flush()
            return upload

    def audio_uploads(self, asset_id: str) -> list[AudioUpload]:
        with self.db.session() as session:
            stmt = select(AudioUpload).where(AudioUpload.asset_id == asset_id)
            return list(session.scalars(stmt.order_by(AudioUpload.id)))

    def delete_audio_upload(self, asset_id: str, upload_id: int) -> AudioUpload:
        with self.db.session() as session:
            upload = session.get(AudioUpload, upload_id)
            if upload is None or upload.asset_id != asset_id:
                raise NotFound(f"asset {asset_id} has no audio upload {upload_id}")
            session.delete(upload)
            return upload

    # -- per-revision files -------------------------------------------------------------------
    def set_files(self, asset_id: str, revision: int, files: Iterable[AssetFile]) -> None:
        """Record a revision's files (the extras job's poster, storyboard, download)."""
        with self.db.session() as session:
            put_files(session, asset_id, revision, files)

    def files(self, asset_id: str, revision: int) -> dict[str, AssetFile]:
        with self.db.session() as session:
            stmt = select(AssetFile).where(
                AssetFile.asset_id == asset_id, AssetFile.revision == revision
            )
            return {f.kind: f for f in session.scalars(stmt)}

    # -- asset options ------------------------------------------------------------------------
    def set_asset_options(self, asset_id: str, **values: Any) -> Asset:
        allowed = {"ladder", "ladder_info", "poster_time", "allow_download"}
        if unknown := set(values) - allowed:
            raise ValueError(f"not an asset media option: {sorted(unknown)}")
        with self.db.session() as session:
            result = session.execute(update(Asset).where(Asset.id == asset_id).values(**values))
            if result.rowcount == 0:
                raise NotFound(f"no asset {asset_id!r}")
            asset = session.get(Asset, asset_id)
            assert asset is not None
            return asset

    # -- quality ------------------------------------------------------------------------------
    def set_quality(self, asset_id: str, revision: int, vmaf: dict[str, float]) -> None:
        """Store the measured VMAF of a revision's renditions (the extras job's result)."""
        with self.db.session() as session:
            for track_id, score in vmaf.items():
                session.execute(
                    update(Rendition)
                    .where(
                        Rendition.asset_id == asset_id,
                        Rendition.revision == revision,
                        Rendition.track_id == track_id,
                    )
                    .values(vmaf=score)
                )

    def quality(self, asset_id: str, revision: int) -> dict[str, float | None]:
        """VMAF per rendition track of a revision (None where not measured)."""
        with self.db.session() as session:
            rows = session.execute(
                select(Rendition.track_id, Rendition.vmaf).where(
                    Rendition.asset_id == asset_id,
                    Rendition.revision == revision,
                    Rendition.kind == "video",
                )
            )
            return dict(rows.all())
