"""Data-aware scheduling: deferral, triggers, assets and their events, run partitions.

``task_instances`` gets ``next_method``, ``next_kwargs`` (how a deferred instance resumes)
and ``trigger_timeout``; ``dag_runs`` gets ``partition_key``. New tables: ``triggers`` (what
deferred attempts wait on, run by the triggerer), ``assets``, ``asset_aliases`` and
``asset_alias_assets``, ``asset_events``, ``dag_asset_references`` (which DAGs produce,
consume or are scheduled on which assets), ``dag_alias_references`` (DAGs scheduled on
asset aliases), ``asset_dag_run_queue`` (events a DAG scheduled on
assets has not consumed yet) and ``dag_run_asset_events`` (the events that triggered a run).
See ``headwater.db.data_aware_models`` and ``docs/data-aware.md``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # headwater.db.models.ID_LENGTH
URI = 1500  # headwater.db.data_aware_models.URI_LENGTH


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(ID), nullable=nullable)


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["dag_id", "run_id"],
        ["dag_runs.dag_id", "dag_runs.run_id"],
        name=f"fk_{table}_dag_runs",
        ondelete="CASCADE",
    )


def _asset_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["asset_id"], ["assets.id"], name=f"fk_{table}_assets", ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("task_instances") as batch:
        batch.add_column(_id("next_method", nullable=True))
        batch.add_column(sa.Column("next_kwargs", sa.JSON(), nullable=True))
        batch.add_column(_when("trigger_timeout", nullable=True))
    with op.batch_alter_table("dag_runs") as batch:
        batch.add_column(_id("partition_key", nullable=True))
    op.create_table(
        "triggers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("classpath", sa.Text(), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        _id("dag_id"),
        _id("run_id"),
        _id("task_id"),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("timeout_at", nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        _id("triggerer_id", nullable=True),
        _when("claim_expires_at", nullable=True),
        _when("fired_at", nullable=True),
        sa.Column("event", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_triggers"),
        _run_fk("triggers"),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "try_number",
            name="uq_triggers_dag_id_run_id_task_id_map_index_try_number",
        ),
    )
    op.create_index("ix_triggers_state", "triggers", ["state"])
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uri", sa.String(URI), nullable=False),
        sa.Column("name", sa.String(URI), nullable=False),
        _id("group_name"),
        sa.Column("extra", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("uri", name="uq_assets_uri"),
    )
    op.create_table(
        "asset_aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(URI), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_asset_aliases"),
        sa.UniqueConstraint("name", name="uq_asset_aliases_name"),
    )
    op.create_table(
        "asset_alias_assets",
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("alias_id", "asset_id", name="pk_asset_alias_assets"),
        sa.ForeignKeyConstraint(
            ["alias_id"],
            ["asset_aliases.id"],
            name="fk_asset_alias_assets_asset_aliases",
            ondelete="CASCADE",
        ),
        _asset_fk("asset_alias_assets"),
    )
    op.create_table(
        "asset_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        _when("timestamp"),
        sa.Column("extra", sa.JSON(), nullable=False),
        _id("partition_key", nullable=True),
        _id("source_dag_id", nullable=True),
        _id("source_run_id", nullable=True),
        _id("source_task_id", nullable=True),
        sa.Column("source_map_index", sa.Integer(), nullable=True),
        sa.Column("source_alias", sa.String(URI), nullable=True),
        _id("created_by", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_asset_events"),
        _asset_fk("asset_events"),
    )
    op.create_index("ix_asset_events_asset_id_id", "asset_events", ["asset_id", "id"])
    op.create_table(
        "dag_asset_references",
        _id("dag_id"),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        _id("task_id"),
        sa.PrimaryKeyConstraint(
            "dag_id", "asset_id", "kind", "task_id", name="pk_dag_asset_references"
        ),
        _asset_fk("dag_asset_references"),
    )
    op.create_index("ix_dag_asset_references_asset_id", "dag_asset_references", ["asset_id"])
    op.create_table(
        "dag_alias_references",
        _id("dag_id"),
        sa.Column("alias_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "alias_id", name="pk_dag_alias_references"),
        sa.ForeignKeyConstraint(
            ["alias_id"],
            ["asset_aliases.id"],
            name="fk_dag_alias_references_asset_aliases",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "asset_dag_run_queue",
        _id("dag_id"),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        _id("partition_key", nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("dag_id", "event_id", name="pk_asset_dag_run_queue"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["asset_events.id"],
            name="fk_asset_dag_run_queue_asset_events",
            ondelete="CASCADE",
        ),
        _asset_fk("asset_dag_run_queue"),
    )
    op.create_table(
        "dag_run_asset_events",
        _id("dag_id"),
        _id("run_id"),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "run_id", "event_id", name="pk_dag_run_asset_events"),
        _run_fk("dag_run_asset_events"),
    )


def downgrade() -> None:
    for table in (
        "dag_run_asset_events",
        "asset_dag_run_queue",
        "dag_asset_references",
        "dag_alias_references",
        "asset_events",
        "asset_alias_assets",
        "asset_aliases",
        "assets",
        "triggers",
    ):
        op.drop_table(table)
    with op.batch_alter_table("dag_runs") as batch:
        batch.drop_column("partition_key")
    with op.batch_alter_table("task_instances") as batch:
        batch.drop_column("trigger_timeout")
        batch.drop_column("next_kwargs")
        batch.drop_column("next_method")
