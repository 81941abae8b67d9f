"""What ``DAG(schedule=...)`` takes, turned into the DAG's two views of it.

* ``dag.timetable``: the :class:`~headwater.timetables.base.Timetable` the scheduler,
  backfills and manual runs ask. A cron string or preset is a
  :class:`~headwater.timetables.interval.CronDataIntervalTimetable` in the zone of the
  DAG's ``start_date`` (UTC without one), a ``timedelta`` a
  :class:`~headwater.timetables.interval.DeltaDataIntervalTimetable` anchored at the
  ``start_date``, ``None`` a :class:`~headwater.timetables.simple.NullTimetable`,
  ``"@once"`` a :class:`~headwater.timetables.simple.OnceTimetable`, and a ``Timetable``
  itself.
* ``dag.schedule``: the :class:`~headwater.authoring.schedules.Schedule` as written (what
  ``dags list`` shows, what the DAG processor stores); for a ``Timetable``, a
  :class:`TimetableSchedule` that answers for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from headwater.authoring.schedules import (
    CronSchedule,
    DeltaSchedule,
    NullSchedule,
    OnceSchedule,
    Schedule,
    parse_schedule,
    schedule_zone,
)
from headwater.exceptions import InvalidScheduleError
from headwater.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from headwater.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
from headwater.timetables.simple import NullTimetable, OnceTimetable

ScheduleArg: TypeAlias = str | timedelta | Schedule | Timetable | None
"""What ``DAG(schedule=...)`` accepts."""


class TimetableSchedule(Schedule):
    """``dag.schedule`` of a DAG whose schedule is a :class:`Timetable`: its summary, and its
    answers in the :class:`Schedule` shape."""

    def __init__(self, timetable: Timetable) -> None:
        self.timetable = timetable
        self.description = timetable.summary

    def interval_for(
        self, logical_date: datetime, start_date: datetime | None = None
    ) -> tuple[datetime, datetime]:
        start, end = self.timetable.infer_manual_data_interval(run_after=logical_date)
        return start, end

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        info = self.timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(after, None, catchup=True, now=after),
        )
        return None if info is None else tuple(info.data_interval)  # type: ignore[return-value]


class ScheduleTimetable(Timetable):
    """A timetable for a hand-made :class:`Schedule` subclass: its intervals one after the
    other from the ``start_date``, as the scheduler planned them before timetables."""

    def __init__(self, schedule: Schedule, start_date: datetime | None) -> None:
        self.schedule = schedule
        self.start_date = start_date
        self.description = schedule.description

    @property
    def summary(self) -> str:
        return self.schedule.description

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        last = last_automated_data_interval
        after = restriction.earliest if last is None else last.end
        if after is None:
            return None
        found = self.schedule.next_interval(after)
        if found is None:
            return None
        if restriction.latest is not None and found[0] > restriction.latest:
            return None
        return DagRunInfo.interval(found[0].astimezone(UTC), found[1].astimezone(UTC))

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return DataInterval(*self.schedule.interval_for(run_after, self.start_date))


def schedule_and_timetable(
    value: ScheduleArg, start_date: datetime | None
) -> tuple[Schedule, Timetable]:
    """``dag.schedule`` and ``dag.timetable`` for ``DAG(schedule=value)``. Raises
    :class:`~headwater.exceptions.InvalidScheduleError` saying what is wrong (the caller
    adds the DAG's id): a bad cron, a cron that never fires, a timetable that refuses
    itself (:meth:`Timetable.validate`)."""
    if isinstance(value, Timetable):
        timetable = value
        if isinstance(timetable, DeltaDataIntervalTimetable):
            timetable = timetable.anchored(start_date)
        try:
            timetable.validate()
            adapter = TimetableSchedule(timetable)
        except InvalidScheduleError:
            raise
        except Exception as exc:  # a custom timetable's own code: name it, whatever it raised
            raise InvalidScheduleError(
                f"timetable {type(timetable).__name__} refused itself: {type(exc).__name__}: {exc}"
            ) from exc
        return adapter, timetable
    schedule = parse_schedule(value)
    if isinstance(schedule, CronSchedule):
        schedule.check_fires(start_date)
    return schedule, timetable_of(schedule, start_date)


def timetable_of(schedule: Schedule, start_date: datetime | None) -> Timetable:
    """The timetable that plans ``schedule``'s runs for a DAG starting at ``start_date``."""
    if isinstance(schedule, TimetableSchedule):
        return schedule.timetable
    if type(schedule) in (NullSchedule, Schedule):
        return NullTimetable()
    if isinstance(schedule, OnceSchedule):
        return OnceTimetable()
    if isinstance(schedule, CronSchedule):
        return CronDataIntervalTimetable.of_schedule(schedule, schedule_zone(start_date))
    if isinstance(schedule, DeltaSchedule):
        return DeltaDataIntervalTimetable(schedule.delta, anchor=start_date)
    return ScheduleTimetable(schedule, start_date)
