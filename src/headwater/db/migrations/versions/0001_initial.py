"""The initial schema: DAGs and their files, runs, task instances, attempts, XComs, pools,
variables, connections, import errors, the event log and jobs; ``default_pool`` with 128 slots.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # the longest id (dag, run, task, pool, key): headwater.db.models.ID_LENGTH


def _id(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(ID), nullable=nullable)


def _at(name: str, *, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["dag_id", "run_id"],
        ["dag_runs.dag_id", "dag_runs.run_id"],
        name=f"fk_{table}_dag_runs",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "dag_files",
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=False),
        _at("last_parsed_at", nullable=False),
        sa.Column("dag_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_dag_files"),
    )
    op.create_table(
        "dags",
        _id("dag_id", nullable=False),
        sa.Column("fileloc", sa.Text()),
        sa.Column("source_hash", sa.String(64)),
        sa.Column("serialized", sa.Text()),
        sa.Column("serialized_version", sa.Integer()),
        sa.Column("is_paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _at("last_parsed_at"),
        sa.Column("description", sa.Text()),
        sa.Column("schedule", sa.Text()),
        sa.Column("tags", sa.JSON()),
        _at("next_dagrun_logical_date"),
        _at("next_dagrun_data_interval_start"),
        _at("next_dagrun_data_interval_end"),
        _at("next_dagrun_create_after"),
        sa.PrimaryKeyConstraint("dag_id", name="pk_dags"),
    )
    op.create_table(
        "dag_runs",
        _id("dag_id", nullable=False),
        _id("run_id", nullable=False),
        _at("logical_date", nullable=False),
        _at("data_interval_start", nullable=False),
        _at("data_interval_end", nullable=False),
        sa.Column("run_type", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("conf", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        _at("queued_at"),
        _at("start_date"),
        _at("end_date"),
        sa.Column("note", sa.Text()),
        sa.Column("backfill_id", sa.Integer()),
        sa.PrimaryKeyConstraint("dag_id", "run_id", name="pk_dag_runs"),
    )
    op.create_index("ix_dag_runs_dag_id_logical_date", "dag_runs", ["dag_id", "logical_date"])
    op.create_index("ix_dag_runs_state", "dag_runs", ["state"])
    op.create_table(
        "task_instances",
        _id("dag_id", nullable=False),
        _id("run_id", nullable=False),
        _id("task_id", nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        _at("start_date"),
        _at("end_date"),
        _at("next_retry_at"),
        sa.Column("error", sa.Text()),
        sa.Column("priority_weight", sa.Integer(), nullable=False),
        _id("pool", nullable=False),
        sa.Column("pool_slots", sa.Integer(), nullable=False),
        _id("queue", nullable=False),
        _at("queued_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint(
            "dag_id", "run_id", "task_id", "map_index", name="pk_task_instances"
        ),
        _run_fk("task_instances"),
    )
    op.create_index("ix_task_instances_state", "task_instances", ["state"])
    op.create_table(
        "task_attempts",
        _id("dag_id", nullable=False),
        _id("run_id", nullable=False),
        _id("task_id", nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        _at("start_date", nullable=False),
        _at("end_date"),
        sa.Column("duration", sa.Float()),
        sa.Column("hostname", sa.Text()),
        sa.Column("pid", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("log_path", sa.Text()),
        sa.Column("rendered_fields", sa.JSON(), nullable=False),
        _at("heartbeat_at"),
        sa.Column("worker", sa.Text()),
        sa.PrimaryKeyConstraint(
            "dag_id", "run_id", "task_id", "map_index", "try_number", name="pk_task_attempts"
        ),
        _run_fk("task_attempts"),
    )
    op.create_index("ix_task_attempts_state", "task_attempts", ["state"])
    op.create_table(
        "xcoms",
        _id("dag_id", nullable=False),
        _id("run_id", nullable=False),
        _id("task_id", nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        _id("key", nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "run_id", "task_id", "map_index", "key", name="pk_xcoms"),
        _run_fk("xcoms"),
    )
    pools = op.create_table(
        "pools",
        _id("name", nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_pools"),
    )
    op.create_table(
        "variables",
        _id("key", nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.PrimaryKeyConstraint("key", name="pk_variables"),
    )
    op.create_table(
        "connections",
        _id("conn_id", nullable=False),
        _id("conn_type", nullable=False),
        sa.Column("host", sa.Text()),
        sa.Column("login", sa.Text()),
        sa.Column("password", sa.Text()),
        sa.Column("schema", sa.Text()),
        sa.Column("port", sa.Integer()),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("conn_id", name="pk_connections"),
    )
    op.create_table(
        "import_errors",
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer()),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("stacktrace", sa.Text()),
        _at("created_at", nullable=False),
        sa.PrimaryKeyConstraint("filename", "position", name="pk_import_errors"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _at("at", nullable=False),
        _id("dag_id"),
        _id("run_id"),
        _id("task_id"),
        sa.Column("map_index", sa.Integer()),
        sa.Column("try_number", sa.Integer()),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("state", sa.String(20)),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_dag_id_run_id", "events", ["dag_id", "run_id"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("hostname", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        _at("started_at", nullable=False),
        _at("heartbeat_at", nullable=False),
        _at("ended_at"),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.bulk_insert(pools, [{"name": "default_pool", "slots": 128, "description": "Default pool"}])


def downgrade() -> None:
    for table in (
        "jobs",
        "events",
        "import_errors",
        "connections",
        "variables",
        "pools",
        "xcoms",
        "task_attempts",
        "task_instances",
        "dag_runs",
        "dags",
        "dag_files",
    ):
        op.drop_table(table)
