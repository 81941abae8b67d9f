"""Backfills: one row per backfill (its logical dates, reprocess mode, max_active_runs).

``dag_runs.backfill_id`` (from 0001) points at it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # the longest id (dag, run, task, pool, key): headwater.db.models.ID_LENGTH


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dag_id", sa.String(ID), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reprocess", sa.String(20), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backfills"),
    )
    op.create_index("ix_backfills_dag_id", "backfills", ["dag_id"])


def downgrade() -> None:
    op.drop_index("ix_backfills_dag_id", table_name="backfills")
    op.drop_table("backfills")
