"""Marking task instances success or failed (Airflow's "Mark Success" / "Mark Failed").

Marked success, an instance counts as a successful upstream: the tasks below it proceed by
their trigger rules (with ``downstream`` they are marked too). Marked failed, it fails the
tasks below it as a failed last attempt would. Only instances an executor does not hold may
be marked: queued or running ones are refused with a ``ConflictError``, as clearing refuses
them (wait for them to end; their outcome would overwrite the mark). Instances already in
the state, and ``removed`` ones (their task or map index left the DAG), are left as they
are. A run that has work left goes back to ``queued``, and the scheduler reloads it and
goes on; a finished run whose instances all stay finished stays finished, its state
recomputed from its leaf tasks. The changes are the engine's
(:func:`headwater.engine.manual_changes.mark`, rules ``mark_success`` and ``mark_failed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine import manual_changes
from headwater.engine.states import TaskInstanceState
from headwater.operations._selection import chosen_instances, describe, load_run, refuse_busy
from headwater.operations.actors import current_actor
from headwater.operations.errors import InvalidRequestError
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import TaskInstance, TaskInstanceKey
    from headwater.store.ports import Store

S = TaskInstanceState
MARKABLE = (S.SUCCESS, S.FAILED)


def task_instances_to_mark(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    state: TaskInstanceState | str,
    *,
    downstream: bool = False,
    upstream: bool = False,
    map_index: int | None = None,
) -> list[TaskInstance]:
    """The instances :func:`mark_task_instances` would change, in dependency order (its dry
    run: nothing changes). Raises as it does."""
    target = _markable(state)
    engine = load_run(store, dag_id, run_id, action="mark tasks of")
    return _changing(engine, task_ids, target, downstream, upstream, map_index)


def mark_task_instances(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    state: TaskInstanceState | str,
    *,
    downstream: bool = False,
    upstream: bool = False,
    map_index: int | None = None,
    now: datetime,
) -> list[TaskInstanceKey]:
    """Mark every instance of ``task_ids`` in one run (and of every task downstream of them
    if ``downstream``, upstream if ``upstream``; only map index ``map_index`` of the named
    tasks if given) ``state``: ``"success"`` or ``"failed"``.

    Returns the keys of the instances whose state changed, in dependency order (none:
    nothing changed). Committed in one unit of work: the instances, the run, a ``mark``
    event. Example::

        mark_task_instances(store, "etl", run_id, ["load"], "success", now=now)
    """
    target = _markable(state)
    # One unit of work: the engine's changes and the event that says who made them.
    with store.unit_of_work() as uow:
        engine = load_run(uow, dag_id, run_id, action="mark tasks of")
        changing = _changing(engine, task_ids, target, downstream, upstream, map_index)
        if not changing:
            return []
        manual_changes.mark(engine, [(ti.task_id, ti.map_index) for ti in changing], target, now)
        uow.delete_orphan_triggers()  # a marked deferred instance's trigger never fires
        keys = [ti.key for ti in changing]
        uow.record_event(
            "mark",
            at=now,
            dag_id=dag_id,
            run_id=run_id,
            task_id=keys[0].task_id if len({key.task_id for key in keys}) == 1 else None,
            state=target.value,
            detail=describe(
                f"marked {target.value}",
                [key.label for key in keys],
                {"downstream": downstream, "upstream": upstream},
            ),
            actor=current_actor(),
        )
    return keys


def _changing(
    engine: DagRunEngine,
    task_ids: Iterable[str],
    target: TaskInstanceState,
    downstream: bool,
    upstream: bool,
    map_index: int | None,
) -> list[TaskInstance]:
    """The chosen instances a mark changes: busy ones refused, those already in the state
    and removed ones left alone."""
    chosen = chosen_instances(
        engine,
        task_ids,
        downstream=downstream,
        upstream=upstream,
        map_index=map_index,
        verb="mark",
    )
    refuse_busy(chosen, verb="mark")
    return [ti for ti in chosen if ti.state not in (target, S.REMOVED)]


def _markable(state: TaskInstanceState | str) -> TaskInstanceState:
    if isinstance(state, str) and state in {s.value for s in MARKABLE}:
        return S(state)
    raise InvalidRequestError(
        f"state {quoted(str(state))} is not valid: mark task instances success or failed"
    )
