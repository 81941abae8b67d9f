"""Which data interval a DAG's next scheduled run covers, and when it may be created.

Airflow's semantics: a run covers ``[start, end)``, its logical date is ``start``, and it is
created once ``end`` has passed. With ``catchup=False`` the scheduler skips ahead to the most
recent complete interval instead of running every missed one. A backfill runs the very
intervals the scheduler creates (:func:`intervals_between`). Cron fields are read in the DAG's
time zone (its ``start_date``'s), a ``timedelta`` schedule's intervals are counted from its
``start_date``, and every interval returned is in UTC, as it is stored. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from headwater.authoring.schedules import (
    CronSchedule,
    DeltaSchedule,
    NullSchedule,
    OnceSchedule,
    Schedule,
    schedule_zone,
)
from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DataInterval:
    start: datetime
    end: datetime

    @property
    def logical_date(self) -> datetime:
        return self.start

    @property
    def create_after(self) -> datetime:
        """When the run of this interval is due: once its interval has ended."""
        return self.end


def next_scheduled_interval(
    dag: DAG, last: DataInterval | None, now: datetime
) -> DataInterval | None:
    """The interval of the next scheduled run after ``last`` (the latest scheduled run's
    interval, None if there is none yet); None when the DAG has no more scheduled runs."""
    schedule = dag.schedule
    start_date = dag.start_date
    if isinstance(schedule, NullSchedule) or start_date is None:
        return None
    if isinstance(schedule, OnceSchedule):
        once = start_date.astimezone(UTC)
        return None if last is not None else DataInterval(once, once)
    candidate = _first_at_or_after(dag, start_date if last is None else last.end)
    if candidate is None:
        return None
    if not dag.catchup:
        latest = latest_complete_interval(schedule, start_date, now)
        if latest is not None and latest.start > candidate.start:
            candidate = latest
    if dag.end_date is not None and candidate.start > dag.end_date:
        return None
    return candidate


def latest_complete_interval(
    schedule: Schedule, start_date: datetime, now: datetime
) -> DataInterval | None:
    """The last interval that has ended at ``now`` (None before the first one ends)."""
    if isinstance(schedule, CronSchedule):
        # Cron fields are read in the DAG's zone; ``current`` contains now: not complete.
        current = DataInterval(*schedule.interval_for(now, start_date))
        interval = DataInterval(*schedule.interval_for(current.start - _TICK, start_date))
        return interval if interval.start >= start_date else None
    if isinstance(schedule, DeltaSchedule):
        anchor = start_date.astimezone(UTC)  # absolute lengths, also across a DST change
        ended = (now - anchor) // schedule.delta
        if ended < 1:
            return None
        start = anchor + (ended - 1) * schedule.delta
        return DataInterval(start, start + schedule.delta)
    return None


def _first_at_or_after(dag: DAG, moment: datetime) -> DataInterval | None:
    """The DAG's first interval whose logical date is at or after ``moment``, in UTC: the next
    fire time in the DAG's zone (cron), the next point of the ``start_date`` grid
    (``timedelta``)."""
    schedule = dag.schedule
    if isinstance(schedule, DeltaSchedule):
        return DataInterval(*schedule.first_at_or_after(moment, dag.start_date))
    if isinstance(schedule, CronSchedule):
        moment = moment.astimezone(schedule_zone(dag.start_date))
    found = schedule.next_interval(moment)
    if found is None:
        return None
    return DataInterval(found[0].astimezone(UTC), found[1].astimezone(UTC))


def intervals_between(dag: DAG, first: datetime, last: datetime) -> list[DataInterval]:
    """Every interval whose logical date is in ``[first, last]`` and within the DAG's
    ``start_date`` and ``end_date`` (what a backfill runs): exactly the intervals the
    scheduler creates with ``catchup=True``, in UTC. A wide range holds very many: a
    backfill walks :func:`iter_intervals_between` instead."""
    return list(iter_intervals_between(dag, first, last))


def iter_intervals_between(dag: DAG, first: datetime, last: datetime) -> Iterator[DataInterval]:
    """The intervals of :func:`intervals_between`, oldest first, one at a time: a caller may
    stop early, so a range of thousands of years costs only what it reads. The walk ends
    at the last interval whose end ``datetime`` can represent (year 9999). Raises at once
    (not when first read) for a DAG whose schedule has no intervals."""
    schedule = dag.schedule
    if isinstance(schedule, NullSchedule | OnceSchedule):
        raise HeadwaterError(
            f"DAG {dag.dag_id!r} has schedule {schedule.description}: it has no intervals to "
            "backfill; trigger runs with `headwater dags trigger` instead"
        )
    if dag.start_date is not None and first < dag.start_date:
        first = dag.start_date  # nothing is scheduled before the start date
    return _walk_intervals(dag, first, last)


def _walk_intervals(dag: DAG, first: datetime, last: datetime) -> Iterator[DataInterval]:
    try:
        found = _first_at_or_after(dag, first)
        while found is not None and found.start <= last:
            if dag.end_date is not None and found.start > dag.end_date:
                return
            yield found
            found = _first_at_or_after(dag, found.end)
    except OverflowError:
        return  # the next interval would end after year 9999: there is none to run
