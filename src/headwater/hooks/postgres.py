"""PostgresHook: PostgreSQL through psycopg 3.

The connection's host, port, login, password and schema (the database) are used as they
are; its ``extra`` holds libpq parameters passed through as given (``sslmode``,
``sslrootcert``, ``connect_timeout``, ``application_name``, ``options``...). An ``extra`` key
libpq does not know is refused by name, before connecting.

``insert_rows`` sends each batch with ``COPY ... FROM STDIN``, the fastest way into
PostgreSQL: straight into the table, or, for an upsert (``replace=True``), into a temporary
table that one ``INSERT ... SELECT ... ON CONFLICT`` then merges, about twice as fast as
``executemany`` of ``INSERT ... ON CONFLICT`` (benchmarks/README.md has the figures).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

from headwater.hooks.sql import DbApiHook, InsertPlan, SqlHookError


@functools.cache
def _libpq_keywords() -> frozenset[str]:
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


class PostgresHook(DbApiHook):
    """A PostgreSQL database. Example: ``PostgresHook("warehouse").get_records("SELECT 1")``."""

    conn_type: ClassVar[str] = "postgres"
    hook_name: ClassVar[str] = "PostgreSQL"
    conn_name_attr: ClassVar[str] = "postgres_conn_id"
    default_conn_name: ClassVar[str] = "postgres_default"

    def connect_kwargs(self) -> dict[str, Any]:
        """What ``psycopg.connect`` gets: the connection's fields, then its ``extra``."""
        conn = self.connection
        kwargs: dict[str, Any] = {
            "host": conn.host,
            "port": conn.port,
            "user": conn.login,
            "password": conn.password,
            "dbname": self.schema or conn.schema,
        }
        known = _libpq_keywords()
        for key, value in (conn.extra or {}).items():
            if key not in known:
                raise SqlHookError(
                    f"connection {self.conn_id!r}: extra field {key!r} is not a libpq "
                    "connection parameter (such as sslmode, sslrootcert, connect_timeout, "
                    "application_name, options)"
                )
            kwargs[key] = value if isinstance(value, str) else str(value)
        return {k: v for k, v in kwargs.items() if v is not None}

    def get_conn(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(**self.connect_kwargs())
        except psycopg.OperationalError as exc:
            raise SqlHookError(f"cannot connect to {self._describe()}: {exc}".strip()) from exc

    def get_uri(self) -> str:
        from sqlalchemy.engine import URL

        kwargs = self.connect_kwargs()
        query = {
            k: v
            for k, v in kwargs.items()
            if k not in {"host", "port", "user", "password", "dbname"}
        }
        return URL.create(
            "postgresql+psycopg",
            username=kwargs.get("user"),
            password=kwargs.get("password"),
            host=kwargs.get("host"),
            port=kwargs.get("port"),
            database=kwargs.get("dbname"),
            query=query,
        ).render_as_string(hide_password=False)

    def copy_expert(self, sql: str, filename: str) -> int:
        """Run a ``COPY ... FROM STDIN`` or ``COPY ... TO STDOUT`` statement, reading from or
        writing to the file ``filename``; returns the bytes copied. One transaction."""
        direction = _copy_direction(sql)
        copied = 0
        with self.get_conn() as conn, conn.cursor() as cursor:
            if direction == "from":
                with open(filename, "rb") as source, cursor.copy(sql) as copy:
                    while chunk := source.read(1 << 16):
                        copy.write(chunk)
                        copied += len(chunk)
            else:
                with open(filename, "wb") as target, cursor.copy(sql) as copy:
                    for data in copy:
                        target.write(data)
                        copied += len(data)
        return copied

    def _write_batch(self, cursor: Any, plan: InsertPlan, rows: list[Sequence[Any]]) -> None:
        if plan.replace:
            self._upsert_batch(cursor, plan, rows)
            return
        columns = f" ({', '.join(plan.columns)})" if plan.columns is not None else ""
        with cursor.copy(f"COPY {plan.table}{columns} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _upsert_batch(self, cursor: Any, plan: InsertPlan, rows: list[Sequence[Any]]) -> None:
        """COPY the batch into a temporary table shaped like the target, then merge it with
        one ``INSERT ... SELECT ... ON CONFLICT``. A key that appears twice in the batch keeps
        its last row, as row-by-row inserts would (one statement may not update a row twice,
        hence ``DISTINCT ON`` over the order the rows came in)."""
        assert plan.columns is not None  # an upsert names its columns
        columns = ", ".join(plan.columns)
        keys = ", ".join(plan.keys)
        staging, order = _UPSERT_STAGING, _UPSERT_ORDER
        # Created by the first batch of the insert_rows call (its own connection), kept for
        # the others: creating a table costs more than a batch of rows. Its rows go at each
        # commit, and after each merge (below).
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (LIKE {plan.table}) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute(
            f"ALTER TABLE {staging} ADD COLUMN IF NOT EXISTS {order} "
            "BIGINT GENERATED ALWAYS AS IDENTITY"
        )
        with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {plan.table} ({columns}) SELECT DISTINCT ON ({keys}) {columns} "
            f"FROM {staging} ORDER BY {keys}, {order} DESC {plan.upsert}"
        )
        # Batches may share a transaction; TRUNCATE, as DELETE would leave dead rows that
        # every later batch scans again.
        cursor.execute(f"TRUNCATE {staging}")


_UPSERT_STAGING = '"headwater_upsert_batch"'
"""The temporary table an upsert batch is copied into (temporary tables are per session)."""
_UPSERT_ORDER = '"headwater_upsert_row_order"'


def _copy_direction(sql: str) -> str:
    words = sql.upper().split()
    if "STDIN" in words:
        return "from"
    if "STDOUT" in words:
        return "to"
    raise SqlHookError(
        f"copy_expert needs a COPY ... FROM STDIN or TO STDOUT statement, got {sql!r:.100}"
    )
