"""Alembic's entry point: runs the migrations on the connection :mod:`headwater.db.migrate` gives.

There is no ``alembic.ini``: :func:`headwater.db.migrate.alembic_config` builds the
configuration in code and passes an open connection in ``config.attributes["connection"]``,
inside a transaction that the caller commits.
"""

from __future__ import annotations

from alembic import context

from headwater.db import (
    backfill_models,  # noqa: F401  (registers `backfills` on Base)
    data_aware_models,  # noqa: F401  (registers triggers, assets on Base)
    operations_models,  # noqa: F401  (registers deadlines on Base)
)
from headwater.db.errors import DatabaseError
from headwater.db.models import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise DatabaseError(
            "headwater's migrations run on a live connection, through headwater.db.migrate"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
