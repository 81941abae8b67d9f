"""Claims of asset watchers: which triggerer runs each (asset URI, watcher name), with a
lease, so that several triggerers share them and one takes over a stopped one's.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "asset_watcher_claims",
        sa.Column("uri", sa.String(1500), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("triggerer_id", sa.String(250), nullable=False),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uri", "name", name="pk_asset_watcher_claims"),
    )


def downgrade() -> None:
    op.drop_table("asset_watcher_claims")
