"""Choosing the task instances people clear or mark: the named tasks (and those downstream
of them), loaded through the engine, with queued and running ones refused."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from headwater.authoring.setup_teardown import setups_and_teardowns_to_clear
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.states import BUSY_STATES
from headwater.operations._stored import require_run, stored_dag, xcoms_for
from headwater.operations.errors import ConflictError, InvalidRequestError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import TaskInstance
    from headwater.store.ports import Store


def load_run(store: Store, dag_id: str, run_id: str, *, action: str) -> DagRunEngine:
    """The engine of a stored run, as stored (the scheduler matches it to its DAG when it
    reloads it); ``action`` names what was refused if the DAG or run is unknown."""
    _, dag = stored_dag(store, dag_id, action=action)
    require_run(store, dag_id, run_id)
    return DagRunEngine.load_as_stored(dag, store, xcoms_for(store), dag_id, run_id)


def chosen_instances(
    engine: DagRunEngine,
    task_ids: Iterable[str],
    *,
    downstream: bool,
    verb: str,
    upstream: bool = False,
    map_index: int | None = None,
    with_setups: bool = False,
) -> list[TaskInstance]:
    """The instances of ``task_ids`` (and of every task below them if ``downstream``, above
    them if ``upstream``), in dependency order; raises for an empty list or an unknown task
    id (naming it). ``with_setups`` (clearing) adds the setups whose scope they are in,
    and those setups' teardowns. ``map_index`` narrows the named tasks to that one instance (a task
    without it is refused, naming the indexes it has); their relatives keep all of theirs."""
    dag = engine.dag
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        raise InvalidRequestError(f"task_ids: name at least one task to {verb}")
    chosen = {dag.get_task(task_id).task_id for task_id in wanted}  # unknown ids raise
    for task_id in wanted:
        if downstream:
            chosen.update(t.task_id for t in dag.task_dict[task_id].get_flat_relatives())
        if upstream:
            chosen.update(t.task_id for t in dag.task_dict[task_id].get_flat_relatives(True))
    if with_setups:  # clearing: the setups of their scopes and teardowns go with them
        chosen.update(setups_and_teardowns_to_clear(dag, chosen))
    if map_index is not None:
        for task_id in wanted:
            _require_map_index(engine, task_id, map_index)
    return [
        ti
        for task_id in _topological(dag)
        if task_id in chosen
        for index, ti in sorted(engine.instances_of(task_id).items())
        if map_index is None or task_id not in wanted or index == map_index
    ]


def _require_map_index(engine: DagRunEngine, task_id: str, map_index: int) -> None:
    indexes = sorted(engine.instances_of(task_id))
    if map_index not in indexes:
        raise InvalidRequestError(
            f"map_index: task {task_id!r} has no map index {map_index}; "
            f"its map indexes: {', '.join(map(str, indexes)) or 'none'}"
        )


def refuse_busy(tis: Iterable[TaskInstance], *, verb: str) -> None:
    """Raise a ConflictError naming the instances an executor holds (queued or running):
    what it reports when the attempt ends would overwrite the change."""
    busy = [ti for ti in tis if ti.state in BUSY_STATES]
    if busy:
        names = ", ".join(f"{ti.key.label!r} ({ti.state.value})" for ti in busy)
        raise ConflictError(
            f"cannot {verb} task instances that are queued or running: {names}; "
            f"wait until they end, then {verb} them"
        )


def describe(verb: str, labels: list[str], flags: dict[str, bool]) -> str:
    """The event log's detail: ``cleared a, b (downstream)``."""
    text = f"{verb} " + ", ".join(labels)
    on = [name for name, value in flags.items() if value]
    return f"{text} ({', '.join(on)})" if on else text


def _topological(dag: DAG) -> list[str]:
    return [task.task_id for task in dag.topological_sort()]
