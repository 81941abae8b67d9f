"""Clearing or marking a whole DAG run (the REST API's and web UI's run actions), on top of
the task-level rules of :mod:`~headwater.operations.clearing` and
:mod:`~headwater.operations.marking`, so each rule lives once.

* Clearing a run clears every task instance of it (``only_failed``: those failed or
  upstream_failed), exactly as ``headwater tasks clear`` with every task id would.
* Marking a run ``success`` marks each of its instances that did not succeed (skipped and
  removed ones are left as they are) success; marking it ``failed`` marks its unfinished
  instances failed (Airflow's "Mark run failed"), so the run ends failed. The run's state
  follows from its instances, through the engine, as for marked tasks: a finished run
  takes its new state at once; a run that had not finished goes back to ``queued`` and the
  scheduler ends it on its next pass (the engine's rules let only the scheduler end a run
  that was not running to its end).

Queued and running instances are refused (a ``ConflictError`` naming them), as the task
actions refuse them. Each has a ``*_preview`` twin that answers what would change and
changes nothing (the API's ``dry_run``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine import manual_changes
from headwater.engine.states import UNFINISHED_STATES, TaskInstanceState
from headwater.operations._selection import chosen_instances, describe, load_run, refuse_busy
from headwater.operations._stored import stored_dag
from headwater.operations.actors import current_actor
from headwater.operations.clearing import clear_task_instances, task_instances_to_clear
from headwater.operations.errors import InvalidRequestError
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import TaskInstance, TaskInstanceKey
    from headwater.store.ports import Store

S = TaskInstanceState

_LEFT_BY_MARK_SUCCESS = frozenset({S.SUCCESS, S.SKIPPED, S.REMOVED})


def run_instances_to_clear(
    store: Store, dag_id: str, run_id: str, *, only_failed: bool = False
) -> list[TaskInstance]:
    """The instances :func:`clear_run` would clear, in dependency order."""
    return task_instances_to_clear(
        store, dag_id, run_id, _task_ids(store, dag_id), only_failed=only_failed
    )


def clear_run(
    store: Store, dag_id: str, run_id: str, *, only_failed: bool = False, now: datetime
) -> list[TaskInstanceKey]:
    """Clear every instance of the run (only the failed ones with ``only_failed``) so they
    run again; returns the keys cleared (none: nothing changed). Example::

        clear_run(store, "etl", "manual__2024-01-01", only_failed=True, now=now)
    """
    return clear_task_instances(
        store, dag_id, run_id, _task_ids(store, dag_id), only_failed=only_failed, now=now
    )


def run_instances_to_mark(
    store: Store, dag_id: str, run_id: str, state: TaskInstanceState | str
) -> list[TaskInstance]:
    """The instances :func:`mark_run` would mark ``state``, in dependency order."""
    target = _run_mark_state(state)
    return _to_mark(load_run(store, dag_id, run_id, action="mark"), target)


def mark_run(
    store: Store, dag_id: str, run_id: str, state: TaskInstanceState | str, *, now: datetime
) -> list[TaskInstanceKey]:
    """Mark the run ``state`` (``"success"`` or ``"failed"``) through its instances (see
    the module's docstring); returns the keys whose state changed. One unit of work: the
    instances, the run, a ``mark`` event."""
    target = _run_mark_state(state)
    with store.unit_of_work() as uow:
        engine = load_run(uow, dag_id, run_id, action="mark")
        changing = _to_mark(engine, target)
        if not changing:
            return []
        manual_changes.mark(engine, [(ti.task_id, ti.map_index) for ti in changing], target, now)
        keys = [ti.key for ti in changing]
        uow.record_event(
            "mark",
            at=now,
            dag_id=dag_id,
            run_id=run_id,
            state=target.value,
            detail=describe(f"marked run {target.value}:", [key.label for key in keys], {}),
            actor=current_actor(),
        )
    return keys


def _task_ids(store: Store, dag_id: str) -> list[str]:
    _, dag = stored_dag(store, dag_id, action="clear")
    return list(dag.task_dict)


def _to_mark(engine: DagRunEngine, target: TaskInstanceState) -> list[TaskInstance]:
    every = chosen_instances(engine, list(engine.dag.task_dict), downstream=False, verb="mark")
    if target is S.SUCCESS:
        chosen = [ti for ti in every if ti.state not in _LEFT_BY_MARK_SUCCESS]
    else:
        chosen = [ti for ti in every if ti.state in UNFINISHED_STATES]
    refuse_busy(chosen, verb="mark")
    return chosen


def _run_mark_state(state: TaskInstanceState | str) -> TaskInstanceState:
    if isinstance(state, str) and state in (S.SUCCESS.value, S.FAILED.value):
        return S(state)
    raise InvalidRequestError(
        f"state {quoted(str(state))} is not valid: mark a run success or failed"
    )
