"""What differs between SQLite and PostgreSQL, in one place.

Today that is the upsert and the insert-if-absent (``INSERT ... ON CONFLICT``): both
databases have them, but SQLAlchemy builds them from each dialect's own ``insert()``.
Everything else the store does is portable SQLAlchemy Core; connection set-up differences
live in :mod:`headwater.db.engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

Excluded = Any
"""The ``excluded`` pseudo-table of an upsert: the values the insert would have written."""


def insert(dialect_name: str, table: Table) -> Insert:
    """The dialect's own ``INSERT`` (the one that can take ``ON CONFLICT``)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no upsert for database dialect {dialect_name!r}")


def insert_if_absent(dialect_name: str, table: Table) -> Insert:
    """Insert a row unless one with its primary key exists (``ON CONFLICT DO NOTHING``); it
    returns the inserted row's key, or no row (the row count is not reliable here: psycopg
    reports -1)."""
    stmt: Any = insert(dialect_name, table)
    key = list(table.primary_key.columns)
    return stmt.on_conflict_do_nothing(index_elements=[c.name for c in key]).returning(*key)


def upsert(
    dialect_name: str,
    table: Table,
    *,
    keep: Iterable[str] = (),
    merge: Mapping[str, Callable[[Excluded], ColumnElement[Any]]] | None = None,
) -> Insert:
    """Insert a row, or on a primary-key conflict update it from the new values.

    Every column but the key is overwritten, except those in ``keep`` (left as stored) and
    those in ``merge``, set to ``merge[name](excluded)``. Execute it with a list of
    parameter dicts to upsert many rows in one round trip (``executemany``).
    """
    stmt: Any = insert(dialect_name, table)
    key = [c.name for c in table.primary_key.columns]
    skip = set(key) | set(keep) | set(merge or {})
    values: dict[str, Any] = {c.name: stmt.excluded[c.name] for c in table.c if c.name not in skip}
    for name, build in (merge or {}).items():
        values[name] = build(stmt.excluded)
    return stmt.on_conflict_do_update(index_elements=key, set_=values)


def refresh_statistics(conn: Any, table: Table) -> None:
    """Have the planner count ``table``'s rows again (PostgreSQL's ``ANALYZE``; nothing on
    SQLite). For bulk writes: rows referencing a table that was small when its statistics
    were taken are checked by a scan of it (the foreign-key check's plan), which makes
    inserting N of them cost O(N^2) until the statistics see the table's real size."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")
