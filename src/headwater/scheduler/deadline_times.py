"""When a run's deadlines and its tasks' SLAs fall due: pure functions of the DAG and the run.

* A DAG :class:`~headwater.Deadline` is due ``interval`` after its reference: the run's data
  interval end, its logical date, when it was queued, or when it started.
* A task's ``sla=timedelta(...)`` is due that long after the run started.
* A task's ``sla=time(h, m)`` is due at the first such time of day at or after the end of
  the run's data interval (or, for a run whose data interval is empty, after the run
  started), in the DAG's time zone: its ``start_date``'s, UTC without one.

A deadline whose moment is not known yet (a run not started) is not planned yet: the check
asks again on its next round.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, tzinfo

from headwater.authoring.dag import DAG
from headwater.authoring.deadlines import Deadline, DeadlineReference
from headwater.engine.records import DagRun
from headwater.store.deadlines import DEADLINE, SLA, DeadlinePlan


def dag_time_zone(dag: DAG) -> tzinfo:
    """The DAG's time zone: its start date's (UTC without one)."""
    start = dag.start_date
    return start.tzinfo if start is not None and start.tzinfo is not None else UTC


def has_deadlines(dag: DAG) -> bool:
    """Whether the DAG declares a deadline or any of its tasks an SLA."""
    return bool(dag.deadlines) or any(
        getattr(task, "sla", None) is not None for task in dag.task_dict.values()
    )


def deadline_due_at(deadline: Deadline, run: DagRun, queued_at: datetime | None) -> datetime | None:
    """When ``run`` must have finished by ``deadline``; None while its moment is unknown."""
    moments = {
        DeadlineReference.DATA_INTERVAL_END: run.data_interval_end,
        DeadlineReference.LOGICAL_DATE: run.logical_date,
        DeadlineReference.QUEUED_AT: queued_at,
        DeadlineReference.STARTED_AT: run.start_date,
    }
    moment = moments[deadline.reference]
    return None if moment is None else moment + deadline.interval


def sla_due_at(sla: timedelta | time, run: DagRun, zone: tzinfo) -> datetime | None:
    """When a task with ``sla`` must have finished in ``run``; None while unknown."""
    if isinstance(sla, timedelta):
        return None if run.start_date is None else run.start_date + sla
    if run.data_interval_end > run.data_interval_start:
        after = run.data_interval_end
    elif run.start_date is not None:
        after = run.start_date
    else:
        return None
    return next_time_of_day(sla, after, zone)


def next_time_of_day(at: time, after: datetime, zone: tzinfo) -> datetime:
    """The first wall-clock time ``at`` in ``zone`` at or after ``after`` (in UTC)."""
    local = after.astimezone(zone)
    day = local.date()
    for offset in range(3):  # today, else tomorrow (a DST gap may skip a day's time)
        candidate = datetime.combine(day + timedelta(days=offset), at, tzinfo=zone)
        if candidate.astimezone(UTC) >= after.astimezone(UTC):
            return candidate.astimezone(UTC)
    raise AssertionError("unreachable: a time of day recurs within two days")


def plans_for_run(dag: DAG, run: DagRun, queued_at: datetime | None) -> Iterator[DeadlinePlan]:
    """The deadlines of ``run`` whose due time is known now."""
    for deadline in dag.deadlines:
        due = deadline_due_at(deadline, run, queued_at)
        if due is not None:
            yield DeadlinePlan(run.dag_id, run.run_id, deadline.name, DEADLINE, due)
    zone = dag_time_zone(dag)
    for task_id, task in dag.task_dict.items():
        sla = getattr(task, "sla", None)
        if sla is None:
            continue
        due = sla_due_at(sla, run, zone)
        if due is not None:
            yield DeadlinePlan(run.dag_id, run.run_id, SLA, SLA, due, task_id=task_id)


def expected_plans(dag: DAG) -> int:
    """How many deadlines each run of ``dag`` has once every moment is known."""
    return len(dag.deadlines) + sum(
        1 for task in dag.task_dict.values() if getattr(task, "sla", None) is not None
    )
