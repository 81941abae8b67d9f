"""Deadlines of runs and SLAs of tasks: the ``deadlines`` table.

One row per deadline of one run (or one task's SLA), planned by the scheduler, then met or
missed once (compare-and-set on ``status``), with the state of its callback. See
``headwater.db.operations_models`` and ``docs/deadlines.md``.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # headwater.db.models.ID_LENGTH


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.String(ID), nullable=False)


def upgrade() -> None:
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("dag_id"),
        _id("run_id"),
        _id("task_id"),
        sa.Column("map_index", sa.Integer(), nullable=False),
        _id("name"),
        sa.Column("kind", sa.String(20), nullable=False),
        _when("due_at"),
        _when("planned_at"),
        sa.Column("status", sa.String(20), nullable=False),
        _when("resolved_at", nullable=True),
        _when("missed_at", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("callback_state", sa.String(20), nullable=False),
        sa.Column("callback_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deadlines"),
        sa.ForeignKeyConstraint(
            ["dag_id", "run_id"],
            ["dag_runs.dag_id", "dag_runs.run_id"],
            name="fk_deadlines_dag_runs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "name",
            name="uq_deadlines_dag_id_run_id_task_id_map_index_name",
        ),
    )
    op.create_index("ix_deadlines_status_due_at", "deadlines", ["status", "due_at"])
    op.create_index("ix_deadlines_callback_state", "deadlines", ["callback_state"])
    op.create_index("ix_deadlines_missed_at", "deadlines", ["missed_at"])


def downgrade() -> None:
    op.drop_table("deadlines")
