"""What people do to a run's task instances, through the engine: clear them so they run
again, mark them success or failed (``headwater.operations`` calls these for the CLI).

Each change is a transition of :mod:`headwater.engine.transitions` made by the engine
(rules ``clear``, ``mark_success``, ``mark_failed``; the run's ``rerun`` or ``recompute``),
so it is checked like the engine's own. Queued and running instances are refused before
anything changes: an executor holds them, and the outcome it reports would overwrite the
change (wait for them to end, as Airflow asks). Example::

    engine = DagRunEngine.load_as_stored(dag, store, xcoms, "etl", run_id)
    clear(engine, [("load", -1)], now)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.authoring.weight_rule import effective_weight
from headwater.engine import transitions as rules
from headwater.engine.records import TaskInstance
from headwater.engine.states import FINISHED_RUN_STATES, DagRunState, TaskInstanceState
from headwater.engine.transitions import Rule
from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.dagrun import DagRunEngine

S = TaskInstanceState


def clear(
    engine: DagRunEngine, keys: Iterable[tuple[str, int]], now: datetime
) -> list[TaskInstance]:
    """Reset the instances at ``keys`` (task id, map index) so they run again, Airflow's
    way, commit, and queue the run so the scheduler reloads it.

    Each goes back to ``none`` with its XComs deleted, all its retries again
    (``max_tries = try_number + retries + 1``; its attempts and try numbers are kept) and its
    task's current priority, pool and queue. A mapped task whose every instance is cleared is
    replaced by one placeholder (map index -1) that keeps the most tries any instance had,
    so it expands again from what its upstream tasks produce next, and no attempt (or its
    log) is overwritten. Returns the instances now waiting.
    """
    chosen = _instances_for(engine, keys, S.NONE, rules.CLEAR)
    if not chosen:
        return []
    by_task: dict[str, list[TaskInstance]] = {}
    for ti in chosen:
        by_task.setdefault(ti.task_id, []).append(ti)
        engine.store.clear_xcoms(ti.key)
    waiting = []
    for task_id, tis in by_task.items():
        task = engine.dag.task_dict[task_id]
        if task.is_mapped and len(tis) == len(engine.instances_of(task_id)):
            waiting.append(_replace_with_placeholder(engine, task, tis))
        else:
            for ti in tis:
                _reset(engine, ti, task)
                waiting.append(ti)
    engine._commit()
    engine._transition_run(DagRunState.QUEUED, rules.RUN_RERUN, now)
    return waiting


def mark(
    engine: DagRunEngine,
    keys: Iterable[tuple[str, int]],
    state: TaskInstanceState,
    now: datetime,
) -> list[TaskInstance]:
    """Set the instances at ``keys`` to ``success`` or ``failed`` (Airflow's mark success
    and mark failed), commit, and settle the run.

    Marked success, an instance lets its downstream tasks proceed by their trigger rules;
    marked failed, it fails them as a failed last attempt would. Its retries are not
    changed, a waiting retry is dropped, and its end date is ``now``. ``removed`` instances
    are refused too. A run that still has work to do goes back to ``queued`` for the
    scheduler to reload; a finished run whose instances all stay finished stays finished,
    its state recomputed from its leaves. Returns the instances whose state changed.
    """
    if state is S.SUCCESS:
        rule = rules.MARK_SUCCESS
    elif state is S.FAILED:
        rule = rules.MARK_FAILED
    else:
        raise HeadwaterError(f"state: task instances are marked success or failed, not {state}")
    chosen = [ti for ti in _instances_for(engine, keys, state, rule) if ti.state is not state]
    for ti in chosen:
        ti.next_retry_at = None
        _forget_deferral(ti)
        ti.error = None if state is S.SUCCESS else "marked failed"
        engine._finish(ti, state, now, rule)
    engine._commit()
    if not chosen:
        return []
    if engine.run.state in FINISHED_RUN_STATES and engine.is_finished:
        engine._transition_run(engine._leaves_state(), rules.RUN_RECOMPUTE, now)
    else:
        engine._transition_run(DagRunState.QUEUED, rules.RUN_RERUN, now)
    return chosen


def _instances_for(
    engine: DagRunEngine,
    keys: Iterable[tuple[str, int]],
    state: TaskInstanceState,
    rule: Rule[TaskInstanceState],
) -> list[TaskInstance]:
    """The driven instances at ``keys``, once each, after checking that ``rule`` may move
    every one of them to ``state``: all or nothing."""
    chosen: dict[tuple[str, int], TaskInstance] = {}
    for task_id, map_index in keys:
        ti = engine.instances_of(task_id).get(map_index)
        if ti is None:
            raise HeadwaterError(
                f"run {engine.run.run_id!r} of DAG {engine.dag.dag_id!r} has no task "
                f"instance {task_id!r} at map index {map_index}"
            )
        rules.check(rules.describe(ti), ti.state, state, rule)
        chosen[(task_id, map_index)] = ti
    return list(chosen.values())


def _reset(engine: DagRunEngine, ti: TaskInstance, task: BaseOperator) -> None:
    """``ti`` waiting to run again, with all its retries and its task's current settings
    (uncommitted)."""
    ti.max_tries = ti.try_number + task.retries + 1
    ti.start_date = ti.end_date = ti.next_retry_at = None
    _forget_deferral(ti)
    ti.error = None
    ti.priority_weight = effective_weight(task)
    ti.pool = task.pool
    ti.pool_slots = task.pool_slots
    ti.queue = task.queue
    engine._transition(ti, S.NONE, rules.CLEAR)
    engine._changed[(ti.task_id, ti.map_index)] = ti  # saved even if it was already none


def _forget_deferral(ti: TaskInstance) -> None:
    """Drop how a deferred instance was to resume: its trigger is an orphan from now on
    (the scheduler deletes it; the triggerer never fires it into another try)."""
    ti.next_method = ti.next_kwargs = ti.trigger_timeout = None


def _replace_with_placeholder(
    engine: DagRunEngine, task: BaseOperator, tis: list[TaskInstance]
) -> TaskInstance:
    """Delete a mapped task's instances and give it one placeholder, reset, that keeps the
    most tries any of them had (uncommitted)."""
    tries = max(ti.try_number for ti in tis)
    placeholder = engine.instances_of(task.task_id).get(-1)
    for ti in tis:
        if ti is not placeholder:
            engine._drop(ti)
    if placeholder is None:
        placeholder = engine._new_ti(task, -1)
        engine._add(placeholder)
    placeholder.try_number = tries
    _reset(engine, placeholder, task)
    return placeholder
