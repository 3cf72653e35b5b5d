"""index playback_sessions.started_at (the QoE and cost reports read the newest sessions)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("playback_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_playback_sessions_started_at"), ["started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("playback_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playback_sessions_started_at"))
