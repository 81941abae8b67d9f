"""An Airflow plugin as Airflow's documentation writes one: a timetable that runs after each
weekday (Monday to Friday), a template macro, and a listener headwater does not use."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import UTC, Date, DateTime, Time


def _weekday_at_or_after(day: DateTime, step: int = 1) -> DateTime:
    while day.weekday() in (5, 6):
        day = day.add(days=step)
    return day


class WeekdayTimetable(Timetable):
    """One run per weekday, covering that day; weekends have none."""

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        start = DateTime.combine((run_after - timedelta(days=1)).date(), Time.min).replace(
            tzinfo=UTC
        )
        start = _weekday_at_or_after(start, step=-1)
        return DataInterval(start=start, end=start + timedelta(days=1))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            last = last_automated_data_interval.start
            start = DateTime.combine((last + timedelta(days=1)).date(), Time.min)
        elif restriction.earliest is None:
            return None
        elif not restriction.catchup:
            start = max(restriction.earliest, DateTime.combine(Date.today(), Time.min, tzinfo=UTC))
        else:
            start = restriction.earliest
        start = _weekday_at_or_after(start.replace(tzinfo=UTC))
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start=start, end=start + timedelta(days=1))


def weekday_name(ds: str) -> str:
    """``macros.workweek.weekday_name(ds)``: the day's English name."""
    return datetime.strptime(ds, "%Y-%m-%d").strftime("%A")


class RunListener:
    """An Airflow listener (hooks on task and run events): headwater does not call it."""


class WorkweekPlugin(AirflowPlugin):
    name = "workweek"
    timetables = [WeekdayTimetable]
    macros = [weekday_name]
    listeners = [RunListener()]
