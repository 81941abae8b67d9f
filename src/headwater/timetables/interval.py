"""Timetables of contiguous data intervals: a run covers ``[start, end)`` and is created once
``end`` has passed, its logical date ``start``. ``schedule="0 6 * * *"`` (or a preset) is a
:class:`CronDataIntervalTimetable`, ``schedule=timedelta(...)`` a
:class:`DeltaDataIntervalTimetable`.

Without ``catchup`` the next run skips ahead to the latest complete interval. A run started by
hand at ``D`` covers the interval that contains ``D`` (Airflow gives it the last complete
interval before ``D`` instead). Cron fields are read in the timetable's zone, across
daylight-saving changes as :mod:`headwater.authoring.schedules` describes; intervals are
returned in UTC.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from headwater.authoring.dates import plain_datetime
from headwater.authoring.schedules import CronSchedule, DeltaSchedule
from headwater.exceptions import InvalidScheduleError
from headwater.timetables._zones import parse_zone, zone_name
from headwater.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

_TICK = timedelta(microseconds=1)


class _DataIntervalTimetable(Timetable):
    """Contiguous intervals from the DAG's ``start_date`` (``restriction.earliest``): no
    scheduled run without one."""

    @abstractmethod
    def _first_at_or_after(self, moment: datetime, earliest: datetime) -> DataInterval:
        """The first interval whose start is at or after ``moment``, in UTC."""

    @abstractmethod
    def _latest_complete(self, now: datetime, earliest: datetime) -> DataInterval | None:
        """The last interval that has ended at ``now``, not before ``earliest``."""

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if earliest is None:
            return None
        last = last_automated_data_interval
        candidate = self._first_at_or_after(earliest if last is None else last.end, earliest)
        if not restriction.catchup:
            latest = self._latest_complete(restriction.current_time(), earliest)
            if latest is not None and latest.start > candidate.start:
                candidate = latest
        if restriction.latest is not None and candidate.start > restriction.latest:
            return None
        return DagRunInfo.interval(candidate.start, candidate.end)


class CronWords(Timetable):
    """What the cron timetables say about themselves: the expression as written, in words
    in their time zone, and whether it ever fires."""

    _cron: CronSchedule
    timezone: tzinfo

    @property
    def expression(self) -> str:
        """The expression as written (``"@daily"`` stays ``"@daily"``)."""
        return self._cron.description

    @property
    def summary(self) -> str:
        return self.expression

    @property
    def description(self) -> str:  # type: ignore[override]
        return cron_description(self._cron.expression, self.timezone)

    def validate(self) -> None:
        self._cron.check_fires(None)


class CronDataIntervalTimetable(CronWords, _DataIntervalTimetable):
    """Intervals from one fire time of a cron expression (or preset like ``"@daily"``) to
    the next, read in ``timezone``: what ``schedule="<cron>"`` means, in the zone of the
    DAG's ``start_date``.

    Example: ``CronDataIntervalTimetable("0 6 * * *", timezone="Europe/Berlin")``: the run of
    Monday covers 06:00 Monday to 06:00 Tuesday, Berlin time, and starts Tuesday 06:00.
    """

    def __init__(self, cron: str, timezone: str | tzinfo) -> None:
        if not isinstance(cron, str):
            raise InvalidScheduleError(
                f"CronDataIntervalTimetable: cron must be a str, got {cron!r}"
            )
        self._cron = CronSchedule(cron.strip())
        self.timezone = parse_zone(timezone, "CronDataIntervalTimetable")

    @classmethod
    def of_schedule(cls, cron: CronSchedule, timezone: tzinfo) -> CronDataIntervalTimetable:
        """The timetable of an already checked ``cron``, without checking it again."""
        timetable = cls.__new__(cls)
        timetable._cron = cron
        timetable.timezone = timezone
        return timetable

    def serialize(self) -> dict[str, Any]:
        return {"expression": self.expression, "timezone": zone_name(self.timezone)}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(data["expression"], data["timezone"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronDataIntervalTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self), self.expression, zone_name(self.timezone)))

    def interval_containing(self, moment: datetime) -> DataInterval:
        """From the last fire time at or before ``moment`` to the next one, in UTC."""
        start, end = self._cron.interval_in(moment, self.timezone)
        return DataInterval(start, end)

    def _first_at_or_after(self, moment: datetime, earliest: datetime) -> DataInterval:
        found = self._cron.next_interval(plain_datetime(moment).astimezone(self.timezone))
        assert found is not None  # a cron schedule always has a next interval
        return DataInterval(found[0].astimezone(UTC), found[1].astimezone(UTC))

    def _latest_complete(self, now: datetime, earliest: datetime) -> DataInterval | None:
        current = self.interval_containing(now)  # contains now: not complete yet
        interval = self.interval_containing(current.start - _TICK)
        return interval if interval.start >= earliest else None

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The interval that contains ``run_after``."""
        return self.interval_containing(run_after)


class DeltaDataIntervalTimetable(_DataIntervalTimetable):
    """Intervals of a fixed length ``delta``, on the grid ``anchor + k * delta``: what
    ``schedule=timedelta(...)`` means, anchored at the DAG's ``start_date`` (a DAG anchors
    one given without ``anchor`` the same way). Lengths are absolute: a day is 24 hours, also
    across a daylight-saving change.

    Example: ``DeltaDataIntervalTimetable(timedelta(hours=6))``.
    """

    def __init__(self, delta: timedelta, *, anchor: datetime | None = None) -> None:
        if not isinstance(delta, timedelta):
            raise InvalidScheduleError(
                f"DeltaDataIntervalTimetable: delta must be a timedelta, got {delta!r}"
            )
        self._delta = DeltaSchedule(delta)
        if anchor is not None and (not isinstance(anchor, datetime) or anchor.tzinfo is None):
            raise InvalidScheduleError(
                f"DeltaDataIntervalTimetable: anchor must be an aware datetime, got {anchor!r}"
            )
        self.anchor = plain_datetime(anchor) if anchor is not None else None

    @property
    def delta(self) -> timedelta:
        return self._delta.delta

    def anchored(self, anchor: datetime | None) -> DeltaDataIntervalTimetable:
        """This timetable on the grid of ``anchor`` (itself when it has an anchor already)."""
        if self.anchor is not None or anchor is None:
            return self
        return DeltaDataIntervalTimetable(self.delta, anchor=anchor)

    @property
    def summary(self) -> str:
        return self._delta.description

    @property
    def description(self) -> str:  # type: ignore[override]
        return f"every {self.delta}"

    def serialize(self) -> dict[str, Any]:
        anchor = self.anchor.isoformat() if self.anchor is not None else None
        return {"delta": self.delta.total_seconds(), "anchor": anchor}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        anchor = data.get("anchor")
        return cls(
            timedelta(seconds=data["delta"]),
            anchor=datetime.fromisoformat(anchor) if anchor else None,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeltaDataIntervalTimetable):
            return NotImplemented
        return (self.delta, self.anchor) == (other.delta, other.anchor)

    def __hash__(self) -> int:
        return hash((type(self), self.delta, self.anchor))

    def _first_at_or_after(self, moment: datetime, earliest: datetime) -> DataInterval:
        anchor = self.anchor if self.anchor is not None else earliest
        return DataInterval(*self._delta.first_at_or_after(moment, anchor))

    def _latest_complete(self, now: datetime, earliest: datetime) -> DataInterval | None:
        anchor = (self.anchor if self.anchor is not None else earliest).astimezone(UTC)
        ended = (plain_datetime(now) - anchor) // self.delta
        if ended < 1:
            return None
        start = anchor + (ended - 1) * self.delta
        return DataInterval(start, start + self.delta)

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The grid's interval that contains ``run_after``; ``[run_after, run_after + delta)``
        without an anchor."""
        return DataInterval(*self._delta.interval_for(run_after, self.anchor))


def cron_description(expression: str, zone: tzinfo) -> str:
    """A cron expression in words (the ``cron-descriptor`` package), its times followed by
    the zone's name; the expression itself when the package cannot describe it."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    try:
        words = str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # its errors share no base class: show the expression instead
        return expression
    return f"{words} ({zone_name(zone)})"
