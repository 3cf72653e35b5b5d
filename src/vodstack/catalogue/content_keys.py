"""Catalogue operations for content keys (sealed; see protection.vault)."""

from __future__ import annotations

from sqlalchemy import func, select

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import ContentKey


class ContentKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    def latest(self, asset_id: str, scheme: str) -> ContentKey | None:
        with self.db.session() as session:
            stmt = (
                select(ContentKey)
                .where(ContentKey.asset_id == asset_id, ContentKey.scheme == scheme)
                .order_by(ContentKey.generation.desc(), ContentKey.id)
                .limit(1)
            )
            return session.scalars(stmt).first()

    def get(self, asset_id: str, scheme: str, generation: int) -> ContentKey | None:
        """The key of one generation. Two processes creating a key at once can write two
        rows of one generation: the first written (lowest id) is the one every process
        uses, so they all agree."""
        with self.db.session() as session:
            stmt = select(ContentKey).where(
                ContentKey.asset_id == asset_id,
                ContentKey.scheme == scheme,
                ContentKey.generation == generation,
            )
            return session.scalars(stmt.order_by(ContentKey.id).limit(1)).first()

    def for_asset(self, asset_id: str) -> list[ContentKey]:
        with self.db.session() as session:
            stmt = select(ContentKey).where(ContentKey.asset_id == asset_id)
            return list(session.scalars(stmt.order_by(ContentKey.id)))

    def next_generation(self, asset_id: str, scheme: str) -> int:
        with self.db.session() as session:
            current = session.scalar(
                select(func.max(ContentKey.generation)).where(
                    ContentKey.asset_id == asset_id, ContentKey.scheme == scheme
                )
            )
            return (current or 0) + 1

    def add(self, row: ContentKey) -> ContentKey:
        with self.db.session() as session:
            session.add(row)
            session.flush()
        return row

    def delete_asset(self, asset_id: str) -> int:
        with self.db.session() as session:
            stmt = ContentKey.__table__.delete().where(ContentKey.asset_id == asset_id)
            return session.execute(stmt).rowcount
