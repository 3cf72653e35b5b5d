"""asset labels (metadata, tags, governance), scoped API keys, keyset-paging indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: (table, index name, columns): the keyset of every paged listing (catalogue.paging).
_KEYSETS = (
    ("assets", "ix_assets_created_at_id", ["created_at", "id"]),
    ("assets", "ix_assets_title_id", ["title", "id"]),
    ("jobs", "ix_jobs_created_at_id", ["created_at", "id"]),
    ("events", "ix_events_created_at_id", ["created_at", "id"]),
    ("subscriptions", "ix_subscriptions_created_at_id", ["created_at", "id"]),
    ("licences", "ix_licences_created_at_id", ["created_at", "id"]),
)
_GOVERNANCE = (("classification", 64), ("owner", 255), ("cost_center", 64))


def upgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        for name, length in _GOVERNANCE:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
            batch_op.create_index(f"ix_assets_{name}", [name], unique=False)
    for table, name, columns in _KEYSETS:
        op.create_index(name, table, columns, unique=False)
    op.create_table(
        "asset_tags",
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id", "tag"),
    )
    op.create_index("ix_asset_tags_tag", "asset_tags", ["tag"], unique=False)
    op.create_table(
        "asset_metadata",
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id", "key"),
    )
    op.create_index("ix_asset_metadata_key_value", "asset_metadata", ["key", "value"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _trigram_indexes()


def _trigram_indexes() -> None:
    """PostgreSQL: trigram indexes serve ``q`` (ILIKE '%…%') on titles and metadata values.
    pg_trgm ships with PostgreSQL but creating an extension needs a privilege a managed
    database may withhold: then searches scan, and nothing else changes."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return
    op.create_index(
        "ix_assets_title_trgm",
        "assets",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_asset_metadata_value_trgm",
        "asset_metadata",
        ["value"],
        postgresql_using="gin",
        postgresql_ops={"value": "gin_trgm_ops"},
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_asset_metadata_value_trgm")
        op.execute("DROP INDEX IF EXISTS ix_assets_title_trgm")
    op.drop_table("api_keys")
    op.drop_index("ix_asset_metadata_key_value", table_name="asset_metadata")
    op.drop_table("asset_metadata")
    op.drop_index("ix_asset_tags_tag", table_name="asset_tags")
    op.drop_table("asset_tags")
    for table, name, _ in reversed(_KEYSETS):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("assets", schema=None) as batch_op:
        for name, _ in reversed(_GOVERNANCE):
            batch_op.drop_index(f"ix_assets_{name}")
            batch_op.drop_column(name)
