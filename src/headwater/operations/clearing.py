"""Clearing task instances so they run again (``headwater tasks clear``), Airflow's way.

A cleared instance goes back to state ``none`` with its XComs deleted and its retries
reset (``max_tries = try_number + retries + 1``: it gets all its retries again, and its
attempt history and try numbers are kept). A mapped task whose instances are all cleared is
replaced by one fresh placeholder (``map_index -1``), so it expands again from its
upstream's new output; when only some of its instances are cleared (``only_failed``), just
those run again, without expanding. The run goes back to ``queued`` (``start_date`` and
``end_date`` cleared), and the scheduler reloads it from the database and runs what is not
finished. Instances that are queued or running are refused: wait for them to end first.
The changes are the engine's (:func:`headwater.engine.manual_changes.clear`, rule ``clear``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine import manual_changes
from headwater.engine.states import FAILED_STATES
from headwater.operations._selection import chosen_instances, describe, load_run, refuse_busy
from headwater.operations.actors import current_actor
from headwater.operations.dependent_dags import RunToClear, with_dependents

if TYPE_CHECKING:
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import TaskInstance, TaskInstanceKey
    from headwater.store.ports import Store


def task_instances_to_clear(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    *,
    downstream: bool = False,
    only_failed: bool = False,
    upstream: bool = False,
    map_index: int | None = None,
    include_dependent_dags: bool = False,
) -> list[TaskInstance]:
    """The instances :func:`clear_task_instances` would clear, in dependency order (its
    dry run: nothing changes); with ``include_dependent_dags``, those of the other runs
    after them, run by run.

    Raises for an unknown DAG, run, task id or map index, and when one of them is queued or
    running.
    """
    chosen = _Choice(task_ids, downstream, upstream, only_failed, map_index)
    engine, selected = _select(store, dag_id, run_id, chosen)
    if not include_dependent_dags or not selected:
        return selected
    runs = with_dependents(store, engine, selected, only_failed=only_failed)
    return [ti for run in runs for ti in run.instances]


def clear_task_instances(
    store: Store,
    dag_id: str,
    run_id: str,
    task_ids: Iterable[str],
    *,
    downstream: bool = False,
    only_failed: bool = False,
    upstream: bool = False,
    map_index: int | None = None,
    include_dependent_dags: bool = False,
    now: datetime,
) -> list[TaskInstanceKey]:
    """Clear ``task_ids`` of one run (with every task downstream of them if ``downstream``,
    upstream if ``upstream``; only instances that failed or are upstream_failed if
    ``only_failed``; only map index ``map_index`` of the named tasks if given) so they run
    again. With ``include_dependent_dags``, the tasks of other DAGs that the markers
    (``ExternalTaskMarker``) among them name are cleared too, with their downstream
    tasks, and their runs queued (:mod:`~headwater.operations.dependent_dags`).

    Returns the keys of the instances cleared, in dependency order (none: nothing changed).
    One unit of work: XComs deleted, instances reset, the run queued, a ``clear`` event
    logged, all or nothing. Example::

        clear_task_instances(store, "etl", run_id, ["load"], downstream=True, now=now)
    """
    # One unit of work: the engine's changes and the event that says who made them.
    chosen = _Choice(task_ids, downstream, upstream, only_failed, map_index)
    with store.unit_of_work() as uow:
        engine, selected = _select(uow, dag_id, run_id, chosen)
        if not selected:
            return []
        runs = [RunToClear(engine, selected)]
        if include_dependent_dags:
            runs = with_dependents(uow, engine, selected, only_failed=only_failed)
        keys: list[TaskInstanceKey] = []
        for run in runs:
            tis = run.instances
            manual_changes.clear(run.engine, [(ti.task_id, ti.map_index) for ti in tis], now)
            run_keys = [ti.key for ti in tis]
            _record(uow, run.engine.run.dag_id, run.engine.run.run_id, run_keys, now, chosen)
            keys.extend(run_keys)
        uow.delete_orphan_triggers()  # a cleared deferred instance's trigger never fires
    return keys


@dataclass(frozen=True)
class _Choice:
    """Which instances a clear names: tasks, their relatives, a filter."""

    task_ids: Iterable[str]
    downstream: bool
    upstream: bool
    only_failed: bool
    map_index: int | None


def _record(
    store: Store,
    dag_id: str,
    run_id: str,
    keys: list[TaskInstanceKey],
    now: datetime,
    chosen: _Choice,
) -> None:
    store.record_event(
        "clear",
        at=now,
        dag_id=dag_id,
        run_id=run_id,
        task_id=keys[0].task_id if len({key.task_id for key in keys}) == 1 else None,
        detail=describe(
            "cleared",
            [key.label for key in keys],
            {
                "downstream": chosen.downstream,
                "upstream": chosen.upstream,
                "only_failed": chosen.only_failed,
            },
        ),
        actor=current_actor(),
    )


def _select(
    store: Store, dag_id: str, run_id: str, chosen: _Choice
) -> tuple[DagRunEngine, list[TaskInstance]]:
    engine = load_run(store, dag_id, run_id, action="clear tasks of")
    named = chosen_instances(
        engine,
        chosen.task_ids,
        downstream=chosen.downstream,
        upstream=chosen.upstream,
        map_index=chosen.map_index,
        verb="clear",
        with_setups=True,
    )
    selected = [ti for ti in named if not chosen.only_failed or ti.state in FAILED_STATES]
    refuse_busy(selected, verb="clear")
    return engine, selected
