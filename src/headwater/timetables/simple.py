"""The timetables without intervals: ``schedule=None`` (:class:`NullTimetable`) and
``schedule="@once"`` (:class:`OnceTimetable`)."""

from __future__ import annotations

from headwater.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable


class _TrivialTimetable(Timetable):
    periodic = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timetable):
            return NotImplemented
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class NullTimetable(_TrivialTimetable):
    """No scheduled runs: the DAG runs when triggered (``schedule=None``)."""

    can_be_scheduled = False
    description = "never (manual only)"

    @property
    def summary(self) -> str:
        return "None"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        return None


class OnceTimetable(_TrivialTimetable):
    """One scheduled run, at the DAG's ``start_date`` (``schedule="@once"``); none without
    a ``start_date``."""

    description = "once"

    @property
    def summary(self) -> str:
        return "@once"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None or restriction.earliest is None:
            return None
        return DagRunInfo.exact(restriction.earliest)
