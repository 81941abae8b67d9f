"""Choosing the task instances people clear or mark: the named tasks (and those downstream
of them), loaded through the engine, with queued and running ones refused."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

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
    engine: DagRunEngine, task_ids: Iterable[str], *, downstream: bool, verb: str
) -> list[TaskInstance]:
    """The instances of ``task_ids`` (and of every task below them if ``downstream``), in
    dependency order; raises for an empty list or an unknown task id (naming it)."""
    dag = engine.dag
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        raise InvalidRequestError(f"task_ids: name at least one task to {verb}")
    chosen = {dag.get_task(task_id).task_id for task_id in wanted}  # unknown ids raise
    if downstream:
        for task_id in wanted:
            chosen.update(t.task_id for t in dag.task_dict[task_id].get_flat_relatives())
    return [
        ti
        for task_id in _topological(dag)
        if task_id in chosen
        for _, ti in sorted(engine.instances_of(task_id).items())
    ]


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
