"""DbApiHook: what every SQL hook does over a DB-API 2 driver (run statements, read rows,
insert rows in batches, upsert, DataFrames, SQLAlchemy engines).

Each database's hook (:mod:`headwater.hooks.postgres`, :mod:`~headwater.hooks.sqlite`,
:mod:`~headwater.hooks.mysql`) says only how to open a connection, how to switch autocommit,
its parameter placeholder, how it quotes names and how it writes an upsert. SQL operators
(:mod:`headwater.operators.sql`) get the hook that serves a connection's type with
:func:`get_db_hook`.

Statements use the driver's own parameter style (``%s``/``%(name)s`` for PostgreSQL and
MySQL, ``?``/``:name`` for SQLite), as with the driver itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.exceptions import HeadwaterError
from headwater.hooks.base import BaseHook
from headwater.hooks.sql_identifiers import quote_identifier, quote_table
from headwater.hooks.sql_statements import split_statements
from headwater.masking import mask_secret
from headwater.secrets import Connection

if TYPE_CHECKING:
    import pandas
    import sqlalchemy

log = logging.getLogger("headwater.task.sql")
"""A child of the task logger: what a hook runs belongs in the attempt's log (headwater's own
loggers stay out of task logs)."""

Parameters = Sequence[Any] | Mapping[str, Any] | None
PROGRESS_EVERY = 10
"""insert_rows logs its progress every this many committed batches (and once at the end)."""
Handler = Callable[[Any], Any]


class SqlHookError(HeadwaterError):
    """A SQL hook was used wrongly (bad arguments) or could not do its work."""


def fetch_all_handler(cursor: Any) -> list[tuple[Any, ...]] | None:
    """Every row of the statement's result; None for a statement without one (INSERT)."""
    if cursor.description is None:
        return None
    return [tuple(row) for row in cursor.fetchall()]


def fetch_one_handler(cursor: Any) -> tuple[Any, ...] | None:
    """The first row of the statement's result; None if it has none."""
    if cursor.description is None:
        return None
    row = cursor.fetchone()
    return None if row is None else tuple(row)


def column_names(cursor: Any) -> list[str]:
    """The names of the result's columns (empty for a statement without a result)."""
    return [str(column[0]) for column in cursor.description or ()]


@dataclass(frozen=True)
class InsertPlan:
    """One ``insert_rows`` call, worked out once: the quoted table and columns, the
    statement for ``executemany`` and, for an upsert, the quoted key columns and the clause
    that updates an existing row."""

    table: str
    columns: tuple[str, ...] | None
    statement: str
    replace: bool
    keys: tuple[str, ...] = ()
    upsert: str = ""


class DbApiHook(BaseHook):
    """A hook over a DB-API 2 driver, configured by a connection.

    Construct it with the connection id, positionally or under the subclass's
    ``conn_name_attr`` (``PostgresHook("warehouse")``, ``PostgresHook(postgres_conn_id=
    "warehouse")``); without one, ``default_conn_name`` is used.

    Example::

        hook = PostgresHook("warehouse")
        rows = hook.get_records("SELECT id, name FROM users WHERE active = %s", [True])
        hook.insert_rows("users", rows, target_fields=["id", "name"], replace=True,
                         replace_index="id")
    """

    placeholder: ClassVar[str] = "%s"
    """The driver's positional parameter marker."""
    quote_char: ClassVar[str] = '"'
    """How the database quotes a name."""
    backslash_escapes: ClassVar[bool] = False
    """Whether ``\\'`` escapes a quote inside a string (MySQL), for splitting scripts."""
    upsert_needs_keys: ClassVar[bool] = True
    """Whether an upsert must name its key columns (``ON CONFLICT (...)``)."""

    def __init__(
        self,
        *args: str,
        schema: str | None = None,
        log_sql: bool = True,
        connection: Connection | None = None,
        **kwargs: Any,
    ) -> None:
        name = type(self).__name__
        if len(args) > 1:
            raise TypeError(f"{name}() takes one connection id, got {len(args)}: {args!r}")
        named = kwargs.pop(self.conn_name_attr, None)
        if kwargs:
            raise TypeError(
                f"{name}() got unexpected argument(s) {', '.join(sorted(kwargs))}; the "
                f"connection id goes first or as {self.conn_name_attr}="
            )
        if args and named is not None:
            raise TypeError(f"{name}() got the connection id twice: {args[0]!r} and {named!r}")
        conn_id = args[0] if args else named if named is not None else self.default_conn_name
        if not isinstance(conn_id, str) or not conn_id:
            raise SqlHookError(
                f"{name}: the connection id must be a non-empty string, got {conn_id!r}"
            )
        self.conn_id = conn_id
        setattr(self, self.conn_name_attr, conn_id)
        self.schema = schema
        """Overrides the connection's schema (the database to use) when given."""
        self.log_sql = log_sql
        self._connection = connection
        if connection is not None and connection.password:
            mask_secret(connection.password)

    # -- the connection ----------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        """The hook's connection, looked up once (its password is masked from then on)."""
        if self._connection is None:
            self._connection = self.get_connection(self.conn_id)
        return self._connection

    def get_conn(self) -> Any:
        """A new DB-API connection; the caller closes it."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_conn()")

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        """Switch ``conn`` to autocommit (each statement commits at once) or back."""
        conn.autocommit = autocommit

    def get_uri(self) -> str:
        """The connection as a SQLAlchemy URL (with its password)."""
        return self.connection.get_uri()

    def get_sqlalchemy_engine(
        self, engine_kwargs: Mapping[str, Any] | None = None
    ) -> sqlalchemy.Engine:
        """A SQLAlchemy engine on :meth:`get_uri`; dispose of it when done."""
        from sqlalchemy import create_engine

        return create_engine(self.get_uri(), **dict(engine_kwargs or {}))

    def _describe(self) -> str:
        """Which connection, for error messages (never its password)."""
        conn = self.connection
        where = conn.host or ""
        if conn.port:
            where += f":{conn.port}"
        database = self.schema or conn.schema
        if database:
            where += f"/{database}"
        return f"connection {self.conn_id!r} ({conn.conn_type or type(self).__name__}://{where})"

    # -- names -------------------------------------------------------------------------------

    def quote_identifier(self, name: str, what: str = "column") -> str:
        """``name`` checked as a plain identifier and quoted for this database."""
        return quote_identifier(name, self.quote_char, what)

    def quote_table(self, name: str) -> str:
        """A table name (``table`` or ``schema.table``), checked and quoted."""
        return quote_table(name, self.quote_char)

    # -- running statements ------------------------------------------------------------------

    def run(
        self,
        sql: str | Sequence[str],
        autocommit: bool = False,
        parameters: Parameters = None,
        handler: Handler | None = None,
        split_statements: bool = False,
        return_last: bool = True,
    ) -> Any:
        """Run ``sql`` (one statement, a script with ``split_statements=True``, or a list of
        statements) with ``parameters`` for each statement, in one transaction unless
        ``autocommit``: a failing statement rolls back the ones before it.

        Returns None without a ``handler``; else what ``handler(cursor)`` returned for the
        last statement when ``sql`` is one string and ``return_last`` (or it is not split),
        otherwise the list of what it returned for each statement.
        """
        statements = self._statements(sql, split_statements)
        results: list[Any] = []
        with closing(self.get_conn()) as conn:
            self.set_autocommit(conn, autocommit)
            try:
                with closing(conn.cursor()) as cursor:
                    for statement in statements:
                        self._execute(cursor, statement, parameters)
                        if handler is not None:
                            results.append(handler(cursor))
                if not autocommit:
                    conn.commit()
            except BaseException:
                if not autocommit:
                    _rollback_quietly(conn)
                raise
        if handler is None:
            return None
        if isinstance(sql, str) and (return_last or not split_statements):
            return results[-1]
        return results

    def _statements(self, sql: str | Sequence[str], split: bool) -> list[str]:
        if isinstance(sql, str):
            statements = (
                split_statements(sql, backslash_escapes=self.backslash_escapes)
                if split
                else [sql]
                if sql.strip()
                else []
            )
        elif isinstance(sql, Sequence) and all(isinstance(s, str) for s in sql):
            statements = [s for s in sql if s.strip()]
        else:
            raise SqlHookError(f"sql must be a string or a list of strings, got {sql!r:.100}")
        if not statements:
            raise SqlHookError(f"no SQL statement to run (sql is {sql!r:.100})")
        return statements

    def _execute(self, cursor: Any, statement: str, parameters: Parameters) -> None:
        if self.log_sql:
            suffix = f" (with {len(parameters)} parameter(s))" if parameters else ""
            log.info("Running statement on %s%s: %s", self.conn_id, suffix, statement)
        if parameters is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, parameters)
        # A query's rowcount is the rows it returned, which are no "rows affected".
        if self.log_sql and cursor.description is None and getattr(cursor, "rowcount", -1) >= 0:
            log.info("Rows affected: %d", cursor.rowcount)

    def get_records(self, sql: str, parameters: Parameters = None) -> list[tuple[Any, ...]]:
        """Every row ``sql`` returns, as tuples."""
        rows: list[tuple[Any, ...]] | None = self.run(
            sql, parameters=parameters, handler=fetch_all_handler
        )
        return rows or []

    def get_first(self, sql: str, parameters: Parameters = None) -> tuple[Any, ...] | None:
        """The first row ``sql`` returns, or None when it returns none."""
        row: tuple[Any, ...] | None = self.run(
            sql, parameters=parameters, handler=fetch_one_handler
        )
        return row

    def get_df(self, sql: str, parameters: Parameters = None) -> pandas.DataFrame:
        """The result of ``sql`` as a pandas DataFrame (needs the ``pandas`` extra)."""
        try:
            import pandas
        except ImportError:
            raise SqlHookError(
                "get_df needs pandas, which is not installed: pip install 'headwater[pandas]'"
            ) from None
        columns, rows = self.run(
            sql,
            parameters=parameters,
            handler=lambda cursor: (column_names(cursor), fetch_all_handler(cursor) or []),
        )
        return pandas.DataFrame.from_records(rows, columns=columns)

    def test_connection(self) -> tuple[bool, str]:
        """Run ``SELECT 1``: (whether it worked, what happened)."""
        try:
            row = self.run("SELECT 1", handler=fetch_one_handler)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if row is None or row[0] != 1:
            return False, f"SELECT 1 returned {row!r}"
        return True, f"{self._describe()} works"

    # -- inserting ---------------------------------------------------------------------------

    def insert_rows(
        self,
        table: str,
        rows: Iterable[Sequence[Any]],
        target_fields: Sequence[str] | None = None,
        commit_every: int = 1000,
        replace: bool = False,
        replace_index: str | Sequence[str] | None = None,
    ) -> int:
        """Insert ``rows`` (tuples or lists, one value per target field) into ``table`` and
        return how many were written.

        Rows are sent in batches of ``commit_every``, each committed (0: all in one
        transaction); a batch that fails is rolled back and the error says which rows it
        held, the batches before it stay. ``rows`` may be a generator: at most one batch is
        held in memory. With ``replace=True`` a row whose key (``replace_index``, the columns
        of a primary key or unique index) is already there updates it (an upsert).
        """
        plan = self._plan_insert(table, target_fields, replace, replace_index)
        if isinstance(commit_every, bool) or not isinstance(commit_every, int) or commit_every < 0:
            raise SqlHookError(f"commit_every must be an int >= 0, got {commit_every!r}")
        width = len(plan.columns) if plan.columns is not None else None
        written = batches = 0
        with closing(self.get_conn()) as conn:
            self.set_autocommit(conn, False)
            for batch in _batches(rows, commit_every):
                width = _check_rows(batch, written, width, target_fields)
                try:
                    with closing(conn.cursor()) as cursor:
                        self._write_batch(cursor, plan, batch)
                    if commit_every:
                        conn.commit()
                except Exception as exc:
                    _rollback_quietly(conn)
                    kept = (
                        f"the {written:,} rows before were committed"
                        if commit_every
                        else "none was committed"
                    )
                    raise SqlHookError(
                        f"insert into {table!r} failed in rows {written + 1:,} to "
                        f"{written + len(batch):,} ({kept}): {exc}"
                    ) from exc
                written += len(batch)
                batches += 1
                if commit_every and batches % PROGRESS_EVERY == 0:
                    log.info("Inserted %d row(s) into %s so far", written, table)
            if not commit_every:
                conn.commit()
        log.info("Inserted %d row(s) into %s%s", written, table, " (upsert)" if replace else "")
        return written

    def _plan_insert(
        self,
        table: str,
        target_fields: Sequence[str] | None,
        replace: bool,
        replace_index: str | Sequence[str] | None,
    ) -> InsertPlan:
        quoted_table = self.quote_table(table)
        if isinstance(target_fields, str):
            raise SqlHookError(
                f"target_fields must be a list of column names, got the string {target_fields!r}"
            )
        columns: tuple[str, ...] | None = None
        if target_fields is not None:
            fields = list(target_fields)
            if not fields:
                raise SqlHookError("target_fields is empty: name the columns, or pass None")
            duplicates = sorted({f for f in fields if fields.count(f) > 1})
            if duplicates:
                raise SqlHookError(f"target_fields names {', '.join(map(repr, duplicates))} twice")
            columns = tuple(self.quote_identifier(f) for f in fields)
        keys = [replace_index] if isinstance(replace_index, str) else list(replace_index or [])
        upsert = ""
        quoted_keys: list[str] = []
        if replace:
            if target_fields is None:
                raise SqlHookError("replace=True needs target_fields: the columns to write")
            missing = [k for k in keys if k not in target_fields]
            if missing:
                raise SqlHookError(
                    f"replace_index {', '.join(map(repr, missing))} is not among target_fields "
                    f"{list(target_fields)!r}"
                )
            if not keys and self.upsert_needs_keys:
                raise SqlHookError(
                    f"replace=True on {type(self).__name__} needs replace_index: the column(s) "
                    "of the primary key or unique index that identify a row"
                )
            quoted_keys = [self.quote_identifier(k) for k in keys]
            others = [c for c in columns or () if c not in quoted_keys]
            upsert = self.upsert_clause(quoted_keys, others)
        elif replace_index is not None:
            raise SqlHookError("replace_index is only used with replace=True")
        column_list = f" ({', '.join(columns)})" if columns is not None else ""
        width = len(columns) if columns is not None else 0
        values = ", ".join([self.placeholder] * width) if width else "{values}"
        statement = f"INSERT INTO {quoted_table}{column_list} VALUES ({values})"
        if upsert:
            statement += f" {upsert}"
        return InsertPlan(quoted_table, columns, statement, replace, tuple(quoted_keys), upsert)

    def upsert_clause(self, keys: list[str], others: list[str]) -> str:
        """What follows ``INSERT ... VALUES (...)`` to update a row whose ``keys`` (quoted
        names) exist already: ``ON CONFLICT`` (PostgreSQL, SQLite 3.24+)."""
        if not others:
            return f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        updates = ", ".join(f"{c} = excluded.{c}" for c in others)
        return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"

    def _write_batch(self, cursor: Any, plan: InsertPlan, rows: list[Sequence[Any]]) -> None:
        """Send one batch; a hook may use a faster path (PostgreSQL's COPY)."""
        statement = plan.statement
        if plan.columns is None:  # the width comes from the rows
            statement = statement.format(values=", ".join([self.placeholder] * len(rows[0])))
        cursor.executemany(statement, rows)


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while True:
        batch = list(islice(iterator, size)) if size else list(iterator)
        if not batch:
            return
        yield batch
        if not size:
            return


def _check_rows(
    batch: list[Sequence[Any]], before: int, width: int | None, target_fields: Sequence[str] | None
) -> int:
    """The width every row must have; an error naming the first row that is not a sequence
    of that many values. Checked a batch at a time (types, then lengths) before the row by
    row search for the culprit: row by row costs as much as the COPY itself."""
    if set(map(type, batch)) <= {tuple, list}:
        widths = set(map(len, batch))
        if len(widths) == 1 and (width is None or width in widths) and 0 not in widths:
            return widths.pop()
    for offset, row in enumerate(batch):
        number = before + offset + 1
        if isinstance(row, str | bytes) or not isinstance(row, Sequence):
            raise SqlHookError(
                f"row {number:,} must be a tuple or list of values, got {row!r:.100}"
            )
        if width is None:
            width = len(row)
            if width == 0:
                raise SqlHookError(f"row {number:,} has no values")
        elif len(row) != width:
            expected = (
                f"{width} target field(s) {list(target_fields)!r}"
                if target_fields
                else f"{width} like row 1"
            )
            raise SqlHookError(f"row {number:,} has {len(row)} value(s), expected {expected}")
    assert width is not None
    return width


def _rollback_quietly(conn: Any) -> None:
    """Roll back, keeping the error that made us do it (a broken connection cannot)."""
    try:
        conn.rollback()
    except Exception as exc:
        log.warning("Rollback failed: %s", exc)


def get_db_hook(conn_id: str, **hook_kwargs: Any) -> DbApiHook:
    """The SQL hook that serves connection ``conn_id``'s type, on that connection."""
    from headwater.hooks.registry import hook_class

    connection = BaseHook.get_connection(conn_id)
    if not connection.conn_type:
        raise SqlHookError(f"connection {conn_id!r} has no type; set its conn_type")
    hook_type = hook_class(connection.conn_type)
    if not (isinstance(hook_type, type) and issubclass(hook_type, DbApiHook)):
        raise SqlHookError(
            f"connection {conn_id!r} is of type {connection.conn_type!r}, served by "
            f"{hook_type.__name__}, which is not a SQL hook"
        )
    return hook_type(conn_id, connection=connection, **hook_kwargs)
