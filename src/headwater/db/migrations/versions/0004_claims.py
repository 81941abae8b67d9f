"""Run claims: which scheduler owns a run, until when (several schedulers on PostgreSQL).

``dag_runs.claimed_by`` (the owner's name) and ``dag_runs.claim_expires_at`` (its lease's
end); both null for a run nobody claimed. A claim whose lease ended may be taken over. See
``docs/architecture.md`` ("Claims") and :mod:`headwater.store.sql.claims`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # the longest id (dag, run, task, pool, key): headwater.db.models.ID_LENGTH


def upgrade() -> None:
    with op.batch_alter_table("dag_runs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(ID), nullable=True))
        batch.add_column(sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dag_runs") as batch:
        batch.drop_column("claim_expires_at")
        batch.drop_column("claimed_by")
