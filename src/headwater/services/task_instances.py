"""Task instances in the database: show one, and clear some so the scheduler runs them
again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.engine.records import TaskInstance, TaskInstanceKey
    from headwater.services.context import ServiceContext


class TaskInstanceOut(Schema):
    """One task instance (one task of one run at one map index) as stored."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str
    try_number: int
    max_tries: int
    start_date: IsoDatetime | None
    end_date: IsoDatetime | None
    error: str | None
    pool: str
    queue: str
    priority_weight: int

    @property
    def label(self) -> str:
        """``task_id``, with ``[map_index]`` for an instance of a mapped task."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"

    @classmethod
    def of(cls, ti: TaskInstance) -> TaskInstanceOut:
        return cls(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=ti.map_index,
            state=ti.state.value,
            try_number=ti.try_number,
            max_tries=ti.max_tries,
            start_date=ti.start_date,
            end_date=ti.end_date,
            error=ti.error,
            pool=ti.pool,
            queue=ti.queue,
            priority_weight=ti.priority_weight,
        )


class ClearRequest(Schema):
    """Which task instances of a run to clear."""

    task_ids: list[str]
    downstream: bool = False
    """Also every task downstream of them."""
    only_failed: bool = False
    """Only instances that failed or are upstream_failed."""
    upstream: bool = False
    """Also every task upstream of them."""
    map_index: int | None = None
    """Only this map index of the named tasks (their relatives keep all theirs)."""
    include_dependent_dags: bool = False
    """Also the tasks of other DAGs that ExternalTaskMarkers among them point to, with their
    downstream tasks (Airflow's "recursive" clear)."""


class ClearedKey(Schema):
    task_id: str
    map_index: int
    dag_id: str | None = None
    """Set for an instance of another run (cleared through an ExternalTaskMarker)."""
    run_id: str | None = None

    @property
    def label(self) -> str:
        """``task_id``, with ``[map_index]`` for an instance of a mapped task."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


class NothingCleared(Schema):
    """No task instance matched: nothing was changed."""

    dag_id: str
    run_id: str
    cleared: list[ClearedKey] = []


class ClearResult(Schema):
    """What was cleared, and the run's state afterwards (queued again)."""

    dag_id: str
    run_id: str
    run_state: str | None
    cleared: list[ClearedKey]

    def to_json(self) -> dict[str, object]:
        """As JSON: a key of this run names no DAG and run (as before markers were followed)."""
        data = super().to_json()
        for key in data["cleared"]:  # type: ignore[attr-defined]
            if key["dag_id"] is None:
                del key["dag_id"], key["run_id"]
        return data


def get_task_instance(
    ctx: ServiceContext, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstanceOut:
    """One stored task instance; not found names the run, or the task, or the map indexes
    the task has."""
    from headwater.operations import require_run
    from headwater.operations.logs import instance_of_run

    require_run(ctx.store, dag_id, run_id)
    return TaskInstanceOut.of(instance_of_run(ctx.store, dag_id, run_id, task_id, map_index))


def task_instances_to_clear(
    ctx: ServiceContext, dag_id: str, run_id: str, request: ClearRequest
) -> list[TaskInstanceOut]:
    """What :func:`clear_task_instances` would clear; changes nothing."""
    from headwater.operations import task_instances_to_clear as select

    selected = select(ctx.store, dag_id, run_id, request.task_ids, **_options(request))
    return [TaskInstanceOut.of(ti) for ti in selected]


def clear_task_instances(
    ctx: ServiceContext, dag_id: str, run_id: str, request: ClearRequest
) -> ClearResult:
    """Put the chosen instances back to state none (retries reset, XComs deleted, with the
    files of the XCom object store) and the run back to queued; conflict when one is queued
    or running (see :func:`headwater.operations.clear_task_instances`)."""
    from headwater.operations import clear_task_instances as clear
    from headwater.operations import task_instances_to_clear as chosen
    from headwater.xcom_objects import delete_files, files_of_instances

    selected = chosen(ctx.store, dag_id, run_id, request.task_ids, **_options(request))
    by_run: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for ti in selected:
        by_run.setdefault((ti.dag_id, ti.run_id), []).append((ti.task_id, ti.map_index))
    files = [
        path
        for (run_dag_id, run_run_id), tis in by_run.items()
        for path in files_of_instances(ctx.settings, run_dag_id, run_run_id, tis)
    ]
    keys = clear(ctx.store, dag_id, run_id, request.task_ids, **_options(request), now=ctx.now())
    delete_files(ctx.settings, files)
    run = ctx.store.get_dag_run(dag_id, run_id)
    return ClearResult(
        dag_id=dag_id,
        run_id=run_id,
        run_state=run.state.value if run is not None else None,
        cleared=_keys(keys, (dag_id, run_id)),
    )


def _options(request: ClearRequest) -> dict[str, Any]:
    return {
        "downstream": request.downstream,
        "upstream": request.upstream,
        "only_failed": request.only_failed,
        "map_index": request.map_index,
        "include_dependent_dags": request.include_dependent_dags,
    }


def _keys(keys: Iterable[TaskInstanceKey], run: tuple[str, str] | None = None) -> list[ClearedKey]:
    return [
        ClearedKey(task_id=k.task_id, map_index=k.map_index)
        if run is None or (k.dag_id, k.run_id) == run
        else ClearedKey(task_id=k.task_id, map_index=k.map_index, dag_id=k.dag_id, run_id=k.run_id)
        for k in keys
    ]
