"""``depends_on_past`` and ``wait_for_downstream``: a task instance waits for the same task
in the previous run of its DAG (Airflow's rule, ``PrevDagrunDep``).

An instance of a task with ``depends_on_past=True`` may start only when, in the previous
run, every instance of the same task (every map index) ended ``success`` or ``skipped``;
with ``wait_for_downstream=True`` (which implies ``depends_on_past``) the instances of the
task's direct downstream tasks there must have too. Which run is the previous one: the run
of the DAG with the latest logical date before this run's, any run type; for a DAG with
``catchup=True``, manual runs are left out (Airflow's ``get_previous_scheduled_dagrun``).
It passes when

* there is no previous run (the first run, ``dags test``);
* the DAG has ``catchup=True`` and the previous run is older than its ``start_date``;
* the task has no instance in the previous run (it was added since), it has
  ``ignore_first_depends_on_past=True`` (the default) and no earlier run has one either.

Only the decision to *run* waits: a trigger rule that skips the instance, or sets it
``upstream_failed``, still does at once, as in Airflow by default. While it waits the
instance stays ``none`` (like one whose upstream tasks are not done), its ``error`` says why
(``headwater tasks state``, ``dags state``), and every :meth:`~DagRunEngine.schedule`
evaluates it again: the scheduler's next pass starts it once the previous run's instance
ended. The states of the previous run are read through the store port
(:class:`~headwater.engine.ports.PastRunStore`): one query per ``schedule`` of a run that
needs it, for the tasks that ask only. A DAG without these flags reads nothing.
A mapped task waits as a whole (before it expands), since its rule looks at every map index
of the task in the previous run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine.ports import PastInstances
from headwater.engine.run_state import RunState
from headwater.engine.states import TaskInstanceState

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.ports import EngineStore
    from headwater.engine.records import DagRun
    from headwater.engine.xcoms import XComs

log = logging.getLogger(__name__)

S = TaskInstanceState

SUCCESSFUL_STATES = frozenset({S.SUCCESS, S.SKIPPED})
"""What an instance of the previous run must have ended in for this run's to start."""

WAITING_PREFIX = "waiting for the previous run's"
"""How the ``error`` of an instance that waits on the previous run begins."""

_NOT_READ = object()


def past_task_ids(dag: DAG) -> frozenset[str]:
    """The tasks of ``dag`` that depend on the past (``wait_for_downstream`` included)."""
    return frozenset(
        task_id
        for task_id, task in dag.task_dict.items()
        if getattr(task, "depends_on_past", False) or getattr(task, "wait_for_downstream", False)
    )


def skipped_run_types(dag: DAG) -> tuple[str, ...]:
    """Run types that never count as the previous run: manual runs when the DAG catches
    up (its runs follow the schedule), none otherwise, as in Airflow."""
    return ("manual",) if dag.catchup else ()


def _unsuccessful(what: str, run_id: str, states: tuple[TaskInstanceState, ...]) -> str | None:
    """Why ``what`` (its instances in run ``run_id`` being ``states``) holds a task back."""
    bad = [s for s in states if s not in SUCCESSFUL_STATES]
    if not bad:
        return None
    if len(states) == 1:
        return f"{WAITING_PREFIX} instance of {what} (run {run_id!r}, state {bad[0].value})"
    shown = ", ".join(sorted({s.value for s in bad}))
    return (
        f"{WAITING_PREFIX} instances of {what} (run {run_id!r}: {len(bad)} of {len(states)} "
        f"not success or skipped: {shown})"
    )


def wait_reason(
    task: BaseOperator, previous: PastInstances | None, ran_before: bool, dag_start: datetime | None
) -> str | None:
    """Why an instance of ``task`` may not start yet, given the ``previous`` run (None: no
    previous run) and whether the task had instances in any earlier run (``ran_before``,
    read only when asked: see :class:`PastRuns`); None when it may start. ``dag_start``:
    the DAG's start date when it catches up (a previous run before it does not count)."""
    if previous is None:
        return None
    if dag_start is not None and previous.logical_date < dag_start:
        return None
    states = previous.states.get(task.task_id)
    if states is None:  # the task did not exist in the previous run
        if getattr(task, "ignore_first_depends_on_past", True) and not ran_before:
            return None
        return (
            f"{WAITING_PREFIX} instance of {task.task_id!r} (run {previous.run_id!r}, none): "
            "the task has no instance there but ran in earlier runs"
            if ran_before
            else f"{WAITING_PREFIX} instance of {task.task_id!r} (run {previous.run_id!r}, "
            "none): the task has no instance there and ignore_first_depends_on_past is False"
        )
    reason = _unsuccessful(repr(task.task_id), previous.run_id, states)
    if reason is not None or not getattr(task, "wait_for_downstream", False):
        return reason
    for down in sorted(task.downstream_task_ids):
        downstream = previous.states.get(down)
        if downstream is None:
            continue  # not in the previous run: nothing to wait for
        what = f"{down!r}, downstream of {task.task_id!r}"
        reason = _unsuccessful(what, previous.run_id, downstream)
        if reason is not None:
            return f"{reason} (wait_for_downstream)"
    return None


class PastRuns(RunState):
    """The engine's part of ``depends_on_past``: which tasks wait on the previous run and
    why, read once per :meth:`~headwater.engine.dagrun.DagRunEngine.schedule`."""

    def __init__(self, dag: DAG, store: EngineStore, xcoms: XComs, run: DagRun) -> None:
        super().__init__(dag, store, xcoms, run)
        self._past_tasks = past_task_ids(dag)
        """The tasks that depend on the past: empty for most DAGs, which then read nothing."""
        self._past_waiting: dict[str, str] = {}
        """Task id -> why its waiting instances wait on the previous run."""
        self._past_read: object = _NOT_READ
        """What this ``schedule`` read of the previous run (a :class:`PastInstances`, None
        for no previous run), or ``_NOT_READ``."""
        self._ran_before: set[str] | None = None

    def waiting_on_past(self) -> dict[str, str]:
        """The tasks whose instances wait on the previous run, each with why."""
        return dict(self._past_waiting)

    def has_past_waits(self) -> bool:
        """Whether any instance waits on the previous run (cheap: asked on every event)."""
        return bool(self._past_waiting)

    def _begin_past_checks(self) -> None:
        """At the start of a ``schedule``: forget what was read, and evaluate again the tasks
        that wait on the previous run (which may have moved on since)."""
        if not self._past_tasks:
            return
        self._past_read = _NOT_READ
        self._ran_before = None
        for task_id in list(self._past_waiting):
            if self._counts[task_id][S.NONE]:
                self._mark_dirty(task_id)
            else:  # cleared, marked, timed out: it no longer waits
                del self._past_waiting[task_id]

    def _previous(self) -> PastInstances | None:
        """The previous run, with the states of the tasks that depend on the past and their
        direct downstream tasks: one read per ``schedule``."""
        if self._past_read is _NOT_READ:
            wanted = set(self._past_tasks)
            for task_id in self._past_tasks:
                task = self.dag.task_dict[task_id]
                if getattr(task, "wait_for_downstream", False):
                    wanted.update(task.downstream_task_ids)
            self._past_read = self.store.get_previous_run_states(
                self.dag.dag_id,
                self.run.logical_date,
                wanted,
                skip_run_types=skipped_run_types(self.dag),
            )
        assert self._past_read is None or isinstance(self._past_read, PastInstances)
        return self._past_read

    def _had_instances(self, task_id: str) -> bool:
        if self._ran_before is None:
            self._ran_before = self.store.tasks_with_earlier_instances(
                self.dag.dag_id, self.run.logical_date, self._past_tasks
            )
        return task_id in self._ran_before

    def _waits_on_past(self, task: BaseOperator) -> bool:
        """Whether ``task``'s waiting instances must keep waiting on the previous run. Their
        ``error`` says why (uncommitted), and is cleared when the wait ends."""
        task_id = task.task_id
        if task_id not in self._past_tasks:
            return False
        previous = self._previous()
        dag_start = self.dag.start_date if self.dag.catchup else None
        ran_before = False
        if previous is not None and task_id not in previous.states:
            ran_before = self._had_instances(task_id)
        reason = wait_reason(task, previous, ran_before, dag_start)
        waiting = [ti for ti in self._tis[task_id].values() if ti.state is S.NONE]
        if reason is None:
            self._past_waiting.pop(task_id, None)
            for ti in waiting:
                if ti.error is not None and ti.error.startswith(WAITING_PREFIX):
                    ti.error = None
                    self._changed[(ti.task_id, ti.map_index)] = ti
            return False
        if self._past_waiting.get(task_id) != reason:
            log.info("Run %s: %s is %s", self.run.run_id, task_id, reason)
            self._past_waiting[task_id] = reason
        for ti in waiting:
            if ti.error != reason:
                ti.error = reason  # what `tasks state` and `dags state` show
                self._changed[(ti.task_id, ti.map_index)] = ti
        return True
