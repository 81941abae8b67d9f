"""The DAG's display name (``dag_display_name``) beside its id, for the lists that show it.

DAGs stored before get theirs from their serialized form (the DAG processor writes it on
every parse after this).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("dags") as batch:
        batch.add_column(sa.Column("display_name", sa.Text(), nullable=True))
    dags = sa.table(
        "dags",
        sa.column("dag_id", sa.String),
        sa.column("serialized", sa.Text),
        sa.column("display_name", sa.Text),
    )
    conn = op.get_bind()
    named = []
    for dag_id, text in conn.execute(sa.select(dags.c.dag_id, dags.c.serialized)):
        try:
            name = json.loads(text or "{}").get("dag", {}).get("dag_display_name")
        except (ValueError, AttributeError):
            continue
        if isinstance(name, str) and name:
            named.append({"id": dag_id, "name": name})
    if named:
        conn.execute(
            dags.update()
            .where(dags.c.dag_id == sa.bindparam("id"))
            .values(display_name=sa.bindparam("name")),
            named,
        )


def downgrade() -> None:
    with op.batch_alter_table("dags") as batch:
        batch.drop_column("display_name")
