"""SQLExecuteQueryOperator: run SQL on any connection a SQL hook serves (PostgreSQL, SQLite,
MySQL/MariaDB, or a hook another package registers) and pass the rows on as XCom.

The hook is chosen by the connection's type (:func:`headwater.hooks.sql.get_db_hook`), so the
same DAG runs on SQLite in a test and on PostgreSQL in production by changing the connection.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.exceptions import DagDefinitionError
from headwater.hooks.sql import DbApiHook, SqlHookError, get_db_hook

DEFAULT_MAX_ROWS = 10_000
"""Most rows a query may return into XCom by default: XComs live in the metadata database,
so a larger result belongs in a table or a file (or raise ``max_rows``)."""


class _Rows:
    def __repr__(self) -> str:
        return "ROWS"


ROWS: Any = _Rows()
"""``handler``'s default: every row, as lists of JSON values (at most ``max_rows``).
``handler=None`` keeps nothing: the task pushes None."""


class BaseSQLOperator(BaseOperator):
    """What SQL operators share: the connection (``conn_id``, templated) and its hook."""

    ui_color = "#cdaaed"

    def __init__(
        self, *, conn_id: str, hook_params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(conn_id, str) or not conn_id:
            raise DagDefinitionError(
                f"task {self.task_id!r}: conn_id must be a non-empty string, got {conn_id!r}"
            )
        self.conn_id = conn_id
        self.hook_params = dict(hook_params or {})

    def get_db_hook(self) -> DbApiHook:
        """The SQL hook of ``conn_id``'s type (``hook_params`` go to its constructor)."""
        return get_db_hook(self.conn_id, **self.hook_params)


class SQLExecuteQueryOperator(BaseSQLOperator):
    """Run ``sql`` and push what ``handler`` returns (by default every row, as lists of
    JSON values) as the task's XCom.

    ``sql`` is a template; a value ending in ``.sql`` is read from a file next to the DAG
    file (or on the DAG's ``template_searchpath``) and rendered. ``parameters`` go to the
    driver (``%s`` or ``%(name)s`` on PostgreSQL and MySQL, ``?`` or ``:name`` on SQLite).
    Several statements (a list, or a script with ``split_statements=True``) run in one
    transaction unless ``autocommit``; with ``return_last`` only the last one's rows are kept.

    Example::

        SQLExecuteQueryOperator(
            task_id="daily_totals",
            conn_id="warehouse",
            sql="SELECT store, SUM(amount) FROM orders WHERE day = %(day)s GROUP BY store",
            parameters={"day": "{{ ds }}"},
        )
    """

    template_fields: Sequence[str] = ("conn_id", "sql", "parameters")
    template_ext: Sequence[str] = (".sql",)

    def __init__(
        self,
        *,
        sql: str | Sequence[str],
        conn_id: str,
        parameters: Sequence[Any] | Mapping[str, Any] | None = None,
        handler: Callable[[Any], Any] | None = ROWS,
        split_statements: bool = False,
        autocommit: bool = False,
        return_last: bool = True,
        show_return_value_in_logs: bool = False,
        max_rows: int = DEFAULT_MAX_ROWS,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        if isinstance(sql, str):
            if not sql.strip():
                raise DagDefinitionError(f"task {self.task_id!r}: sql is empty")
        elif not (isinstance(sql, Sequence) and sql and all(isinstance(s, str) for s in sql)):
            raise DagDefinitionError(
                f"task {self.task_id!r}: sql must be a string or a non-empty list of strings, "
                f"got {sql!r:.100}"
            )
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise DagDefinitionError(
                f"task {self.task_id!r}: max_rows must be an int >= 1, got {max_rows!r}"
            )
        self.sql = sql
        self.parameters = parameters
        self.max_rows = max_rows
        self.handler = self._fetch_rows if handler is ROWS else handler
        self.split_statements = split_statements
        self.autocommit = autocommit
        self.return_last = return_last
        self.show_return_value_in_logs = show_return_value_in_logs

    def _fetch_rows(self, cursor: Any) -> list[list[Any]] | None:
        """Every row of a result, as lists of JSON values; None without a result."""
        if cursor.description is None:
            return None
        rows = cursor.fetchmany(self.max_rows + 1)
        if len(rows) > self.max_rows:
            raise SqlHookError(
                f"task {self.task_id!r}: the query returned more than max_rows="
                f"{self.max_rows:,} rows; write large results to a table or a file, or raise "
                "max_rows"
            )
        return [[to_json_value(value) for value in row] for row in rows]

    def lineage_sql(self) -> list[str]:
        """The statements this task runs (rendered, once its templates are): what OpenLineage
        parses for the tables it reads and writes (``headwater.lineage.sql_tables``)."""
        return [self.sql] if isinstance(self.sql, str) else list(self.sql)

    def execute(self, context: dict[str, Any]) -> Any:
        log = context["ti"].log
        hook = self.get_db_hook()
        result = hook.run(
            self.sql,
            autocommit=self.autocommit,
            parameters=self.parameters,
            handler=self.handler,
            split_statements=self.split_statements,
            return_last=self.return_last,
        )
        if self.show_return_value_in_logs:
            log.info("Result: %s", result)
        return result


def to_json_value(value: Any) -> Any:
    """A database value as JSON: dates, times and datetimes as ISO 8601 text, intervals as
    seconds, Decimals as ints when whole, else as floats when a float holds them exactly,
    else as text (so no digit is lost), UUIDs as text, bytes as text when UTF-8, else hex."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.hex()
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return str(value)


def _decimal(value: decimal.Decimal) -> int | float | str:
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if decimal.Decimal(repr(as_float)) == value else str(value)
