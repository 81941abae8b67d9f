"""The tables a SQL task reads and writes, parsed from its SQL with ``openlineage-sql``.

A task that offers ``lineage_sql()`` (``SQLExecuteQueryOperator``: its rendered statements)
and a ``conn_id`` reports the tables its SQL reads (``in_tables``) as inputs and those it
writes (``out_tables``) as outputs, named within its connection's namespace
(:func:`~headwater.lineage.naming.connection_namespace`), and its SQL itself (secrets
masked) as the job's ``sql`` facet. Without the ``openlineage-sql`` package, or for SQL it
cannot parse, the task reports only its ``inlets`` and ``outlets``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from headwater.lineage.naming import connection_namespace, table_name
from headwater.masking import redact_text

log = logging.getLogger(__name__)

DIALECTS = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}
DEFAULT_SCHEMAS = {"postgres": "public", "postgresql": "public"}


@dataclass(frozen=True)
class SqlLineage:
    """What a SQL task's statements say: the tables, and the query itself."""

    inputs: list[tuple[str, str]]
    outputs: list[tuple[str, str]]
    query: str
    dialect: str


def sql_lineage(task: Any) -> SqlLineage | None:
    """The tables and query of ``task``'s SQL; None for a task without SQL, or without the
    ``openlineage-sql`` package."""
    lineage_sql = getattr(task, "lineage_sql", None)
    conn_id = getattr(task, "conn_id", None)
    if lineage_sql is None or not isinstance(conn_id, str):
        return None
    try:
        import openlineage_sql
    except ImportError:
        return None
    from headwater.secrets import get_connection

    statements = lineage_sql()
    connection = get_connection(conn_id)
    kind = connection.conn_type
    dialect = DIALECTS.get(kind, "generic")
    query = redact_text(";\n".join(s.strip().rstrip(";") for s in statements))
    meta = openlineage_sql.parse(
        statements, dialect=dialect, default_schema=DEFAULT_SCHEMAS.get(kind)
    )
    if meta is None:
        return SqlLineage([], [], query, dialect)
    if meta.errors:
        log.debug("openlineage-sql could not parse all of task %s's SQL", task.task_id)
    namespace = connection_namespace(connection)
    database = getattr(task, "hook_params", {}).get("schema") or connection.schema
    if kind == "sqlite":
        database = None  # the file is the namespace

    def named(tables: list[Any]) -> list[tuple[str, str]]:
        return [
            (namespace, table_name(kind, t.database or database, t.schema, t.name)) for t in tables
        ]

    return SqlLineage(named(meta.in_tables), named(meta.out_tables), query, dialect)
