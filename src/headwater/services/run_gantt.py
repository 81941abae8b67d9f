"""A run's Gantt chart as data: each task instance (in the DAG's order) with its attempts'
queued, start and end times. Example::

    gantt = run_gantt(ctx, "etl", "manual__2024-01-01T00:00:00+00:00")
    gantt.rows[0].attempts[0].start_date
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Schema
from headwater.services.dag_structure import load_structure

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext


class GanttAttempt(Schema):
    try_number: int
    state: str
    start_date: IsoDatetime
    end_date: IsoDatetime | None
    """None while it runs."""
    queued_at: IsoDatetime | None
    """When the instance was queued for this try, where known: for the last try, from the
    instance; for an earlier one, unknown (None)."""


class GanttRow(Schema):
    """One task instance with its attempts."""

    task_id: str
    map_index: int
    label: str
    state: str
    attempts: list[GanttAttempt]


class RunGantt(Schema):
    """A run's task instances in the DAG's order, each with its attempts' times; ``start``
    and ``end`` bound them all (``end`` is now while something runs)."""

    dag_id: str
    run_id: str
    state: str
    start: IsoDatetime | None
    end: IsoDatetime | None
    rows: list[GanttRow]


def run_gantt(ctx: ServiceContext, dag_id: str, run_id: str) -> RunGantt:
    """The Gantt chart's data of run ``run_id`` of ``dag_id`` (not found for either)."""
    from headwater.operations import require_run

    _, dag = load_structure(ctx, dag_id)
    run = require_run(ctx.store, dag_id, run_id)
    order = {task.task_id: i for i, task in enumerate(dag.topological_sort())}
    attempts: dict[tuple[str, int], list[GanttAttempt]] = defaultdict(list)
    for attempt in ctx.store.get_attempts(dag_id, run_id):
        attempts[(attempt.task_id, attempt.map_index)].append(
            GanttAttempt(
                try_number=attempt.try_number,
                state=attempt.state.value,
                start_date=attempt.start_date,
                end_date=attempt.end_date,
                queued_at=None,
            )
        )
    queued = ctx.store.get_task_instance_queued_at(dag_id, run_id)
    rows = []
    for ti in sorted(
        ctx.store.get_task_instances(dag_id, run_id),
        key=lambda ti: (order.get(ti.task_id, len(order)), ti.task_id, ti.map_index),
    ):
        tries = sorted(attempts.get((ti.task_id, ti.map_index), []), key=lambda a: a.try_number)
        at = queued.get((ti.task_id, ti.map_index))
        if tries and at is not None and at <= tries[-1].start_date:
            tries[-1] = tries[-1].model_copy(update={"queued_at": at})
        label = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        rows.append(
            GanttRow(
                task_id=ti.task_id,
                map_index=ti.map_index,
                label=label,
                state=ti.state.value,
                attempts=tries,
            )
        )
    times = [t for row in rows for a in row.attempts for t in (a.queued_at, a.start_date) if t]
    ends = [a.end_date or ctx.now() for row in rows for a in row.attempts]
    return RunGantt(
        dag_id=dag_id,
        run_id=run_id,
        state=run.state.value,
        start=min(times, default=None),
        end=max(ends, default=None),
        rows=rows,
    )
