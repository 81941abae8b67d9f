"""DAG runs in the database: trigger one, list a DAG's runs, show one with its task
instances, delete one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.services._schema import IsoDatetime, Schema
from headwater.services.task_instances import TaskInstanceOut

if TYPE_CHECKING:
    from headwater.engine.records import DagRun
    from headwater.services.context import ServiceContext

RUN_STATES = ("queued", "running", "success", "failed")
"""The states a DAG run can be in, for filters."""


class DagRunOut(Schema):
    """One DAG run as stored."""

    dag_id: str
    run_id: str
    state: str
    run_type: str
    logical_date: IsoDatetime | None
    data_interval_start: IsoDatetime | None
    data_interval_end: IsoDatetime | None
    start_date: IsoDatetime | None
    end_date: IsoDatetime | None
    conf: dict[str, Any]
    backfill_id: int | None
    note: str | None
    partition_key: str | None = None
    """The partition the run works on (partitioned DAGs only)."""

    @classmethod
    def of(cls, run: DagRun) -> DagRunOut:
        return cls(
            dag_id=run.dag_id,
            run_id=run.run_id,
            state=run.state.value,
            run_type=run.run_type,
            logical_date=run.logical_date,
            data_interval_start=run.data_interval_start,
            data_interval_end=run.data_interval_end,
            start_date=run.start_date,
            end_date=run.end_date,
            conf=run.conf,
            backfill_id=run.backfill_id,
            note=run.note,
            partition_key=run.partition_key,
        )


class DagRunWithInstances(DagRunOut):
    """A run and each of its task instances (``headwater dags state``)."""

    task_instances: list[TaskInstanceOut]


class TriggerRunRequest(Schema):
    """What a manual run is asked with; every field may be left out."""

    conf: dict[str, Any] | None = None
    """Params for the run, checked against the DAG's params."""
    run_id: str | None = None
    """Default: ``manual__<logical date>``."""
    logical_date: datetime | None = None
    """Timezone-aware; default: now (a time partition's start with ``partition_key``)."""
    partition_key: str | None = None
    """The partition the run works on, one of the DAG's partitions (``2024-01-31``, ``eu``)."""


def trigger_run(
    ctx: ServiceContext, dag_id: str, request: TriggerRunRequest | None = None
) -> DagRunOut:
    """Queue a manual run of ``dag_id`` for the scheduler (see
    :func:`headwater.operations.trigger_run`): not found for a DAG the database lacks,
    conflict for a taken run id or a DAG no file defines, invalid for a naive date."""
    from headwater.operations import trigger_run as trigger_run_op

    request = request or TriggerRunRequest()
    run = trigger_run_op(
        ctx.store,
        dag_id,
        conf=request.conf,
        run_id=request.run_id,
        logical_date=request.logical_date,
        now=ctx.now(),
        partition_key=request.partition_key,
    )
    return DagRunOut.of(run)


def list_runs(
    ctx: ServiceContext, dag_id: str, *, state: str | None = None, limit: int = 100
) -> list[DagRunOut]:
    """The newest ``limit`` runs of ``dag_id`` (only those in ``state`` if given), newest
    logical date first. An unknown DAG is not found; a DAG without runs has none."""
    from headwater.operations import dag_row
    from headwater.operations.errors import InvalidRequestError

    if state is not None and state not in RUN_STATES:
        raise InvalidRequestError(f"state {state!r} is not one of {', '.join(RUN_STATES)}")
    if limit < 1:
        raise InvalidRequestError(f"limit must be at least 1, not {limit}")
    store = ctx.store
    runs = store.list_dag_runs(dag_id, states=[state] if state else None, limit=limit)
    if not runs and not store.list_dag_runs(dag_id, limit=1):
        dag_row(store, dag_id)  # an unknown DAG is an error, a DAG without runs is not
    return [DagRunOut.of(run) for run in reversed(runs)]


def get_run(ctx: ServiceContext, dag_id: str, run_id: str) -> DagRunWithInstances:
    """Run ``run_id`` of ``dag_id`` with its task instances; not found when it is not."""
    from headwater.operations import require_run

    run = require_run(ctx.store, dag_id, run_id)
    tis = ctx.store.get_task_instances(dag_id, run_id)
    return DagRunWithInstances(
        **DagRunOut.of(run).model_dump(),
        task_instances=[TaskInstanceOut.of(ti) for ti in tis],
    )


def delete_run(ctx: ServiceContext, dag_id: str, run_id: str) -> DagRunOut:
    """Delete one run with its task instances, attempts and XComs (with the files of the XCom
    object store, once the rows are gone); returns it as it was."""
    from headwater.operations import delete_run as delete_run_op
    from headwater.xcom_objects import delete_run_objects

    run = delete_run_op(ctx.store, dag_id, run_id)
    delete_run_objects(ctx.settings, dag_id, run_id)
    return DagRunOut.of(run)
