"""``TriggerDagRunOperator``: a task that starts a run of another DAG, and may wait for it.

The run is created as ``headwater dags trigger`` creates one (queued for the scheduler,
``conf`` validated against the target DAG's params, run type ``manual``), through
:mod:`headwater.authoring.dag_runs_access`. The triggered run's id is pushed as the XCom
``trigger_run_id`` (and the DAG id as ``trigger_dag_id``). Example::

    TriggerDagRunOperator(
        task_id="train",
        trigger_dag_id="training",
        conf={"features": "{{ ds }}"},
        wait_for_completion=True,
        poke_interval=30,
        deferrable=True,
    )

With ``wait_for_completion`` the task ends when the run does: it succeeds when the run ends
in one of ``allowed_states`` (``["success"]``) and fails when it ends in one of
``failed_states`` (``["failed"]``). It polls every ``poke_interval`` seconds in its worker,
or with ``deferrable=True`` waits in the triggerer without holding a worker slot.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from headwater.authoring.dag_runs_access import (
    DAG_RUN_STATES,
    DagRunAlreadyExists,
    DagRunInfo,
    check_states,
    dag_runs_access,
)
from headwater.authoring.operator import BaseOperator
from headwater.exceptions import DagDefinitionError, HeadwaterError, TaskSkipped

XCOM_RUN_ID = "trigger_run_id"
XCOM_DAG_ID = "trigger_dag_id"


class TriggeredRunFailed(HeadwaterError):
    """The run a ``TriggerDagRunOperator`` waited for ended in one of its ``failed_states``."""


class TriggerDagRunOperator(BaseOperator):
    """Triggers a run of ``trigger_dag_id`` (templated, as are ``trigger_run_id``,
    ``logical_date``, ``conf``, ``wait_for_completion`` and ``skip_when_already_exists``).

    * ``trigger_run_id``: the new run's id (default ``manual__<logical date>``);
    * ``logical_date``: a datetime or an ISO 8601 text (default: now);
    * ``reset_dag_run``: when a run with that id exists, clear it so it runs again (its
      conf is kept) instead of failing;
    * ``skip_when_already_exists``: when it exists, end this task skipped instead;
    * ``wait_for_completion``, ``poke_interval`` (seconds, default 60), ``allowed_states``,
      ``failed_states``, ``deferrable``: see the module's docstring.
    """

    template_fields: Sequence[str] = (
        "trigger_dag_id",
        "trigger_run_id",
        "logical_date",
        "conf",
        "wait_for_completion",
        "skip_when_already_exists",
    )
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: float | timedelta = 60,
        allowed_states: Sequence[str] | None = None,
        failed_states: Sequence[str] | None = None,
        skip_when_already_exists: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(trigger_dag_id, str) or not trigger_dag_id:
            raise DagDefinitionError(
                f"task {self.task_id!r}: trigger_dag_id must be a DAG id, not {trigger_dag_id!r}"
            )
        if logical_date is not None and not isinstance(logical_date, str | datetime):
            raise DagDefinitionError(
                f"task {self.task_id!r}: logical_date must be a datetime or an ISO 8601 text, "
                f"not {type(logical_date).__name__}"
            )
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf
        self.logical_date = logical_date
        self.reset_dag_run = bool(reset_dag_run)
        self.wait_for_completion = wait_for_completion
        self.poke_interval = _seconds(poke_interval, self.task_id)
        self.allowed_states = check_states(
            allowed_states, DAG_RUN_STATES, "allowed_states", self.task_id
        ) or ["success"]
        self.failed_states = (
            ["failed"]
            if failed_states is None
            else check_states(failed_states, DAG_RUN_STATES, "failed_states", self.task_id)
        )
        self.skip_when_already_exists = skip_when_already_exists
        self.deferrable = bool(deferrable)

    def execute(self, context: dict[str, Any]) -> None:
        run = self._trigger(context)
        ti = context["ti"]
        ti.xcom_push(XCOM_RUN_ID, run.run_id)
        ti.xcom_push(XCOM_DAG_ID, self.trigger_dag_id)
        if not _truthy(self.wait_for_completion):
            return
        if self.deferrable:
            from headwater.triggers.external_task import DagStateTrigger

            self.defer(
                trigger=DagStateTrigger(
                    dag_id=self.trigger_dag_id,
                    run_ids=[run.run_id],
                    states=[*self.allowed_states, *self.failed_states],
                    poll_interval=self.poke_interval,
                ),
                method_name="execute_complete",
            )
        self._wait(context, run)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        """Resumed when the :class:`~headwater.triggers.external_task.DagStateTrigger`
        fired: ``event`` holds the state of the triggered run."""
        states = dict((event or {}).get("states") or {})
        if not states:
            raise HeadwaterError(f"task {self.task_id!r} resumed without the triggered run's state")
        for run_id, state in states.items():
            if not self._check_end(run_id, state):
                raise TriggeredRunFailed(
                    f"run {run_id!r} of DAG {self.trigger_dag_id!r} is {state}, not "
                    f"{' or '.join(self.allowed_states)}"
                )

    def _trigger(self, context: dict[str, Any]) -> DagRunInfo:
        access = dag_runs_access()
        when = _logical_date(self.logical_date, self.task_id)
        conf = self.conf
        if conf is not None and not isinstance(conf, dict):
            raise HeadwaterError(
                f"task {self.task_id!r}: conf must be a dict, not {type(conf).__name__}"
            )
        log = context["ti"].log
        try:
            run = access.trigger_run(
                self.trigger_dag_id,
                run_id=str(self.trigger_run_id) if self.trigger_run_id else None,
                conf=conf,
                logical_date=when,
            )
        except DagRunAlreadyExists as exc:
            if self.reset_dag_run:
                log.info("Clearing run %s of DAG %s", exc.run.run_id, self.trigger_dag_id)
                return access.clear_run(self.trigger_dag_id, exc.run.run_id)
            if _truthy(self.skip_when_already_exists):
                raise TaskSkipped(
                    f"DAG {self.trigger_dag_id!r} already has run {exc.run.run_id!r} "
                    "(skip_when_already_exists)"
                ) from None
            raise DagRunAlreadyExists(
                f"{exc}: task {self.task_id!r} does not trigger it again (reset_dag_run=True "
                "would clear it to run again, skip_when_already_exists=True would skip)",
                exc.run,
            ) from None
        log.info("Triggered run %s of DAG %s", run.run_id, self.trigger_dag_id)
        return run

    def _wait(self, context: dict[str, Any], run: DagRunInfo) -> None:
        access = dag_runs_access()
        log = context["ti"].log
        while True:
            current = access.get_run(self.trigger_dag_id, run.run_id)
            if current is None:
                raise HeadwaterError(
                    f"run {run.run_id!r} of DAG {self.trigger_dag_id!r} was deleted while "
                    f"task {self.task_id!r} waited for it"
                )
            if self._check_end(current.run_id, current.state):
                return
            log.info(
                "Waiting for run %s of DAG %s (%s) to be %s; checking again in %g s",
                run.run_id,
                self.trigger_dag_id,
                current.state,
                " or ".join(self.allowed_states),
                self.poke_interval,
            )
            time.sleep(self.poke_interval)

    def _check_end(self, run_id: str, state: str) -> bool:
        """True when ``state`` is allowed; raises when it is a failed one."""
        if state in self.failed_states:
            raise TriggeredRunFailed(
                f"run {run_id!r} of DAG {self.trigger_dag_id!r} ended {state} "
                f"(failed_states: {', '.join(self.failed_states)})"
            )
        return state in self.allowed_states


def _truthy(value: Any) -> bool:
    """A templated flag: a rendered ``"False"`` is false."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "none")
    return bool(value)


def _logical_date(value: str | datetime | None, task_id: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise HeadwaterError(
            f"task {task_id!r}: logical_date {value!r} is not an ISO 8601 date and time"
        ) from None
    if parsed.tzinfo is None:
        raise HeadwaterError(f"task {task_id!r}: logical_date {value!r} has no time zone")
    return parsed


def _seconds(value: float | timedelta, task_id: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        raise DagDefinitionError(
            f"task {task_id!r}: poke_interval must be seconds >= 0 or a timedelta, not {value!r}"
        )
    return float(seconds)
