"""Timetables that trigger runs at cron times, as cron itself does: the run of 06:00 starts at
06:00 and its logical date is 06:00, instead of covering the interval up to the next fire
time (:class:`~headwater.timetables.interval.CronDataIntervalTimetable`). Its data interval is
``[t - interval, t]`` (``interval`` defaults to zero: ``[t, t]``).

Without ``catchup`` a DAG runs the latest fire time that has passed (or the next one),
never the missed ones before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from headwater.authoring.dates import plain_datetime
from headwater.authoring.schedules import CronSchedule
from headwater.exceptions import InvalidScheduleError
from headwater.timetables._zones import parse_zone, zone_name
from headwater.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from headwater.timetables.interval import CronWords


def _check_interval(interval: timedelta, owner: str) -> timedelta:
    if not isinstance(interval, timedelta) or interval < timedelta(0):
        raise InvalidScheduleError(
            f"{owner}: interval must be a timedelta of zero or more, got {interval!r}"
        )
    return interval


class CronTriggerTimetable(CronWords, Timetable):
    """Runs at each fire time of ``cron`` (an expression or a preset) read in ``timezone``;
    a run's data interval is ``[t - interval, t]`` and it is created at ``t``.

    Example: ``CronTriggerTimetable("0 6 * * 1-5", timezone="Europe/Berlin")``: a run at
    06:00 Berlin time each weekday, logical date 06:00 that day.
    """

    def __init__(
        self, cron: str, timezone: str | tzinfo, *, interval: timedelta = timedelta(0)
    ) -> None:
        if not isinstance(cron, str):
            raise InvalidScheduleError(f"CronTriggerTimetable: cron must be a str, got {cron!r}")
        self._cron = CronSchedule(cron.strip())
        self.timezone = parse_zone(timezone, "CronTriggerTimetable")
        self.interval = _check_interval(interval, "CronTriggerTimetable")

    def serialize(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "timezone": zone_name(self.timezone),
            "interval": self.interval.total_seconds(),
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(
            data["expression"], data["timezone"], interval=timedelta(seconds=data["interval"])
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronTriggerTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self), self.expression, zone_name(self.timezone), self.interval))

    # -- fire times, in UTC --------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return plain_datetime(moment).astimezone(self.timezone)

    def fire_after(self, moment: datetime) -> datetime:
        """The first fire time after ``moment``."""
        return self._cron.fire_after(self._local(moment)).astimezone(UTC)

    def fire_at_or_before(self, moment: datetime) -> datetime:
        """``moment`` if it is a fire time, else the last fire time before it."""
        return self._cron.fire_at_or_before(self._local(moment)).astimezone(UTC)

    def fire_at_or_after(self, moment: datetime) -> datetime:
        """``moment`` if it is a fire time, else the first fire time after it."""
        before = self.fire_at_or_before(moment)
        return before if before == moment else self.fire_after(moment)

    # -- the interface -------------------------------------------------------------------------

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        last = last_automated_data_interval
        earliest = restriction.earliest
        if restriction.catchup:
            if last is not None:
                fire = self.fire_after(last.end)
            else:
                fire = self.fire_at_or_after(
                    earliest if earliest is not None else restriction.current_time()
                )
        else:
            # The latest fire time that has passed, unless the last run or the start date
            # is later: missed fire times before it are skipped.
            candidates = [self.fire_at_or_before(restriction.current_time())]
            if last is not None:
                candidates.append(self.fire_after(last.end))
            elif earliest is None:
                candidates.append(self.fire_at_or_after(restriction.current_time()))
            if earliest is not None:
                candidates.append(self.fire_at_or_after(earliest))
            fire = max(candidates)
        if restriction.latest is not None and fire > restriction.latest:
            return None
        return DagRunInfo(fire, DataInterval(fire - self.interval, fire))

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """``[run_after - interval, run_after]``."""
        moment = plain_datetime(run_after)
        return DataInterval(moment - self.interval, moment)


class MultipleCronTriggerTimetable(Timetable):
    """Runs at the fire times of several cron expressions, read in one ``timezone``: one run
    per moment, even when two expressions fire together.

    Example: ``MultipleCronTriggerTimetable("0 6 * * 1-5", "0 9 * * 0,6", timezone="UTC")``:
    06:00 on weekdays, 09:00 at weekends.
    """

    def __init__(
        self, *crons: str, timezone: str | tzinfo, interval: timedelta = timedelta(0)
    ) -> None:
        if not crons:
            raise InvalidScheduleError("MultipleCronTriggerTimetable: give at least one cron")
        self.timetables = [CronTriggerTimetable(c, timezone, interval=interval) for c in crons]

    @property
    def summary(self) -> str:
        return ", ".join(t.summary for t in self.timetables)

    @property
    def description(self) -> str:  # type: ignore[override]
        return "; ".join(t.description for t in self.timetables)

    def validate(self) -> None:
        for timetable in self.timetables:
            timetable.validate()

    def serialize(self) -> dict[str, Any]:
        first = self.timetables[0].serialize()
        return {
            "expressions": [t.expression for t in self.timetables],
            "timezone": first["timezone"],
            "interval": first["interval"],
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(
            *data["expressions"],
            timezone=data["timezone"],
            interval=timedelta(seconds=data["interval"]),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultipleCronTriggerTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self), self.summary))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        infos = list(self._infos(last_automated_data_interval, restriction))
        if restriction.catchup:
            return min(infos, key=_earliest_first)
        now = restriction.current_time().timestamp()
        return min(infos, key=lambda info: _latest_passed_first(info, now))

    def _infos(
        self, last: DataInterval | None, restriction: TimeRestriction
    ) -> Iterator[DagRunInfo | None]:
        for timetable in self.timetables:
            yield timetable.next_dagrun_info(
                last_automated_data_interval=last, restriction=restriction
            )

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        return min(
            (t.infer_manual_data_interval(run_after=run_after) for t in self.timetables),
            key=lambda interval: interval.start,
        )


def _earliest_first(info: DagRunInfo | None) -> float:
    """With catchup: the run with the earliest logical date comes first (None last)."""
    return math.inf if info is None else info.logical_date.timestamp()


def _latest_passed_first(info: DagRunInfo | None, now: float) -> float:
    """Without catchup: the latest run already due comes first, then the earliest one to
    come (None last)."""
    if info is None:
        return math.inf
    at = info.logical_date.timestamp()
    return -at if at <= now else at
