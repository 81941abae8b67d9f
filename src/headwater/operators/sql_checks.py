"""Data-quality checks as tasks: each runs SQL on a connection and fails the task, with ONE
message listing every failed check, the value it saw and what was expected.

* :class:`SQLCheckOperator`: every value of the query's first row is true.
* :class:`SQLValueCheckOperator`: every value of the first row equals ``pass_value``
  (within ``tolerance``).
* :class:`SQLThresholdCheckOperator`: the query's value is between two thresholds (numbers,
  or queries that return them).
* :class:`SQLColumnCheckOperator`: per column, nulls, distinct and duplicate values, min and
  max, against bounds (``equal_to``, ``greater_than``, ``geq_to``, ``less_than``, ``leq_to``,
  ``tolerance``), all computed in one query per partition.
* :class:`SQLTableCheckOperator`: named checks on a whole table: boolean SQL expressions
  over aggregates, or an aggregate against bounds (``row_count_check``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.hooks.sql import DbApiHook, Parameters, column_names
from headwater.operators.sql import BaseSQLOperator, to_json_value
from headwater.operators.sql_check_rules import (
    Expectation,
    ExpectationError,
    as_number,
    format_value,
    is_number,
    seen,
)

COLUMN_CHECKS: dict[str, str] = {
    "null_check": "COALESCE(SUM(CASE WHEN {column} IS NULL THEN 1 ELSE 0 END), 0)",
    "distinct_check": "COUNT(DISTINCT {column})",
    "unique_check": "COUNT({column}) - COUNT(DISTINCT {column})",
    "min": "MIN({column})",
    "max": "MAX({column})",
}
"""The column checks and the aggregate each computes (``unique_check`` counts the non-null
values that repeat another one: 0 means every value is unique)."""


class SQLCheckFailed(HeadwaterError):
    """A data-quality check did not pass; the message lists every failure."""


def _failure(header: str, lines: list[str], footer: str = "") -> SQLCheckFailed:
    text = header + "".join(f"\n  - {line}" for line in lines)
    return SQLCheckFailed(text + (f"\n{footer}" if footer else ""))


def _first_row_with_names(cursor: Any) -> tuple[list[str], tuple[Any, ...] | None]:
    names = column_names(cursor)
    if cursor.description is None:
        return names, None
    row = cursor.fetchone()
    return names, None if row is None else tuple(row)


def _column_label(names: list[str], index: int) -> str:
    name = names[index] if index < len(names) else ""
    return (
        f"column {index + 1} ({name!r})" if name and name != "?column?" else f"column {index + 1}"
    )


class _QueryCheck(BaseSQLOperator):
    """A check of the first row of ``sql``."""

    template_fields: Sequence[str] = ("conn_id", "sql", "parameters")
    template_ext: Sequence[str] = (".sql",)

    def __init__(
        self, *, sql: str, conn_id: str, parameters: Parameters = None, **kwargs: Any
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        if not isinstance(sql, str) or not sql.strip():
            raise DagDefinitionError(f"task {self.task_id!r}: sql must be a non-empty string")
        self.sql = sql
        self.parameters = parameters

    def _first_row(self, hook: DbApiHook) -> tuple[list[str], tuple[Any, ...]]:
        names, row = hook.run(self.sql, parameters=self.parameters, handler=_first_row_with_names)
        if row is None:
            raise SQLCheckFailed(
                f"{type(self).__name__} {self.task_id!r} failed: the query returned no rows\n"
                f"Query: {self.sql}"
            )
        return names, row


class SQLCheckOperator(_QueryCheck):
    """Fails unless every value of the first row of ``sql`` is true (not 0, NULL, false or
    empty). Example: ``sql="SELECT COUNT(*) > 0, MIN(amount) >= 0 FROM orders"``."""

    def execute(self, context: dict[str, Any]) -> list[Any]:
        names, row = self._first_row(self.get_db_hook())
        failed = [
            f"{_column_label(names, i)} is {format_value(value)}, expected a true value"
            for i, value in enumerate(row)
            if not value
        ]
        if failed:
            raise _failure(
                f"SQL check {self.task_id!r} failed: {len(failed)} of {len(row)} value(s) of "
                "the first row are not true:",
                failed,
                f"Query: {self.sql}",
            )
        context["ti"].log.info("SQL check passed: %s", list(row))
        return [to_json_value(v) for v in row]


class SQLValueCheckOperator(_QueryCheck):
    """Fails unless every value of the first row of ``sql`` equals ``pass_value``: as
    numbers within ``tolerance`` (a fraction: 0.1 allows 10% either way) when ``pass_value``
    is a number or numeric text, else as text."""

    template_fields: Sequence[str] = ("conn_id", "sql", "parameters", "pass_value")

    def __init__(self, *, pass_value: Any, tolerance: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if tolerance is not None and (not is_number(tolerance) or tolerance < 0):
            raise DagDefinitionError(
                f"task {self.task_id!r}: tolerance must be a number >= 0, got {tolerance!r}"
            )
        self.pass_value = pass_value
        self.tolerance = tolerance

    def execute(self, context: dict[str, Any]) -> list[Any]:
        names, row = self._first_row(self.get_db_hook())
        number = as_number(self.pass_value)
        if number is not None:
            expectation = Expectation(equal_to=number, tolerance=self.tolerance)
            failed = [
                f"{_column_label(names, i)} is {seen(v)}, expected {expectation.describe()}"
                for i, v in enumerate(row)
                if not expectation.holds(v)
            ]
        else:
            failed = [
                f"{_column_label(names, i)} is {format_value(v)}, expected {self.pass_value!r}"
                for i, v in enumerate(row)
                if str(v) != str(self.pass_value)
            ]
        if failed:
            raise _failure(
                f"SQL value check {self.task_id!r} failed: {len(failed)} of {len(row)} value(s) "
                "do not match:",
                failed,
                f"Query: {self.sql}",
            )
        context["ti"].log.info("SQL value check passed: %s", list(row))
        return [to_json_value(v) for v in row]


class SQLThresholdCheckOperator(_QueryCheck):
    """Fails unless the first value of ``sql`` is between ``min_threshold`` and
    ``max_threshold`` (inclusive). Each threshold is a number, or SQL whose first value is
    one (``"SELECT AVG(n) * 0.9 FROM history"``)."""

    template_fields: Sequence[str] = (
        "conn_id",
        "sql",
        "parameters",
        "min_threshold",
        "max_threshold",
    )

    def __init__(
        self, *, min_threshold: float | str, max_threshold: float | str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("min_threshold", min_threshold), ("max_threshold", max_threshold)):
            if not is_number(value) and not (isinstance(value, str) and value.strip()):
                raise DagDefinitionError(
                    f"task {self.task_id!r}: {name} must be a number or SQL, got {value!r}"
                )
        self.min_threshold = min_threshold
        self.max_threshold = max_threshold

    def _threshold(self, hook: DbApiHook, name: str, value: float | str) -> tuple[float, str]:
        number = as_number(value)
        if number is not None:
            return number, format_value(number)
        row = hook.get_first(str(value))
        found = row[0] if row else None
        threshold = as_number(found)
        if threshold is None:
            raise SQLCheckFailed(
                f"SQL threshold check {self.task_id!r}: the {name} query returned "
                f"{format_value(found)}, not a number\nQuery: {value}"
            )
        return threshold, f"{format_value(found)} (from {value})"

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        hook = self.get_db_hook()
        _names, row = self._first_row(hook)
        value = row[0]
        low, low_text = self._threshold(hook, "min_threshold", self.min_threshold)
        high, high_text = self._threshold(hook, "max_threshold", self.max_threshold)
        within = is_number(value) and low <= float(value) <= high
        result = {
            "result": to_json_value(value),
            "min_threshold": low,
            "max_threshold": high,
            "within_threshold": within,
        }
        if not within:
            raise _failure(
                f"SQL threshold check {self.task_id!r} failed:",
                [f"the value is {seen(value)}, expected >= {low_text} and <= {high_text}"],
                f"Query: {self.sql}",
            )
        context["ti"].log.info("SQL threshold check passed: %s", result)
        return result


class _TableChecks(BaseSQLOperator):
    """Checks computed as aggregates over ``table``, one query per partition."""

    template_fields: Sequence[str] = ("conn_id", "table", "partition_clause", "parameters")

    def __init__(
        self,
        *,
        table: str,
        conn_id: str,
        partition_clause: str | None = None,
        parameters: Parameters = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        if not isinstance(table, str) or not table:
            raise DagDefinitionError(f"task {self.task_id!r}: table must be a non-empty string")
        self.table = table
        self.partition_clause = partition_clause
        self.parameters = parameters

    def _where(self, check_partition: str | None) -> str:
        clauses = [c for c in (self.partition_clause, check_partition) if c and c.strip()]
        return " AND ".join(f"({c})" for c in clauses)

    def _compute(self, hook: DbApiHook, expressions: list[tuple[str | None, str]]) -> list[Any]:
        """The value of each ``(partition_clause, expression)``, in order; one query per
        distinct partition clause."""
        table = hook.quote_table(self.table)
        groups: dict[str, list[int]] = {}
        for index, (partition, _expression) in enumerate(expressions):
            groups.setdefault(self._where(partition), []).append(index)
        values: list[Any] = [None] * len(expressions)
        for where, indexes in groups.items():
            select = ", ".join(f"{expressions[i][1]} AS c{n}" for n, i in enumerate(indexes))
            sql = f"SELECT {select} FROM {table}" + (f" WHERE {where}" if where else "")
            _names, row = hook.run(sql, parameters=self.parameters, handler=_first_row_with_names)
            for n, i in enumerate(indexes):
                values[i] = row[n] if row is not None else None
        return values

    def _where_text(self) -> str:
        if not self.partition_clause:
            return ""
        given = f", parameters {self.parameters!r}" if self.parameters else ""
        return f" (where {self.partition_clause}{given})"


class SQLColumnCheckOperator(_TableChecks):
    """Checks of columns of ``table``. ``column_mapping`` maps each column to its checks
    (``null_check``, ``distinct_check``, ``unique_check``, ``min``, ``max``), each to bounds
    and optionally its own ``partition_clause``, ANDed with the operator's. With
    ``accept_none``, a NULL result (``MIN`` of no rows) counts as 0.

    Example::

        SQLColumnCheckOperator(
            task_id="check_orders", conn_id="warehouse", table="orders",
            column_mapping={
                "order_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
                "amount": {"min": {"geq_to": 0}, "max": {"less_than": 10_000}},
            },
            partition_clause="order_date = '{{ ds }}'",
        )
    """

    def __init__(
        self,
        *,
        column_mapping: Mapping[str, Mapping[str, Mapping[str, Any]]],
        accept_none: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(column_mapping, Mapping) or not column_mapping:
            raise DagDefinitionError(
                f"task {self.task_id!r}: column_mapping must be a non-empty dict of "
                "column -> checks"
            )
        self.column_mapping = column_mapping
        self.accept_none = accept_none
        self._checks: list[tuple[str, str, Expectation, str | None]] = []
        for column, checks in column_mapping.items():
            if not isinstance(checks, Mapping) or not checks:
                raise DagDefinitionError(
                    f"task {self.task_id!r}: column {column!r}: give a dict of checks such as "
                    f"{{'null_check': {{'equal_to': 0}}}}, got {checks!r:.80}"
                )
            for check, spec in checks.items():
                if check not in COLUMN_CHECKS:
                    raise DagDefinitionError(
                        f"task {self.task_id!r}: column {column!r}: unknown check {check!r}; "
                        f"use {', '.join(COLUMN_CHECKS)}"
                    )
                where = f"task {self.task_id!r}: column {column!r} {check}"
                try:
                    expectation = Expectation.parse(spec, where, frozenset({"partition_clause"}))
                except ExpectationError as exc:
                    raise DagDefinitionError(str(exc)) from None
                self._checks.append((column, check, expectation, spec.get("partition_clause")))

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        hook = self.get_db_hook()
        expressions = [
            (partition, COLUMN_CHECKS[check].format(column=hook.quote_identifier(column)))
            for column, check, _expectation, partition in self._checks
        ]
        values = self._compute(hook, expressions)
        results: dict[str, Any] = {}
        failed: list[str] = []
        for (column, check, expectation, partition), value in zip(
            self._checks, values, strict=True
        ):
            if value is None and self.accept_none:
                value = 0
            passed = expectation.holds(value)
            results.setdefault(column, {})[check] = {
                "result": to_json_value(value),
                "success": passed,
            }
            if not passed:
                where = f" where {partition}" if partition else ""
                failed.append(
                    f"column {column!r} {check}{where}: got {seen(value)}, "
                    f"expected {expectation.describe()}"
                )
        if failed:
            raise _failure(
                f"SQL column checks {self.task_id!r} on table {self.table!r}{self._where_text()}: "
                f"{len(failed)} of {len(self._checks)} failed:",
                failed,
            )
        context["ti"].log.info("%d column check(s) passed on %s", len(self._checks), self.table)
        return results


class SQLTableCheckOperator(_TableChecks):
    """Named checks of ``table``. Each is ``{"check_statement": "<boolean SQL over the
    table's rows, such as MIN(amount) >= 0>"}``, or an aggregate ``expression`` with bounds
    (``{"expression": "SUM(amount)", "geq_to": 0}``); ``row_count_check`` may give bounds
    alone, on ``COUNT(*)``. Each may have its own ``partition_clause``.

    Example::

        SQLTableCheckOperator(
            task_id="check_orders_table", conn_id="warehouse", table="orders",
            checks={
                "row_count_check": {"geq_to": 1},
                "amounts_add_up": {"check_statement": "SUM(amount) = SUM(price * quantity)"},
            },
        )
    """

    template_fields: Sequence[str] = (
        "conn_id",
        "table",
        "partition_clause",
        "parameters",
        "checks",
    )

    def __init__(self, *, checks: Mapping[str, Mapping[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(checks, Mapping) or not checks:
            raise DagDefinitionError(
                f"task {self.task_id!r}: checks must be a non-empty dict of name -> check"
            )
        for name, spec in checks.items():
            self._parse(name, spec)
        self.checks = checks

    def _parse(self, name: str, spec: Any) -> tuple[str, Expectation | None]:
        """The SQL expression a check computes and, for one with bounds, its expectation."""
        where = f"task {self.task_id!r}: table check {name!r}"
        if not isinstance(spec, Mapping):
            raise DagDefinitionError(f"{where}: expected a dict, got {spec!r:.80}")
        statement = spec.get("check_statement")
        if statement is not None:
            unknown = sorted(set(spec) - {"check_statement", "partition_clause"})
            if unknown:
                raise DagDefinitionError(
                    f"{where}: check_statement cannot be combined with {', '.join(unknown)}"
                )
            if not isinstance(statement, str) or not statement.strip():
                raise DagDefinitionError(f"{where}: check_statement must be non-empty SQL")
            return f"CASE WHEN ({statement}) THEN 1 ELSE 0 END", None
        expression = spec.get("expression", "COUNT(*)" if name == "row_count_check" else None)
        if not isinstance(expression, str) or not expression.strip():
            raise DagDefinitionError(
                f"{where}: give a check_statement (boolean SQL) or an expression with bounds"
            )
        try:
            expectation = Expectation.parse(
                {k: v for k, v in spec.items() if k not in ("expression", "partition_clause")},
                where,
            )
        except ExpectationError as exc:
            raise DagDefinitionError(str(exc)) from None
        return expression, expectation

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        parsed = [(name, spec, *self._parse(name, spec)) for name, spec in self.checks.items()]
        values = self._compute(
            self.get_db_hook(),
            [(spec.get("partition_clause"), expression) for _n, spec, expression, _e in parsed],
        )
        results: dict[str, Any] = {}
        failed: list[str] = []
        for (name, spec, _expression, expectation), value in zip(parsed, values, strict=True):
            where = f" where {spec['partition_clause']}" if spec.get("partition_clause") else ""
            if expectation is None:
                passed = bool(value)
                detail = f"{spec['check_statement']}{where} is false"
            else:
                passed = expectation.holds(value)
                what = spec.get("expression", "COUNT(*)")
                detail = f"{what}{where} is {seen(value)}, expected {expectation.describe()}"
            results[name] = {"result": to_json_value(value), "success": passed}
            if not passed:
                failed.append(f"{name}: {detail}")
        if failed:
            raise _failure(
                f"SQL table checks {self.task_id!r} on table {self.table!r}{self._where_text()}: "
                f"{len(failed)} of {len(parsed)} failed:",
                failed,
            )
        context["ti"].log.info("%d table check(s) passed on %s", len(parsed), self.table)
        return results
