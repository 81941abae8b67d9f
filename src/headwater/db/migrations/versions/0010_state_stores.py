"""Task and asset state (Airflow 3.3's AIP-103): ``task_state_store`` and ``asset_state_store``.

A task instance's keys, shared by its tries and removed with its run (``ON DELETE
CASCADE``), each with an optional expiry; an asset's keys, by the asset's name. Values are
JSON text. See ``headwater.db.state_store_models``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ID = 250  # headwater.db.models.ID_LENGTH
URI = 1500  # headwater.db.data_aware_models.URI_LENGTH
KEY = 512  # headwater.store.state_stores.MAX_KEY_LENGTH


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str, length: int = ID) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "task_state_store",
        _id("dag_id"),
        _id("run_id"),
        _id("task_id"),
        sa.Column("map_index", sa.Integer(), nullable=False),
        _id("key", KEY),
        sa.Column("value", sa.Text(), nullable=False),
        _when("updated_at"),
        _when("expires_at", nullable=True),
        sa.PrimaryKeyConstraint(
            "dag_id", "run_id", "task_id", "map_index", "key", name="pk_task_state_store"
        ),
        sa.ForeignKeyConstraint(
            ["dag_id", "run_id"],
            ["dag_runs.dag_id", "dag_runs.run_id"],
            name="fk_task_state_store_dag_runs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_task_state_store_expires_at", "task_state_store", ["expires_at"])
    op.create_table(
        "asset_state_store",
        _id("asset", URI),
        _id("key", KEY),
        sa.Column("value", sa.Text(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("asset", "key", name="pk_asset_state_store"),
    )


def downgrade() -> None:
    op.drop_table("asset_state_store")
    op.drop_table("task_state_store")
