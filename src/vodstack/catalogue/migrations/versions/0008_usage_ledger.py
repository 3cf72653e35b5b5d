"""usage ledger: bytes delivered per hour, asset, track, object kind and cache result

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_hours",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("track", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hour", "asset_id", "track", "kind", "result"),
    )
    with op.batch_alter_table("usage_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_hours_hour"), ["hour"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_hours_asset_id"), ["asset_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("usage_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_hours_asset_id"))
        batch_op.drop_index(batch_op.f("ix_usage_hours_hour"))
    op.drop_table("usage_hours")
