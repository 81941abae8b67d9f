"""The next scheduled runs of a stored DAG, as its timetable plans them: ``headwater dags
next-execution`` (Airflow's command of that name).

The DAG is rebuilt from the database, as the scheduler sees it, and its timetable is asked
from its latest scheduled run on, at the current time: the first answer is the run the
scheduler creates next (``dags list``'s "next run"), each following one comes after the one
before. Paused DAGs get their plan too; ``paused`` says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext

MAX_COUNT = 1000
"""The most runs one call plans."""


class NextRun(Schema):
    logical_date: IsoDatetime
    data_interval_start: IsoDatetime
    data_interval_end: IsoDatetime
    run_after: IsoDatetime
    """From when the scheduler creates it."""


class NextRuns(Schema):
    dag_id: str
    schedule: str
    """The timetable's summary, as ``dags list`` shows it."""
    schedule_description: str
    """The timetable's description, in words."""
    paused: bool
    runs: list[NextRun]
    """Oldest first; fewer than asked for when the timetable has no more (empty without a
    schedule)."""


def next_runs(
    ctx: ServiceContext, dag_id: str, count: int = 1, *, now: datetime | None = None
) -> NextRuns:
    """The next ``count`` (1 to 1000) scheduled runs of ``dag_id`` at ``now`` (the current
    time by default); not found when the database lacks the DAG, invalid for a bad count."""
    from headwater.operations import stored_dag
    from headwater.scheduler.run_planning import DataInterval, planned_runs
    from headwater.services.errors import InvalidRequestError

    if not 1 <= count <= MAX_COUNT:
        raise InvalidRequestError(f"count must be between 1 and {MAX_COUNT}, got {count}")
    row, dag = stored_dag(ctx.store, dag_id, action="plan the next runs of")
    scheduled = [r for r in ctx.store.list_dag_runs(dag_id) if r.run_type == "scheduled"]
    last = None
    if scheduled:
        latest = max(scheduled, key=lambda r: r.data_interval_start)
        last = DataInterval(latest.data_interval_start, latest.data_interval_end)
    planned = planned_runs(dag, last, now or datetime.now(UTC), count)
    return NextRuns(
        dag_id=dag_id,
        schedule=dag.timetable.summary,
        schedule_description=dag.timetable.description,
        paused=row.is_paused,
        runs=[
            NextRun(
                logical_date=p.logical_date,
                data_interval_start=p.start,
                data_interval_end=p.end,
                run_after=p.create_after,
            )
            for p in planned
        ],
    )
