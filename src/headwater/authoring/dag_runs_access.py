"""How a running task reaches other DAGs' runs: the port of the cross-DAG operators.

:class:`~headwater.operators.trigger_dagrun.TriggerDagRunOperator`,
:class:`~headwater.sensors.external_task.ExternalTaskSensor` and its trigger read the runs
and task instances of another DAG, create runs and clear them. They live in the authoring
layer, which imports no store and no operations, so this module only declares what they
need (:class:`DagRunsAccess`) and where a task finds it (:func:`dag_runs_access`):

* the task runtime names the store of each attempt (:func:`use_dag_runs_store`, as it names
  the secrets' metastore), so a task reads and writes the database its run lives in;
* the package root (``headwater/__init__.py``, which wires the layers) registers the
  implementation (:func:`set_access_factory`): :mod:`headwater.operations.cross_dag`, which
  triggers and clears through the same operations as ``headwater dags trigger`` and
  ``headwater tasks clear`` (params validated, events logged);
* with no store named (a trigger polling in the triggerer process), the implementation
  opens the database of this process's settings.

Example (what an operator does)::

    access = dag_runs_access()
    run = access.trigger_run("training", conf={"model": "small"})
    print(access.get_run("training", run.run_id).state)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from headwater.exceptions import HeadwaterError

DAG_RUN_STATES = frozenset({"queued", "running", "success", "failed"})
"""The states of a DAG run (:class:`headwater.DagRunState`'s values)."""

TASK_STATES = frozenset(
    {
        "none",
        "scheduled",
        "queued",
        "running",
        "success",
        "failed",
        "skipped",
        "upstream_failed",
        "up_for_retry",
        "up_for_reschedule",
        "deferred",
        "removed",
    }
)
"""The states of a task instance (:class:`headwater.TaskInstanceState`'s values)."""


class DagRunAlreadyExists(HeadwaterError):
    """A run with that id exists already (``TriggerDagRunOperator`` resets it with
    ``reset_dag_run=True`` or skips with ``skip_when_already_exists=True``)."""

    def __init__(self, message: str, run: DagRunInfo) -> None:
        super().__init__(message)
        self.run = run


@dataclass(frozen=True)
class DagRunInfo:
    """One run of a DAG, as another DAG's task sees it."""

    dag_id: str
    run_id: str
    logical_date: datetime
    state: str
    conf: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskInstanceInfo:
    """One task instance of another DAG's run."""

    run_id: str
    logical_date: datetime
    task_id: str
    map_index: int
    state: str


@dataclass(frozen=True)
class DagShape:
    """What a DAG is made of, as the database holds it: its task ids and its task groups
    (each with the ids of every task in it, nested groups included)."""

    dag_id: str
    task_ids: frozenset[str]
    task_groups: Mapping[str, frozenset[str]]


class DagRunsAccess(Protocol):
    """Reads and changes the runs of any DAG of the metadata database."""

    def dag_shape(self, dag_id: str) -> DagShape | None:
        """The tasks and groups of active DAG ``dag_id``; None when the database has no such
        DAG (or no file defines it any more)."""
        ...

    def get_run(self, dag_id: str, run_id: str) -> DagRunInfo | None: ...

    def runs_at(self, dag_id: str, logical_dates: Sequence[datetime]) -> list[DagRunInfo]:
        """The runs of ``dag_id`` at exactly these logical dates, by logical date then run id."""
        ...

    def task_instances_at(
        self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str]
    ) -> list[TaskInstanceInfo]:
        """The instances of ``task_ids`` (every map index) in the runs of ``dag_id`` at these
        logical dates."""
        ...

    def trigger_run(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | None = None,
    ) -> DagRunInfo:
        """Create a manual run of ``dag_id``, queued for the scheduler, as ``headwater dags
        trigger`` does: ``conf`` validated against the DAG's params, ``logical_date`` now by
        default, ``run_id`` ``manual__<logical date>`` by default. Raises
        :class:`DagRunAlreadyExists` when the run id is taken, and a
        :class:`~headwater.exceptions.HeadwaterError` naming the DAG when it is unknown."""
        ...

    def clear_run(self, dag_id: str, run_id: str) -> DagRunInfo:
        """Clear every task instance of the run so it runs again (the run is queued again);
        refused while one of them is queued or running."""
        ...


AccessFactory = Callable[[object | None], DagRunsAccess]
"""``factory(store)``: the access over that store, or over the settings' database for None."""

_factory: AccessFactory | None = None
_store: ContextVar[object | None] = ContextVar("dag_runs_store", default=None)


def set_access_factory(factory: AccessFactory) -> None:
    """Say how to reach other DAGs' runs (the package root does, once)."""
    global _factory
    _factory = factory


@contextmanager
def use_dag_runs_store(store: object) -> Iterator[None]:
    """Within the block, :func:`dag_runs_access` works on ``store`` (the runtime names the
    store of each attempt; a triggerer may name its own)."""
    token = _store.set(store)
    try:
        yield
    finally:
        _store.reset(token)


def dag_runs_access() -> DagRunsAccess:
    """The access of the running task (or trigger): over the store the runtime named, else
    over the database of this process's settings."""
    if _factory is None:
        raise HeadwaterError(
            "cross-DAG operators have no access to DAG runs: import headwater to register it"
        )
    return _factory(_store.get())


def check_states(
    states: Sequence[str] | None, allowed: frozenset[str], field_name: str, task_id: str
) -> list[str]:
    """``states`` as a list of state names, each one of ``allowed``; a
    :class:`~headwater.exceptions.DagDefinitionError` naming the task and field otherwise."""
    from headwater.exceptions import DagDefinitionError

    if states is None:
        return []
    if isinstance(states, str):
        states = [states]
    names = [str(getattr(state, "value", state)) for state in states]
    wrong = [name for name in names if name not in allowed]
    if wrong:
        raise DagDefinitionError(
            f"task {task_id!r}: {field_name} has {', '.join(map(repr, wrong))}, which "
            f"{'is not a state' if len(wrong) == 1 else 'are not states'} here; "
            f"use {', '.join(sorted(allowed))}"
        )
    return names
