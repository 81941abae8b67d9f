"""DAGs scheduled on an asset by its name (``Asset.ref(name=...)``, Airflow 3's): the events
of the asset bearing that name when they happen are queued for them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "dag_asset_name_references",
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("name", sa.String(1500), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "name", name="pk_dag_asset_name_references"),
    )
    op.create_index("ix_dag_asset_name_references_name", "dag_asset_name_references", ["name"])


def downgrade() -> None:
    op.drop_index("ix_dag_asset_name_references_name", "dag_asset_name_references")
    op.drop_table("dag_asset_name_references")
