"""Which data interval a DAG's next scheduled run covers, and when it may be created: the
DAG's timetable (``dag.timetable``, :mod:`headwater.timetables`) decides, and this module
asks it as the scheduler and backfills need.

For a cron or ``timedelta`` schedule, Airflow's semantics: a run covers ``[start, end)``,
its logical date is ``start``, and it is created once ``end`` has passed. With
``catchup=False`` the scheduler skips ahead to the most recent complete interval instead of
running every missed one. A backfill runs the very intervals the scheduler creates
(:func:`intervals_between`). Cron fields are read in the DAG's time zone (its
``start_date``'s), a ``timedelta`` schedule's intervals are counted from its ``start_date``,
and every interval returned is in UTC, as it is stored. Pure functions, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from headwater.exceptions import HeadwaterError
from headwater.log_format import log_fields
from headwater.timetables.base import DagRunInfo, TimeRestriction, Timetable
from headwater.timetables.base import DataInterval as TimetableInterval

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataInterval:
    """A run the scheduler plans: its data interval ``[start, end)``, its logical date
    (``start``) and when it may be created (``run_after``: the interval's end unless the
    timetable says otherwise). Equal when the intervals are."""

    start: datetime
    end: datetime
    run_after: datetime | None = field(default=None, compare=False)

    @property
    def logical_date(self) -> datetime:
        return self.start

    @property
    def create_after(self) -> datetime:
        """When the run of this interval is due: ``run_after``, or once the interval has
        ended."""
        return self.run_after if self.run_after is not None else self.end


def next_scheduled_interval(
    dag: DAG, last: DataInterval | None, now: datetime
) -> DataInterval | None:
    """The interval of the next scheduled run after ``last`` (the latest scheduled run's
    interval, None if there is none yet); None when the DAG has no more scheduled runs."""
    timetable = dag.timetable
    if not timetable.can_be_scheduled:
        return None
    restriction = TimeRestriction(dag.start_date, dag.end_date, dag.catchup, now=now)
    try:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=_asked(last), restriction=restriction
        )
    except Exception as exc:
        if _built_in(timetable):
            raise
        # A custom timetable's bug must not stop the scheduler for every other DAG.
        log.error(
            "DAG %s gets no scheduled run: %s",
            dag.dag_id,
            _failure(dag, exc),
            extra=log_fields(dag.dag_id),
        )
        return None
    return _planned(info)


def _built_in(timetable: Timetable) -> bool:
    return type(timetable).__module__.startswith("headwater.")


def _failure(dag: DAG, exc: Exception) -> str:
    return (
        f"its timetable {type(dag.timetable).__name__} ({dag.timetable.summary}) failed to plan "
        f"the next run: {type(exc).__name__}: {exc}"
    )


def _asked(last: DataInterval | None) -> TimetableInterval | None:
    return None if last is None else TimetableInterval(last.start, last.end)


def _planned(info: DagRunInfo | None) -> DataInterval | None:
    """The timetable's answer in UTC, as runs are stored."""
    if info is None:
        return None
    start, end = info.data_interval
    return DataInterval(start.astimezone(UTC), end.astimezone(UTC), info.run_after.astimezone(UTC))


def planned_runs(
    dag: DAG, last: DataInterval | None, now: datetime, count: int
) -> list[DataInterval]:
    """The next ``count`` runs the scheduler would plan after ``last`` (fewer when the
    timetable has no more), each after the one before: ``dags next-execution``."""
    out: list[DataInterval] = []
    while len(out) < count:
        nxt = next_scheduled_interval(dag, last, now)
        if nxt is None or (last is not None and nxt.start <= last.start):
            break  # no more, or a timetable that does not move on
        out.append(nxt)
        last = nxt
    return out


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
    (not when first read) for a DAG whose timetable has no intervals (``None``,
    ``"@once"``)."""
    if not dag.timetable.periodic or not dag.timetable.can_be_scheduled:
        raise HeadwaterError(
            f"DAG {dag.dag_id!r} has schedule {dag.schedule.description}: it has no intervals to "
            "backfill; trigger runs with `headwater dags trigger` instead"
        )
    if dag.start_date is not None and first < dag.start_date:
        first = dag.start_date  # nothing is scheduled before the start date
    return _walk_intervals(dag, first, last)


def _walk_intervals(dag: DAG, first: datetime, last: datetime) -> Iterator[DataInterval]:
    latest = last if dag.end_date is None else min(last, dag.end_date)
    restriction = TimeRestriction(first, latest, catchup=True, now=last)
    found: DataInterval | None = None
    try:
        while True:
            info = dag.timetable.next_dagrun_info(
                last_automated_data_interval=_asked(found), restriction=restriction
            )
            nxt = _planned(info)
            if (
                nxt is None
                or nxt.start > latest
                or (found is not None and nxt.start <= found.start)
            ):
                return
            yield nxt
            found = nxt
    except OverflowError:
        return  # the next interval would end after year 9999: there is none to run
    except Exception as exc:
        if _built_in(dag.timetable):
            raise
        raise HeadwaterError(f"DAG {dag.dag_id!r}: {_failure(dag, exc)}") from exc
