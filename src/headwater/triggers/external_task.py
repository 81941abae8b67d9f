"""Waiting on other DAGs' runs in the triggerer: :class:`WorkflowTrigger` (what a deferrable
``ExternalTaskSensor`` waits on) and :class:`DagStateTrigger` (what a deferrable
``TriggerDagRunOperator`` waits on).

Both poll the metadata database through :mod:`headwater.authoring.dag_runs_access` every
``poll_interval`` seconds, in a thread (the reads block; the triggerer's event loop must
not), and fire once with a JSON payload. They hold only JSON values, so the triggerer
builds them again after a restart. :class:`ExternalStateCheck` is the condition itself,
which the poking sensor uses too, so both modes decide alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headwater.authoring.dag_runs_access import DagRunsAccess, dag_runs_access
from headwater.triggers.base import BaseTrigger, TriggerEvent, trigger_classpath

SUCCESS, FAILED, SKIPPED = "success", "failed", "skipped"


@dataclass(frozen=True)
class ExternalStateCheck:
    """Whether the runs of ``dag_id`` at ``logical_dates`` are where a sensor waits for them.

    Without ``task_ids`` the DAG runs themselves are looked at (their states); with them,
    every instance (each map index) of those tasks in those runs. :meth:`status` is
    ``"failed"`` when one is in ``failed_states``, else ``"skipped"`` when one is in
    ``skipped_states``, else ``"success"`` when, at every logical date, a run has all of
    them in ``allowed_states``; None while it waits.
    """

    dag_id: str
    logical_dates: tuple[datetime, ...]
    task_ids: tuple[str, ...] = ()
    allowed_states: tuple[str, ...] = (SUCCESS,)
    failed_states: tuple[str, ...] = ()
    skipped_states: tuple[str, ...] = ()

    def status(self, access: DagRunsAccess) -> str | None:
        by_date = self._states_by_date(access)
        seen = [state for runs in by_date.values() for states in runs.values() for state in states]
        if any(state in self.failed_states for state in seen):
            return FAILED
        if any(state in self.skipped_states for state in seen):
            return SKIPPED
        allowed = set(self.allowed_states)
        for when in self.logical_dates:
            runs = by_date.get(when, {})
            if not any(states and set(states) <= allowed for states in runs.values()):
                return None
        return SUCCESS

    def _states_by_date(self, access: DagRunsAccess) -> dict[datetime, dict[str, list[str]]]:
        """``{logical date: {run id: [the states looked at]}}``."""
        found: dict[datetime, dict[str, list[str]]] = {}
        if not self.task_ids:
            for run in access.runs_at(self.dag_id, self.logical_dates):
                found.setdefault(run.logical_date, {})[run.run_id] = [run.state]
            return found
        for ti in access.task_instances_at(self.dag_id, self.logical_dates, self.task_ids):
            found.setdefault(ti.logical_date, {}).setdefault(ti.run_id, []).append(ti.state)
        # A run missing one of the tasks (not created yet, or a task added since) waits.
        for runs in found.values():
            for run_id in list(runs):
                if len(runs[run_id]) < len(self.task_ids):
                    runs[run_id] = []
        return found

    def describe(self) -> str:
        dates = ", ".join(when.isoformat() for when in self.logical_dates)
        what = f"tasks {', '.join(self.task_ids)} of DAG" if self.task_ids else "DAG"
        return f"{what} {self.dag_id!r} at {dates}"


class WorkflowTrigger(BaseTrigger):
    """Fires when the external tasks (or the external DAG's runs) at ``logical_dates`` reach
    ``allowed_states`` (``{"status": "success"}``), one of ``failed_states`` (``"failed"``)
    or ``skipped_states`` (``"skipped"``). ``external_task_group_id`` names a group of the
    external DAG: every task in it. Example::

        WorkflowTrigger(external_dag_id="features", logical_dates=[ds],
                        external_task_ids=["publish"], poll_interval=30)
    """

    def __init__(
        self,
        *,
        external_dag_id: str,
        logical_dates: Sequence[datetime | str],
        external_task_ids: Sequence[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Sequence[str] | None = None,
        failed_states: Sequence[str] | None = None,
        skipped_states: Sequence[str] | None = None,
        poll_interval: float = 2.0,
    ) -> None:
        self.external_dag_id = external_dag_id
        self.logical_dates = [_moment(when) for when in logical_dates]
        self.external_task_ids = list(external_task_ids or [])
        self.external_task_group_id = external_task_group_id
        self.allowed_states = list(allowed_states or [SUCCESS])
        self.failed_states = list(failed_states or [])
        self.skipped_states = list(skipped_states or [])
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {
                "external_dag_id": self.external_dag_id,
                "logical_dates": [when.isoformat() for when in self.logical_dates],
                "external_task_ids": self.external_task_ids,
                "external_task_group_id": self.external_task_group_id,
                "allowed_states": self.allowed_states,
                "failed_states": self.failed_states,
                "skipped_states": self.skipped_states,
                "poll_interval": self.poll_interval,
            },
        )

    def check(self, access: DagRunsAccess) -> ExternalStateCheck:
        task_ids = tuple(self.external_task_ids)
        if self.external_task_group_id is not None:
            shape = access.dag_shape(self.external_dag_id)
            group = None if shape is None else shape.task_groups.get(self.external_task_group_id)
            task_ids = tuple(sorted(group or ()))
            if not task_ids:  # the group is unknown or empty: wait (the sensor checks existence)
                task_ids = (f"{self.external_task_group_id}.<no task>",)
        return ExternalStateCheck(
            self.external_dag_id,
            tuple(self.logical_dates),
            task_ids,
            tuple(self.allowed_states),
            tuple(self.failed_states),
            tuple(self.skipped_states),
        )

    def poll(self) -> str | None:
        """One look (blocking): the status, or None while waiting."""
        access = dag_runs_access()
        return self.check(access).status(access)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            status = await asyncio.to_thread(self.poll)
            if status is not None:
                yield TriggerEvent({"status": status})
                return
            await asyncio.sleep(self.poll_interval)


class DagStateTrigger(BaseTrigger):
    """Fires when every run ``run_ids`` of ``dag_id`` is in one of ``states`` (or was
    deleted), with ``{"dag_id", "run_ids", "states": {run_id: state}}`` (a deleted run's
    state is ``"deleted"``)."""

    def __init__(
        self,
        *,
        dag_id: str,
        run_ids: Sequence[str],
        states: Sequence[str],
        poll_interval: float = 5.0,
    ) -> None:
        self.dag_id = dag_id
        self.run_ids = list(run_ids)
        self.states = list(states)
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            trigger_classpath(self),
            {
                "dag_id": self.dag_id,
                "run_ids": self.run_ids,
                "states": self.states,
                "poll_interval": self.poll_interval,
            },
        )

    def poll(self) -> dict[str, str] | None:
        """One look (blocking): every run's state once all are in ``states``, else None."""
        access = dag_runs_access()
        found: dict[str, str] = {}
        for run_id in self.run_ids:
            run = access.get_run(self.dag_id, run_id)
            found[run_id] = "deleted" if run is None else run.state
        if all(state in self.states or state == "deleted" for state in found.values()):
            return found
        return None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            states = await asyncio.to_thread(self.poll)
            if states is not None:
                yield TriggerEvent(
                    {"dag_id": self.dag_id, "run_ids": self.run_ids, "states": states}
                )
                return
            await asyncio.sleep(self.poll_interval)


def _moment(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"logical date {moment.isoformat()} has no time zone")
    return moment
