"""Secrets encrypted at rest: connection passwords and extras, variable values.

``connections.extra`` becomes text (its JSON object, or that text Fernet-encrypted), and
``connections.is_encrypted`` / ``is_extra_encrypted`` and ``variables.is_encrypted`` say
which values are encrypted: rows written before, or without a key, stay in clear and say so.
``connections.description`` keeps the description Airflow's JSON form carries. See
``docs/connections.md`` ("Encryption at rest") and :mod:`headwater.secrets.fernet`.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.alter_column(
            "extra",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="extra::text",
        )
        batch.add_column(
            sa.Column("is_encrypted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("is_extra_encrypted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("variables") as batch:
        batch.add_column(
            sa.Column("is_encrypted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    # Encrypted values would be read as clear text by the older code: refuse, and say how.
    bind = op.get_bind()
    encrypted = bind.execute(
        sa.text(
            "SELECT (SELECT COUNT(*) FROM connections WHERE is_encrypted OR is_extra_encrypted)"
            " + (SELECT COUNT(*) FROM variables WHERE is_encrypted)"
        )
    ).scalar_one()
    if encrypted:
        raise RuntimeError(
            f"{encrypted} connection(s) or variable(s) are stored encrypted; export them "
            "(headwater connections export / variables export), delete them, downgrade, "
            "then import them again"
        )
    with op.batch_alter_table("variables") as batch:
        batch.drop_column("is_encrypted")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("is_extra_encrypted")
        batch.drop_column("is_encrypted")
        batch.alter_column(
            "extra",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="extra::json",
        )
        batch.drop_column("description")
