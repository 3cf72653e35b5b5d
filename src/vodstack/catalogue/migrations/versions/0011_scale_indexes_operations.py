"""scale: indexes for every hot query at 50,000 titles; catalogue-wide operations

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-08 09:00:00

Why each index (issue #19; tests/unit/catalogue/test_query_plans.py EXPLAINs the queries):

* ``assets (created_at, id)`` and ``(status, created_at, id)``: the asset list pages newest
  first with a keyset cursor; without them every page sorts the whole catalogue.
* ``assets.title`` trigram (PostgreSQL, ``pg_trgm``): ``?q=`` is a substring search; a B-tree
  cannot serve ``ILIKE '%…%'``. Where the extension cannot be created (no privilege) the
  index is left out and search walks the created-at index instead (logged). ``fastupdate``
  off: new titles go straight into the index, not into a pending list that makes the planner
  shun the index until the next vacuum (seen after a bulk load: a sequential scan).
* ``jobs (state, queue, created_at)``: claims take the oldest due job of one queue, and queue
  depths count the queued rows of each queue, while a backfill keeps 50,000 queued.
* ``jobs (created_at)``: ``jobs list`` pages newest first.
* ``events (type, id)``: newest events of one type (webhook attempts) among millions.
* ``operations``: catalogue-wide operations (jobs.operations) with their keyset cursor.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

TRGM_INDEX = "ix_assets_title_trgm"


def _create_trigram_index() -> None:
    """PostgreSQL only; in a savepoint, so a refused ``CREATE EXTENSION`` (the database user
    may not create extensions) leaves the migration going on without the index."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            bind.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON assets "
                "USING gin (title gin_trgm_ops) WITH (fastupdate = off)"
            )
    except sa.exc.DBAPIError as exc:
        log.warning("no trigram index for title search (pg_trgm unavailable): %s", exc.orig)


def upgrade() -> None:
    # (assets|jobs)(created_at, id): 0010 made them (ix_*_created_at_id).
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assets_status_created", ["status", "created_at", "id"], unique=False
        )
    _create_trigram_index()
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_state_queue_created", ["state", "queue", "created_at"], unique=False
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_type_id", ["type", "id"], unique=False)

    op.create_table(
        "operations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.String(length=32), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_done", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index("ix_operations_state_created", ["state", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index("ix_operations_state_created")
    op.drop_table("operations")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_type_id")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_queue_created")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_status_created")
