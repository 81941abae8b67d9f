"""What the scheduler observes as attempts start and end, in one call each, so its own code
gains a line per event and no more. Everything here works on what the scheduler holds in
memory (the run's engine, the instance): no query, whatever the number of tasks."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headwater.metrics.definitions import (
    DOWNSTREAM_START_GAP_SECONDS,
    QUEUED_TO_START_SECONDS,
    TASK_ATTEMPTS_ENDED,
    TASK_DURATION_SECONDS,
)

if TYPE_CHECKING:
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import TaskInstance
    from headwater.engine.states import TaskInstanceState


def attempt_started(
    engine: DagRunEngine, ti: TaskInstance, queued_at: datetime | None, started_at: datetime
) -> None:
    """The attempt of ``ti`` (now running) started at ``started_at``: its wait since it was
    queued, and for a first try, the gap since its last upstream instance ended."""
    if queued_at is not None:
        QUEUED_TO_START_SECONDS.observe(_seconds(queued_at, started_at))
    task = engine.dag.task_dict.get(ti.task_id)
    if ti.try_number != 1 or task is None or not task.upstream_task_ids:
        return
    ends = [
        upstream.end_date
        for task_id in task.upstream_task_ids
        for upstream in engine.instances_of(task_id).values()
        if upstream.end_date is not None
    ]
    if ends:
        DOWNSTREAM_START_GAP_SECONDS.observe(_seconds(max(ends), started_at))


def attempt_ended(
    ti: TaskInstance, state: TaskInstanceState, ended_at: datetime, *, by_task: bool = False
) -> None:
    """The attempt of ``ti`` ended at ``ended_at``, its instance now in ``state``. Its
    duration counts for its DAG (``task_id=""``), or for its task with ``by_task``
    (``[metrics] task_durations_by_task``: a series per task and bucket, which a scrape of a
    DAG of thousands of tasks pays for in rendering)."""
    TASK_ATTEMPTS_ENDED.labels(state.value).inc()
    if ti.start_date is not None:
        TASK_DURATION_SECONDS.labels(ti.dag_id, ti.task_id if by_task else "").observe(
            _seconds(ti.start_date, ended_at)
        )


def _seconds(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)
