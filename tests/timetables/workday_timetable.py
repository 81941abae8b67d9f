"""A timetable of working days: one run per Monday-to-Friday day (UTC), covering that day
and created when it ends; Saturdays and Sundays get no run. docs/data-aware.md shows it."""

from datetime import UTC, datetime, time, timedelta

from headwater.timetables import DagRunInfo, DataInterval, TimeRestriction, Timetable

ONE_DAY = timedelta(days=1)


def midnight(moment: datetime) -> datetime:
    """The start of ``moment``'s day, in UTC."""
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def workday_on_or_after(day: datetime) -> datetime:
    while day.weekday() >= 5:  # Saturday is 5, Sunday 6
        day += ONE_DAY
    return day


def workday_on_or_before(day: datetime) -> datetime:
    while day.weekday() >= 5:
        day -= ONE_DAY
    return day


class WorkdayTimetable(Timetable):
    description = "after each working day, Monday to Friday (UTC)"

    @property
    def summary(self) -> str:
        return "workdays"

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        # A run started by hand covers the last working day that has ended.
        day = workday_on_or_before(midnight(run_after) - ONE_DAY)
        return DataInterval(day, day + ONE_DAY)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            day = workday_on_or_after(last_automated_data_interval.end)
        elif restriction.earliest is None:
            return None  # no start_date: no scheduled runs
        else:
            day = midnight(restriction.earliest)
            if day < restriction.earliest:
                day += ONE_DAY  # the first whole day
            day = workday_on_or_after(day)
        if not restriction.catchup:
            # Skip the days missed: at most back to the last working day that has ended.
            latest = workday_on_or_before(midnight(restriction.current_time()) - ONE_DAY)
            day = max(day, latest)
        if restriction.latest is not None and day > restriction.latest:
            return None
        return DagRunInfo.interval(day, day + ONE_DAY)
