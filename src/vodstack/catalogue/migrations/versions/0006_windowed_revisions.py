"""windowed (progressive) revisions: rendition layout, window parts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("renditions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("layout", sa.String(length=16), server_default="file", nullable=False)
        )
    op.create_table(
        "window_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.String(length=32), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("on_demand", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("asset_id", "revision", "track_id", "window"),
    )
    with op.batch_alter_table("window_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_window_parts_asset_id"), ["asset_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("window_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_window_parts_asset_id"))
    op.drop_table("window_parts")
    with op.batch_alter_table("renditions", schema=None) as batch_op:
        batch_op.drop_column("layout")
