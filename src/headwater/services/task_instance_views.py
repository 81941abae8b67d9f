"""What the REST API and the attempt page show of task instances: the instances of one run
(a page of them), and one instance with every try it made.

The operator's name comes from the DAG as the DAG processor stored it (the instance rows do
not hold it); an instance whose task left the DAG shows none. A try's ``log_available``
says whether its log file is there, so a client knows before it asks for the log (with
``[logging] remote_log_folder`` set, every try that started: its log may be on the worker's
machine, read through the remote copy; looking there for each try of a list would cost a
request each). Errors
pass through the secrets masker: an exception's text may quote a secret.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.engine.records import TaskInstanceKey
from headwater.services._schema import IsoDatetime, Page, Schema
from headwater.services.task_instances import TaskInstanceOut

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import TaskAttempt, TaskInstance
    from headwater.services.context import ServiceContext


class RunTaskInstanceOut(TaskInstanceOut):
    """One task instance of a run, with its operator and how long its last try took."""

    operator: str | None
    """``@task``, ``BashOperator (mapped)``...; None when the task left the DAG."""
    duration: float | None
    """Seconds from start to end of the instance; None until it ended."""


class AttemptOut(Schema):
    """One try of a task instance, as the worker that ran it recorded it."""

    try_number: int
    state: str
    hostname: str | None
    pid: int | None
    worker: str | None
    """Which executor or worker runs it (known while it runs)."""
    queued_at: IsoDatetime | None
    """When it was queued: known for the latest try only (None for earlier ones)."""
    start_date: IsoDatetime
    end_date: IsoDatetime | None
    duration: float | None
    error: str | None
    """Why it failed (the exception or exit code), masked; None when it did not."""
    retry_reason: str | None = None
    """Why the task's retry policy retried or failed it, as the policy said (Airflow's
    ``retry_reason``); None without a policy's say."""
    log_available: bool


class MapIndexOut(Schema):
    """One instance of a mapped task: its map index and state."""

    map_index: int
    state: str
    try_number: int


class TaskInstanceDetailOut(RunTaskInstanceOut):
    """One task instance with its tries (oldest first) and, for a mapped task, the map
    indexes of its instances."""

    queued_at: IsoDatetime | None
    """When the instance was last queued (before its latest try, or for the next one)."""
    tries: list[AttemptOut]
    map_indexes: list[MapIndexOut]
    """Every instance of the task in the run (one, index -1, for a task not mapped)."""
    is_mapped: bool


def list_task_instances(
    ctx: ServiceContext, dag_id: str, run_id: str, *, limit: int = 100, offset: int = 0
) -> Page[RunTaskInstanceOut]:
    """The task instances of one run, in the DAG's dependency order (a task's map indexes
    in order, instances of tasks that left the DAG last); not found names the DAG or run."""
    from headwater.operations import require_run

    require_run(ctx.store, dag_id, run_id)
    dag = _stored_dag(ctx, dag_id)
    order = {t.task_id: i for i, t in enumerate(dag.topological_sort())} if dag else {}
    tis = sorted(
        ctx.store.get_task_instances(dag_id, run_id),
        key=lambda ti: (order.get(ti.task_id, len(order)), ti.task_id, ti.map_index),
    )
    return Page[RunTaskInstanceOut](
        items=[_row(ti, dag) for ti in tis[offset : offset + limit]],
        total=len(tis),
        limit=limit,
        offset=offset,
    )


def get_task_instance_detail(
    ctx: ServiceContext, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> TaskInstanceDetailOut:
    """One task instance with all its tries; not found names the run, the task, or the map
    indexes the task has."""
    from headwater.operations import require_run
    from headwater.operations.logs import instance_of_run

    require_run(ctx.store, dag_id, run_id)
    ti = instance_of_run(ctx.store, dag_id, run_id, task_id, map_index)
    dag = _stored_dag(ctx, dag_id)
    siblings = sorted(
        (t for t in ctx.store.get_task_instances(dag_id, run_id) if t.task_id == task_id),
        key=lambda t: t.map_index,
    )
    attempts = sorted(
        (a for a in ctx.store.get_attempts(dag_id, run_id, task_id) if a.map_index == map_index),
        key=lambda a: a.try_number,
    )
    workers = {
        key.try_number: beat.worker
        for key, beat in ctx.store.attempt_heartbeats().items()
        if (key.dag_id, key.run_id, key.task_id, key.map_index)
        == (dag_id, run_id, task_id, map_index)
    }
    task = dag.task_dict.get(task_id) if dag else None
    row = _row(ti, dag)
    queued_at = ctx.store.task_instance_queued_at(ti.key)
    return TaskInstanceDetailOut(
        **row.model_dump(),
        queued_at=queued_at,
        tries=[
            _attempt(
                ctx,
                a,
                workers.get(a.try_number),
                queued_at if _queued_for(a, ti, queued_at) else None,
            )
            for a in attempts
        ],
        map_indexes=[
            MapIndexOut(map_index=t.map_index, state=t.state.value, try_number=t.try_number)
            for t in siblings
        ],
        is_mapped=bool(task.is_mapped) if task is not None else map_index >= 0,
    )


def _stored_dag(ctx: ServiceContext, dag_id: str) -> DAG | None:
    """The DAG as stored, or None when it cannot be rebuilt (inactive, not serialized)."""
    from headwater.operations import stored_dag
    from headwater.operations.errors import OperationError

    try:
        return stored_dag(ctx.store, dag_id, action="show")[1]
    except OperationError:
        return None


def _row(ti: TaskInstance, dag: DAG | None) -> RunTaskInstanceOut:
    from headwater.masking import redact_text
    from headwater.services.dags import operator_name

    task = dag.task_dict.get(ti.task_id) if dag is not None else None
    base = TaskInstanceOut.of(ti).model_dump()
    base["error"] = redact_text(ti.error) if ti.error else ti.error
    duration = None
    if ti.start_date is not None and ti.end_date is not None:
        duration = (ti.end_date - ti.start_date).total_seconds()
    return RunTaskInstanceOut(
        **base,
        operator=operator_name(task) if task is not None else None,
        duration=duration,
    )


def _queued_for(attempt: TaskAttempt, ti: TaskInstance, queued_at: datetime | None) -> bool:
    """Whether the instance's last queued time is this try's: the store keeps one time per
    instance, the latest, and it is this try's when the try is the latest and started after."""
    return (
        queued_at is not None
        and attempt.try_number == ti.try_number
        and queued_at <= attempt.start_date
    )


def _attempt(
    ctx: ServiceContext, attempt: TaskAttempt, worker: str | None, queued_at: datetime | None
) -> AttemptOut:
    from headwater.masking import redact_text
    from headwater.runtime.logs import attempt_log_path

    if attempt.log_path:
        path = Path(attempt.log_path)
    else:
        a = attempt
        key = TaskInstanceKey(a.dag_id, a.run_id, a.task_id, a.map_index)
        path = Path(attempt_log_path(ctx.settings.logs_folder, key, a.try_number))
    return AttemptOut(
        try_number=attempt.try_number,
        state=attempt.state.value,
        hostname=attempt.hostname,
        pid=attempt.pid,
        worker=worker,
        queued_at=queued_at,
        start_date=attempt.start_date,
        end_date=attempt.end_date,
        duration=attempt.duration,
        error=redact_text(attempt.error) if attempt.error else attempt.error,
        retry_reason=attempt.outcome.retry_reason if attempt.outcome is not None else None,
        log_available=path.is_file() or _maybe_remote(ctx, attempt.start_date),
    )


def _maybe_remote(ctx: ServiceContext, started: datetime | None) -> bool:
    """Whether a try that has no log file here may have one in the remote log folder."""
    return started is not None and bool(ctx.settings.logging.remote_log_folder)
