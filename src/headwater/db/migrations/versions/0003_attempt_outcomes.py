"""Attempt outcomes: how an attempt ended, recorded with its row by whoever ran it.

``task_attempts.outcome`` (JSON, null while the attempt runs and for rows written before this
revision) holds the outcome the runtime reported (state, error, retry decision, branches
followed, short-circuit scope). A scheduler that restarts applies it instead of running the
attempt again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_attempts") as batch:
        batch.add_column(sa.Column("outcome", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_attempts") as batch:
        batch.drop_column("outcome")
