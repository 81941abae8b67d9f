"""``ExternalTaskSensor`` (wait for a task, a task group or a whole run of another DAG) and
``ExternalTaskMarker`` (clearing it clears the tasks that wait on it in another DAG).

The sensor looks at the other DAG's runs at the same logical date as its own run (or
``logical_date - execution_delta``, or the dates ``execution_date_fn`` returns) through
:mod:`headwater.authoring.dag_runs_access`. Example::

    ExternalTaskSensor(
        task_id="wait_for_features",
        external_dag_id="features",
        external_task_id="publish",
        execution_delta=timedelta(hours=1),   # features runs an hour earlier
        failed_states=["failed"],
        mode="reschedule",
    )

Like Airflow's, by default it does not fail when the external task fails: it keeps waiting
(so the external task can be retried or cleared) until its ``timeout``. Give
``failed_states`` to fail at once, ``skipped_states`` to be skipped; with ``soft_fail``, a
failed state skips it too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from headwater.authoring.dag_runs_access import (
    DAG_RUN_STATES,
    TASK_STATES,
    DagRunsAccess,
    check_states,
    dag_runs_access,
)
from headwater.exceptions import DagDefinitionError, HeadwaterError, TaskSkipped
from headwater.operators.empty import EmptyOperator
from headwater.sensors.base import BaseSensorOperator
from headwater.triggers.external_task import FAILED, SKIPPED, SUCCESS, WorkflowTrigger


class ExternalTaskFailedError(HeadwaterError):
    """What an ``ExternalTaskSensor`` waits for reached one of its ``failed_states``."""


class ExternalTaskNotFoundError(HeadwaterError):
    """``check_existence``: the external DAG, task or task group does not exist."""


class ExternalTaskSensor(BaseSensorOperator):
    """Waits for ``external_task_id`` (or ``external_task_ids``, or every task of
    ``external_task_group_id``, or with none of them the run itself) of
    ``external_dag_id`` to reach ``allowed_states`` (``["success"]``) at this run's logical
    date. ``external_dag_id``, ``external_task_id``, ``external_task_ids`` and
    ``external_task_group_id`` are templated. See the module's docstring.

    * ``execution_delta``: look at ``logical_date - execution_delta`` instead;
    * ``execution_date_fn(logical_date, **context)``: a date or a list of dates to look at
      (every one must be allowed); it takes the context's values it names;
    * ``check_existence``: fail at the first poke when the DAG, task or group is unknown;
    * ``deferrable``: after one poke in the worker, wait in the triggerer (polling every
      ``poll_interval`` seconds, for at most ``timeout``), with no worker slot held.
    """

    template_fields: Sequence[str] = (
        "external_dag_id",
        "external_task_id",
        "external_task_ids",
        "external_task_group_id",
    )
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Collection[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Sequence[str] | None = None,
        skipped_states: Sequence[str] | None = None,
        failed_states: Sequence[str] | None = None,
        execution_delta: timedelta | None = None,
        execution_date_fn: Callable[..., datetime | list[datetime]] | None = None,
        check_existence: bool = False,
        poll_interval: float = 2.0,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        ids = list(external_task_ids) if external_task_ids else None
        if external_task_id is not None and ids is not None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: give external_task_id or external_task_ids, not both"
            )
        if external_task_id is not None:
            ids = [external_task_id]
        if external_task_group_id is not None and ids is not None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: give external_task_group_id or external task ids, not both"
            )
        if ids is not None and len(set(ids)) != len(ids):
            raise DagDefinitionError(
                f"task {self.task_id!r}: external_task_ids has duplicates: {ids}"
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: give execution_delta or execution_date_fn, not both"
            )
        on_tasks = ids is not None or external_task_group_id is not None
        known = TASK_STATES if on_tasks else DAG_RUN_STATES
        self.allowed_states = check_states(
            allowed_states, known, "allowed_states", self.task_id
        ) or [SUCCESS]
        self.skipped_states = check_states(skipped_states, known, "skipped_states", self.task_id)
        self.failed_states = check_states(failed_states, known, "failed_states", self.task_id)
        every = [*self.allowed_states, *self.skipped_states, *self.failed_states]
        if len(set(every)) != len(every):
            raise DagDefinitionError(
                f"task {self.task_id!r}: a state is in more than one of allowed_states, "
                "skipped_states and failed_states"
            )
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = ids
        self.external_task_group_id = external_task_group_id
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = bool(check_existence)
        self.poll_interval = float(poll_interval)
        self.deferrable = bool(deferrable)
        self._existence_checked = False

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):  # done already: no need to wait in the triggerer
            return None
        self.defer(
            trigger=self._trigger(context),
            method_name="execute_complete",
            timeout=self.timeout,
        )

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """Resumed when the :class:`~headwater.triggers.external_task.WorkflowTrigger`
        fired: its ``status`` decides."""
        status = (event or {}).get("status")
        if status == SUCCESS:
            context["ti"].log.info("%s reached %s", self._what(), self.allowed_states)
            return
        self._end(status)

    def poke(self, context: dict[str, Any]) -> bool:
        access = dag_runs_access()
        if self.check_existence and not self._existence_checked:
            self._check_existence(access)
        trigger = self._trigger(context)
        context["ti"].log.info(
            "Poking for %s on %s",
            self._what(),
            ", ".join(when.isoformat() for when in trigger.logical_dates),
        )
        status = trigger.check(access).status(access)
        if status in (FAILED, SKIPPED):
            self._end(status)
        return status == SUCCESS

    def logical_dates(self, context: dict[str, Any]) -> list[datetime]:
        """The logical dates of the external runs to look at."""
        logical_date: datetime = context["logical_date"]
        if self.execution_delta is not None:
            return [logical_date - self.execution_delta]
        if self.execution_date_fn is not None:
            result = _call_with_context(self.execution_date_fn, logical_date, context)
            dates = result if isinstance(result, list | tuple) else [result]
            for when in dates:
                if not isinstance(when, datetime) or when.tzinfo is None:
                    raise HeadwaterError(
                        f"task {self.task_id!r}: execution_date_fn returned {when!r}, not a "
                        "datetime with a time zone"
                    )
            return list(dates)
        return [logical_date]

    def _trigger(self, context: dict[str, Any]) -> WorkflowTrigger:
        return WorkflowTrigger(
            external_dag_id=self.external_dag_id,
            logical_dates=self.logical_dates(context),
            external_task_ids=self.external_task_ids,
            external_task_group_id=self.external_task_group_id,
            allowed_states=self.allowed_states,
            failed_states=self.failed_states,
            skipped_states=self.skipped_states,
            poll_interval=self.poll_interval,
        )

    def _end(self, status: str | None) -> None:
        if status == SKIPPED:
            raise TaskSkipped(f"{self._what()} reached one of skipped_states {self.skipped_states}")
        message = (
            f"{self._what()} reached one of failed_states {self.failed_states}"
            if status == FAILED
            else f"waiting for {self._what()} ended without its state ({status!r})"
        )
        if self.soft_fail:
            raise TaskSkipped(f"{message}; skipped (soft_fail)")
        raise ExternalTaskFailedError(message)

    def _what(self) -> str:
        if self.external_task_ids:
            return f"tasks {self.external_task_ids} of DAG {self.external_dag_id!r}"
        if self.external_task_group_id is not None:
            return f"task group {self.external_task_group_id!r} of DAG {self.external_dag_id!r}"
        return f"DAG {self.external_dag_id!r}"

    def _check_existence(self, access: DagRunsAccess) -> None:
        shape = access.dag_shape(self.external_dag_id)
        if shape is None:
            raise ExternalTaskNotFoundError(
                f"the external DAG {self.external_dag_id!r} does not exist"
            )
        for task_id in self.external_task_ids or ():
            if task_id not in shape.task_ids:
                raise ExternalTaskNotFoundError(
                    f"the external task {task_id!r} of DAG {self.external_dag_id!r} does not exist"
                )
        group = self.external_task_group_id
        if group is not None and group not in shape.task_groups:
            raise ExternalTaskNotFoundError(
                f"the external task group {group!r} of DAG {self.external_dag_id!r} does not exist"
            )
        self._existence_checked = True


class ExternalTaskMarker(EmptyOperator):
    """Marks that ``external_task_id`` of ``external_dag_id`` depends on this task: clearing
    this task with its dependent DAGs (``headwater tasks clear``) clears that task too, at
    ``logical_date`` (templated; this run's logical date by default), with its downstream
    tasks, following markers there too at most ``recursion_depth`` (10) DAGs deep."""

    template_fields: Sequence[str] = ("external_dag_id", "external_task_id", "logical_date")
    serialized_fields: ClassVar[tuple[str, ...]] = (
        "external_dag_id",
        "external_task_id",
        "logical_date",
        "recursion_depth",
    )
    """Kept in the stored DAG, which clearing reads (it imports no DAG file)."""
    ui_color = "#4db7db"

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | datetime = "{{ logical_date.isoformat() }}",
        recursion_depth: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        if isinstance(logical_date, datetime):
            logical_date = logical_date.isoformat()
        if not isinstance(logical_date, str):
            raise DagDefinitionError(
                f"task {self.task_id!r}: logical_date must be a datetime or a text, "
                f"not {type(logical_date).__name__}"
            )
        self.logical_date = logical_date
        if isinstance(recursion_depth, bool) or not isinstance(recursion_depth, int):
            raise DagDefinitionError(
                f"task {self.task_id!r}: recursion_depth must be a positive integer"
            )
        if recursion_depth <= 0:
            raise DagDefinitionError(
                f"task {self.task_id!r}: recursion_depth must be a positive integer, "
                f"not {recursion_depth}"
            )
        self.recursion_depth = recursion_depth


def _call_with_context(
    fn: Callable[..., Any], logical_date: datetime, context: dict[str, Any]
) -> Any:
    """``fn(logical_date, **the context values it names)`` (all of them if it takes
    ``**kwargs``)."""
    parameters = list(inspect.signature(fn).parameters.values())
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        extra = {k: v for k, v in context.items() if k != "logical_date"}
        extra.setdefault("context", context)
        return fn(logical_date, **extra)
    names = {p.name for p in parameters[1:]}
    given = {k: v for k, v in {**context, "context": context}.items() if k in names}
    return fn(logical_date, **given)
