"""Following markers (``ExternalTaskMarker``) when clearing: the task instances of other
DAGs that depend on what is cleared (Airflow's ``dag.clear(include_dependent_dags=True)``).

For each marker among the instances being cleared, the marker's target is found: its
``external_dag_id``, ``external_task_id`` and ``logical_date`` as its last attempt rendered
them (or rendered now from the stored DAG when it never ran). Every run of that DAG at that
logical date then has the target task cleared **with every task downstream of it**, and
markers among those are followed in turn. The first marker's ``recursion_depth`` bounds how
many DAGs deep this goes: a marker found deeper is an error (a cycle of markers, or too many
levels), and nothing is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.states import FAILED_STATES
from headwater.operations._selection import chosen_instances, load_run, refuse_busy
from headwater.operations.errors import ConflictError, InvalidRequestError
from headwater.shown_text import quoted

if TYPE_CHECKING:
    from headwater.authoring.operator import BaseOperator
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import TaskInstance
    from headwater.store.ports import Store

MARKER_FIELDS = ("external_dag_id", "external_task_id", "logical_date", "recursion_depth")


@dataclass
class RunToClear:
    """One run and the instances of it to clear, in dependency order."""

    engine: DagRunEngine
    instances: list[TaskInstance] = field(default_factory=list)


def with_dependents(
    store: Store,
    engine: DagRunEngine,
    selected: list[TaskInstance],
    *,
    only_failed: bool = False,
) -> list[RunToClear]:
    """``selected`` (instances of ``engine``'s run, first in the answer) and the instances
    of other runs that depend on them through markers, run by run, each in dependency
    order; raises when one of those is queued or running, or past the recursion depth."""
    walk = _Walk(store, engine, selected, only_failed)
    pending: list[tuple[DagRunEngine, list[TaskInstance], int]] = [(engine, selected, 0)]
    while pending:
        current, instances, depth = pending.pop(0)
        for ti in instances:
            task = current.dag.task_dict.get(ti.task_id)
            if task is not None and is_marker(task):
                pending.extend(walk.follow(current, task, ti, depth))
    for item in walk.runs.values():
        order = {t.task_id: i for i, t in enumerate(item.engine.dag.topological_sort())}
        item.instances.sort(key=lambda ti: (order.get(ti.task_id, 0), ti.map_index))
    return list(walk.runs.values())


class _Walk:
    """What a clear through markers has found so far: the runs, and the instances seen."""

    def __init__(
        self, store: Store, engine: DagRunEngine, selected: list[TaskInstance], only_failed: bool
    ) -> None:
        self.store = store
        self.only_failed = only_failed
        self.runs = {(engine.run.dag_id, engine.run.run_id): RunToClear(engine, list(selected))}
        self.seen = {ti.key for ti in selected}
        self.max_depth: int | None = None

    def follow(
        self, current: DagRunEngine, marker: BaseOperator, ti: TaskInstance, depth: int
    ) -> list[tuple[DagRunEngine, list[TaskInstance], int]]:
        """The instances newly found behind ``marker`` (instance ``ti``, ``depth`` DAGs below
        the first), run by run, each with its depth."""
        if self.max_depth is None:
            self.max_depth = int(marker.recursion_depth)  # type: ignore[attr-defined]
        if depth + 1 > self.max_depth:
            raise InvalidRequestError(
                f"maximum recursion depth {self.max_depth} reached at ExternalTaskMarker "
                f"{quoted(ti.task_id)} of DAG {quoted(ti.dag_id)}: too many DAGs depend on "
                "each other, or the markers form a cycle; nothing was cleared"
            )
        dag_id, task_id, when = _target(self.store, current, marker, ti)
        found = []
        for run in self.store.find_dag_run(dag_id, when):
            target = self._run(dag_id, run.run_id)
            if task_id not in target.engine.dag.task_dict:
                raise ConflictError(
                    f"ExternalTaskMarker {quoted(ti.task_id)} of DAG {quoted(ti.dag_id)} "
                    f"names task {quoted(task_id)}, which DAG {quoted(dag_id)} does not have"
                )
            chosen = chosen_instances(target.engine, [task_id], downstream=True, verb="clear")
            new = [
                other
                for other in chosen
                if other.key not in self.seen
                and (not self.only_failed or other.state in FAILED_STATES)
            ]
            if new:
                refuse_busy(new, verb="clear")
                self.seen.update(other.key for other in new)
                target.instances.extend(new)
                found.append((target.engine, new, depth + 1))
        return found

    def _run(self, dag_id: str, run_id: str) -> RunToClear:
        run = self.runs.get((dag_id, run_id))
        if run is None:
            engine = load_run(self.store, dag_id, run_id, action="clear tasks of")
            run = self.runs[(dag_id, run_id)] = RunToClear(engine)
        return run


def is_marker(task: BaseOperator) -> bool:
    """An ``ExternalTaskMarker`` (or a stand-in of one rebuilt from the database)."""
    return all(hasattr(task, name) for name in MARKER_FIELDS)


def _target(
    store: Store, engine: DagRunEngine, task: BaseOperator, ti: TaskInstance
) -> tuple[str, str, datetime]:
    """The marker's external DAG id, task id and logical date, as rendered."""
    fields = _rendered_fields(store, ti)
    values: dict[str, Any] = {}
    for name in ("external_dag_id", "external_task_id", "logical_date"):
        value = fields.get(name)
        values[name] = value if isinstance(value, str) else _render(store, engine, task, ti, name)
    text = values["logical_date"]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InvalidRequestError(
            f"ExternalTaskMarker {quoted(ti.task_id)} of DAG {quoted(ti.dag_id)}: logical_date "
            f"{quoted(text)} is not an ISO 8601 date and time with a time zone"
        )
    return values["external_dag_id"], values["external_task_id"], when


def _rendered_fields(store: Store, ti: TaskInstance) -> dict[str, Any]:
    """What the instance's last attempt rendered (nothing when it never ran)."""
    attempts = [
        attempt
        for attempt in store.get_attempts(ti.dag_id, ti.run_id, ti.task_id)
        if attempt.map_index == ti.map_index
    ]
    if not attempts:
        return {}
    return dict(max(attempts, key=lambda attempt: attempt.try_number).rendered_fields or {})


def _render(
    store: Store, engine: DagRunEngine, task: BaseOperator, ti: TaskInstance, name: str
) -> str:
    from headwater.runtime.attempt_context import build_context
    from headwater.runtime.templating import environment_for, render_string

    value = getattr(task, name)
    if not isinstance(value, str):
        return str(value)
    context = build_context(dag=engine.dag, task=task, run=engine.run, ti=ti, store=store)
    try:
        return render_string(value, context, environment_for(engine.dag))
    except Exception as exc:  # a template error: name the marker rather than fail obscurely
        raise InvalidRequestError(
            f"ExternalTaskMarker {quoted(ti.task_id)} of DAG {quoted(ti.dag_id)}: its {name} "
            f"{quoted(value)} cannot be rendered: {type(exc).__name__}: {exc}"
        ) from None
