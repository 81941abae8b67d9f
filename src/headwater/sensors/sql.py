"""SqlSensor: waits until a query's first cell says the data is there."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from headwater.exceptions import DagDefinitionError, HeadwaterError
from headwater.hooks.sql import get_db_hook
from headwater.sensors.base import BaseSensorOperator
from headwater.sensors.deferring import defer_sensor, event_error
from headwater.triggers.sql import (
    Criterion,
    SqlConditionError,
    SqlTrigger,
    check_criterion,
    first_cell_condition_met,
)


class SqlSensor(BaseSensorOperator):
    """Runs ``sql`` on connection ``conn_id`` at each poke, through the hook of the
    connection's type, and looks at the first cell of the first row:

    * no row: wait, or fail with ``fail_on_empty=True``;
    * ``failure`` holds for the cell: fail;
    * ``success`` holds (without ``success``: the cell is truthy): done; else wait.

    ``success`` and ``failure`` are functions of the cell or ``(operator, operand)`` pairs
    (``("==", "done")``, ``(">=", 100)``, ``("in", ["failed", "cancelled"])``). With
    ``deferrable=True`` the sensor checks once, then waits in the triggerer
    (:class:`~headwater.triggers.SqlTrigger`), which needs pairs, not functions. ``sql``
    (or a ``.sql`` file next to the DAG), ``parameters`` and ``hook_params`` are templates.
    Example::

        SqlSensor(task_id="wait_for_load", conn_id="warehouse",
                  sql="SELECT count(*) FROM sales WHERE day = %(day)s",
                  parameters={"day": "{{ ds }}"}, success=(">=", 1000))
    """

    template_fields: Sequence[str] = ("sql", "hook_params", "parameters")
    template_ext: Sequence[str] = (".sql",)
    ui_color = "#7c7287"

    def __init__(
        self,
        *,
        conn_id: str,
        sql: str,
        parameters: Sequence[Any] | Mapping[str, Any] | None = None,
        success: Criterion | None = None,
        failure: Criterion | None = None,
        fail_on_empty: bool = False,
        hook_params: Mapping[str, Any] | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.deferrable = bool(deferrable)
        try:
            self.success = check_criterion(success, "success", callable_ok=not self.deferrable)
            self.failure = check_criterion(failure, "failure", callable_ok=not self.deferrable)
        except SqlConditionError as exc:
            raise DagDefinitionError(f"task {self.task_id!r}: {exc}") from None
        self.fail_on_empty = bool(fail_on_empty)
        self.hook_params = dict(hook_params or {})

    def poke(self, context: dict[str, Any]) -> bool:
        hook = get_db_hook(self.conn_id, **self.hook_params)
        rows = hook.get_records(self.sql, self.parameters)
        met = first_cell_condition_met(
            rows, success=self.success, failure=self.failure, fail_on_empty=self.fail_on_empty
        )
        log = getattr(context.get("ti"), "log", None)
        if log is not None and rows:
            log.info(
                "First cell: %r; condition %s",
                rows[0][0] if rows[0] else None,
                "met" if met else "not met",
            )
        return met

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        parameters = self.parameters
        try:
            json.dumps(parameters)
        except (TypeError, ValueError):
            raise HeadwaterError(
                f"task {self.task_id!r}: parameters must be JSON values to defer (the "
                f"triggerer stores them), got {parameters!r:.100}"
            ) from None
        trigger = SqlTrigger(
            conn_id=self.conn_id,
            sql=self.sql,
            parameters=parameters,
            success=_stored(self.success),
            failure=_stored(self.failure),
            fail_on_empty=self.fail_on_empty,
            poke_interval=self.poke_interval.total_seconds() or 1.0,
            hook_params=self.hook_params,
        )
        defer_sensor(self, trigger)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """Resumed by the trigger: done, or the failure its event reports."""
        message = event_error(event)
        if message is not None:
            raise SqlConditionError(f"task {self.task_id!r}: {message}")


def _stored(criterion: Criterion | None) -> Sequence[Any] | None:
    """A criterion of a deferrable sensor: a pair (``__init__`` refused functions)."""
    assert not callable(criterion), "a deferrable SqlSensor's criteria are pairs"
    return criterion
