"""Clearing task instances so they run again (``headwater tasks clear``), Airflow's way.

A cleared instance goes back to state ``none`` with its XComs deleted and its retries
reset (``max_tries = try_number + retries + 1``: it gets all its retries again, and its
attempt history and try numbers are kept). A mapped task whose instances are all cleared is
replaced by one fresh placeholder (``map_index -1``), so it expands again from its
upstream's new output; when only some of its instances are cleared (``only_failed``), just
those run again, without expanding. The run goes back to ``queued`` (``start_date`` and
``end_date`` cleared), and the scheduler reloads it from the database and runs what is not
finished. Instances that are queued or running are refused: wait for them to end first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine.records import TaskInstance, TaskInstanceKey
from headwater.engine.states import FAILED_STATES, DagRunState, TaskInstanceState
from headwater.operations._stored import require_run, stored_dag
from headwater.operations.errors import ConflictError, InvalidRequestError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.store.ports import Store

S = TaskInstanceState
_BUSY = (S.QUEUED, S.RUNNING)


def task_instances_to_clear(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    *,
    downstream: bool = False,
    only_failed: bool = False,
) -> list[TaskInstance]:
    """The instances :func:`clear_task_instances` would clear, in dependency order.

    Raises for an unknown DAG, run or task id, and when one of them is queued or running.
    """
    return _select(store, dag_id, run_id, task_ids, downstream, only_failed)[2]


def clear_task_instances(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    *,
    downstream: bool = False,
    only_failed: bool = False,
    now: datetime,
) -> list[TaskInstanceKey]:
    """Clear ``task_ids`` of one run (with every task downstream of them if ``downstream``;
    only instances that failed or are upstream_failed if ``only_failed``) so they run again.

    Returns the keys of the instances cleared, in dependency order (none: nothing changed).
    One unit of work: XComs deleted, instances reset, the run queued, a ``clear`` event
    logged, all or nothing. Example::

        clear_task_instances(store, "etl", run_id, ["load"], downstream=True, now=now)
    """
    dag, run_tis, selected = _select(store, dag_id, run_id, task_ids, downstream, only_failed)
    if not selected:
        return []
    run = require_run(store, dag_id, run_id)
    by_task: dict[str, list[TaskInstance]] = {}
    for ti in selected:
        by_task.setdefault(ti.task_id, []).append(ti)
    all_by_task: dict[str, int] = {}
    for ti in run_tis:
        all_by_task[ti.task_id] = all_by_task.get(ti.task_id, 0) + 1
    saved: list[TaskInstance] = []
    deleted: list[TaskInstanceKey] = []
    for task_id, tis in by_task.items():
        task = dag.task_dict[task_id]
        if task.is_mapped and len(tis) == all_by_task[task_id]:
            # Every instance: expand again, from what the upstream tasks produce next time.
            # The placeholder keeps the most tries any instance had: expanding again, each
            # instance goes on from its own last try, so no attempt (or its log) is overwritten.
            deleted += [ti.key for ti in tis if ti.map_index >= 0]
            placeholder = _placeholder(dag, run_id, task)
            placeholder.try_number = max(ti.try_number for ti in tis)
            saved.append(_reset(placeholder, task))
        else:
            saved += [_reset(ti, task) for ti in tis]
    run.state = DagRunState.QUEUED
    run.start_date = None
    run.end_date = None
    keys = [ti.key for ti in selected]
    with store.unit_of_work() as uow:
        for ti in selected:
            uow.clear_xcoms(ti.key)
        uow.save_task_instances(saved, delete=deleted)
        uow.save_dag_run(run)
        uow.record_event(
            "clear",
            at=now,
            dag_id=dag_id,
            run_id=run_id,
            task_id=keys[0].task_id if len(by_task) == 1 else None,
            detail=_describe(keys, downstream=downstream, only_failed=only_failed),
        )
    return keys


def _select(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    downstream: bool,
    only_failed: bool,
) -> tuple[DAG, list[TaskInstance], list[TaskInstance]]:
    _, dag = stored_dag(store, dag_id, action="clear tasks of")
    require_run(store, dag_id, run_id)
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        raise InvalidRequestError("task_ids: name at least one task to clear")
    chosen = {dag.get_task(task_id).task_id for task_id in wanted}  # unknown ids raise
    if downstream:
        for task_id in wanted:
            chosen.update(t.task_id for t in dag.task_dict[task_id].get_flat_relatives())
    run_tis = store.get_task_instances(dag_id, run_id)
    order = {t.task_id: i for i, t in enumerate(dag.topological_sort())}
    selected = [
        ti
        for ti in run_tis
        if ti.task_id in chosen and (not only_failed or ti.state in FAILED_STATES)
    ]
    selected.sort(key=lambda ti: (order[ti.task_id], ti.map_index))
    busy = [ti for ti in selected if ti.state in _BUSY]
    if busy:
        names = ", ".join(f"{ti.key.label!r} ({ti.state.value})" for ti in busy)
        raise ConflictError(
            f"cannot clear task instances that are queued or running: {names}; "
            "wait until they end, then clear them"
        )
    return dag, [ti for ti in run_tis if ti.task_id in dag.task_dict], selected


def _placeholder(dag: DAG, run_id: str, task: BaseOperator) -> TaskInstance:
    return TaskInstance(dag_id=dag.dag_id, run_id=run_id, task_id=task.task_id, map_index=-1)


def _reset(ti: TaskInstance, task: BaseOperator) -> TaskInstance:
    """``ti`` waiting to run again, with all its retries, and the task's current settings."""
    ti.state = S.NONE
    ti.max_tries = ti.try_number + task.retries + 1
    ti.start_date = ti.end_date = ti.next_retry_at = None
    ti.error = None
    ti.priority_weight = task.priority_weight
    ti.pool = task.pool
    ti.pool_slots = task.pool_slots
    ti.queue = task.queue
    return ti


def _describe(keys: list[TaskInstanceKey], *, downstream: bool, only_failed: bool) -> str:
    flags = [name for name, on in (("downstream", downstream), ("only_failed", only_failed)) if on]
    text = "cleared " + ", ".join(key.label for key in keys)
    return f"{text} ({', '.join(flags)})" if flags else text
