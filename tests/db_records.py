"""Small builders of the engine's records for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.engine.records import DagRun, TaskAttempt, TaskInstance
from headwater.engine.states import TaskInstanceState

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_run(dag_id: str = "etl", run_id: str = "r1", day: int = 0, **fields: Any) -> DagRun:
    logical_date = T0 + timedelta(days=day)
    return DagRun(
        dag_id=dag_id,
        run_id=run_id,
        logical_date=logical_date,
        data_interval_start=logical_date - timedelta(days=1),
        data_interval_end=logical_date,
        **fields,
    )


def make_ti(task_id: str, run: DagRun, map_index: int = -1, **fields: Any) -> TaskInstance:
    return TaskInstance(
        dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, map_index=map_index, **fields
    )


def make_attempt(
    ti: TaskInstance, try_number: int = 1, start: datetime = T0, **fields: Any
) -> TaskAttempt:
    fields.setdefault("state", TaskInstanceState.RUNNING)
    return TaskAttempt(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index,
        try_number=try_number,
        start_date=start,
        **fields,
    )
