"""SqlTrigger, and the rule it shares with :class:`~headwater.sensors.SqlSensor`: run a
query, look at the first cell of its first row.

The condition is met when ``failure`` does not hold for the cell and ``success`` does (the
cell's truth without ``success``); a failure, or no row with ``fail_on_empty``, is an error.
The trigger stores its criteria as JSON, so each is an ``(operator, operand)`` pair, not a
function: ``("==", "done")``, ``(">=", 100)``, ``("in", ["failed", "cancelled"])``. Example::

    SqlTrigger(conn_id="warehouse", sql="SELECT state FROM loads WHERE day = %s",
               parameters=["2024-01-31"], success=("==", "done"), failure=("==", "failed"))
"""

from __future__ import annotations

import asyncio
import json
import operator
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.triggers.base import BaseTrigger, TriggerEvent, trigger_classpath

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": lambda cell, operand: cell in operand,
    "not in": lambda cell, operand: cell not in operand,
}
"""What a stored criterion may compare the first cell with, by its operator."""

Criterion = Callable[[Any], Any] | Sequence[Any]
"""A function of the first cell, or an ``(operator, operand)`` pair (stored as a list)."""


class SqlConditionError(HeadwaterError):
    """The query's answer met the failure criterion, or was empty with ``fail_on_empty``,
    or a criterion is not one a SQL sensor understands."""


def check_criterion(value: Any, name: str, *, callable_ok: bool) -> Criterion | None:
    """``value`` checked as a ``success``/``failure`` criterion: None, an ``(operator,
    operand)`` pair (returned as a list, as JSON stores it) or, with ``callable_ok``, a
    function of the first cell."""
    if value is None:
        return None
    if callable(value):
        if callable_ok:
            return value
        raise SqlConditionError(
            f"{name} must be an (operator, operand) pair such as ('>=', 1) when the sensor "
            "defers: the triggerer stores it as JSON, and a function cannot be stored"
        )
    if isinstance(value, Sequence) and not isinstance(value, str | bytes) and len(value) == 2:
        op, operand = value
        if op in OPERATORS:
            if op in ("in", "not in") and (
                isinstance(operand, str | bytes) or not isinstance(operand, Sequence)
            ):
                raise SqlConditionError(f"{name}: the operand of {op!r} must be a list")
            try:
                json.dumps(operand)
            except (TypeError, ValueError):
                raise SqlConditionError(
                    f"{name}: the operand {operand!r} must be a JSON value (text, number, "
                    "bool, null, or a list of them)"
                ) from None
            return [op, list(operand) if op in ("in", "not in") else operand]
    raise SqlConditionError(
        f"{name} must be a function of the first cell or an (operator, operand) pair with "
        f"operator one of {', '.join(OPERATORS)}; got {value!r:.100}"
    )


def _holds(criterion: Criterion, cell: Any) -> bool:
    if callable(criterion):
        return bool(criterion(cell))
    op, operand = criterion
    try:
        return bool(OPERATORS[op](cell, operand))
    except TypeError:  # NULL > 3, a number compared with text: not met
        return False


def _shown(criterion: Criterion) -> str:
    if callable(criterion):
        return f"{getattr(criterion, '__name__', type(criterion).__name__)}(first cell)"
    op, operand = criterion
    return f"first cell {op} {operand!r}"


def first_cell_condition_met(
    rows: Sequence[Sequence[Any]],
    *,
    success: Criterion | None,
    failure: Criterion | None,
    fail_on_empty: bool,
) -> bool:
    """Whether the answer ``rows`` meets the condition (see the module's docstring); raises
    :class:`SqlConditionError` when it meets ``failure`` or is empty with
    ``fail_on_empty``."""
    if not rows:
        if fail_on_empty:
            raise SqlConditionError("the query returned no row (fail_on_empty=True)")
        return False
    cell = rows[0][0] if len(rows[0]) else None
    if failure is not None and _holds(failure, cell):
        raise SqlConditionError(f"failure criterion met: {_shown(failure)} (cell {cell!r})")
    if success is not None:
        return _holds(success, cell)
    return bool(cell)


def json_cell(cell: Any) -> Any:
    """The cell as a JSON value for an event's payload: as it is when it is one, ISO text
    for dates, a number for a decimal, its text otherwise."""
    if cell is None or isinstance(cell, bool | int | float | str):
        return cell
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    if isinstance(cell, Decimal):
        return int(cell) if cell == cell.to_integral_value() else float(cell)
    return str(cell)


class SqlTrigger(BaseTrigger):
    """Runs ``sql`` on connection ``conn_id`` every ``poke_interval`` seconds (in a thread,
    through the hook of the connection's type) until the first cell meets the condition.

    Fires with ``{"status": "success", "first_cell": ...}``, or ``{"status": "error",
    "message": ...}`` when the failure criterion holds, the answer is empty with
    ``fail_on_empty``, or the query fails. ``parameters`` (a list or a dict) and the
    criteria must be JSON values. ``hook_params`` are passed to the hook
    (``{"schema": "analytics"}``).
    """

    def __init__(
        self,
        conn_id: str,
        sql: str,
        parameters: Sequence[Any] | Mapping[str, Any] | None = None,
        success: Sequence[Any] | None = None,
        failure: Sequence[Any] | None = None,
        fail_on_empty: bool = False,
        poke_interval: float = 60.0,
        hook_params: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(conn_id, str) or not conn_id:
            raise SqlConditionError(f"conn_id must be a connection id, got {conn_id!r}")
        if not isinstance(sql, str) or not sql.strip():
            raise SqlConditionError(f"sql must be a statement, got {sql!r:.100}")
        if isinstance(poke_interval, bool) or not isinstance(poke_interval, int | float):
            raise SqlConditionError(f"poke_interval must be seconds, got {poke_interval!r}")
        if not poke_interval > 0:
            raise SqlConditionError(f"poke_interval must be > 0 seconds, got {poke_interval!r}")
        self.conn_id = conn_id
        self.sql = sql
        self.parameters: list[Any] | dict[str, Any] | None = (
            None
            if parameters is None
            else dict(parameters)
            if isinstance(parameters, Mapping)
            else list(parameters)
        )
        self.success = check_criterion(success, "success", callable_ok=False)
        self.failure = check_criterion(failure, "failure", callable_ok=False)
        self.fail_on_empty = bool(fail_on_empty)
        self.poke_interval = float(poke_interval)
        self.hook_params = dict(hook_params or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {
                "conn_id": self.conn_id,
                "sql": self.sql,
                "parameters": self.parameters,
                "success": self.success,
                "failure": self.failure,
                "fail_on_empty": self.fail_on_empty,
                "poke_interval": self.poke_interval,
                "hook_params": self.hook_params,
            },
        )

    def _rows(self) -> list[tuple[Any, ...]]:
        from headwater.hooks.sql import get_db_hook

        hook = get_db_hook(self.conn_id, **self.hook_params)
        return hook.get_records(self.sql, self.parameters)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            try:
                rows = await asyncio.to_thread(self._rows)
                met = first_cell_condition_met(
                    rows,
                    success=self.success,
                    failure=self.failure,
                    fail_on_empty=self.fail_on_empty,
                )
            except Exception as exc:
                message = f"SQL condition on {self.conn_id!r}: {type(exc).__name__}: {exc}"
                yield TriggerEvent({"status": "error", "message": message})
                return
            if met:
                yield TriggerEvent({"status": "success", "first_cell": json_cell(rows[0][0])})
                return
            await asyncio.sleep(self.poke_interval)
