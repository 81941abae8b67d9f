"""Backfills say who asked for them, in which order their runs start, and when they were
cancelled.

``backfills.created_by`` is the user who created one through the API or UI (None from the
CLI); ``backfills.run_backwards`` makes the scheduler start its newest logical dates first;
``backfills.completed_at`` is set when it is cancelled: none of its queued runs starts
after that (see :func:`headwater.operations.backfill.cancel_backfill`).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # headwater.db.models.ID_LENGTH


def upgrade() -> None:
    with op.batch_alter_table("backfills") as batch:
        batch.add_column(sa.Column("created_by", sa.String(ID), nullable=True))
        batch.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("run_backwards", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("backfills") as batch:
        batch.drop_column("run_backwards")
        batch.drop_column("completed_at")
        batch.drop_column("created_by")
