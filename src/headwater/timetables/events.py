"""A timetable of listed moments: irregular but known dates (match days, release dates)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from headwater.authoring.dates import plain_datetime
from headwater.exceptions import InvalidScheduleError
from headwater.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable


class EventsTimetable(Timetable):
    """One run at each of ``event_dates`` (aware datetimes; duplicates count once), created
    at that moment, its data interval ``[event, event]``.

    A run started by hand covers its own moment, or with ``restrict_to_events`` the latest
    event at or before it (the first event when all are later). ``presorted`` says the
    dates are in order already (they are sorted otherwise). ``description`` names the
    timetable in the UI (default: "N events between FIRST and LAST").

    Example::

        EventsTimetable([datetime(2025, 6, 14, 19, tzinfo=UTC), datetime(2025, 6, 21, tzinfo=UTC)])
    """

    def __init__(
        self,
        event_dates: Iterable[datetime],
        restrict_to_events: bool = False,
        presorted: bool = False,
        description: str | None = None,
    ) -> None:
        dates = []
        for when in event_dates:
            if not isinstance(when, datetime) or when.tzinfo is None:
                raise InvalidScheduleError(
                    f"EventsTimetable: every event date must be an aware datetime, got {when!r}"
                )
            dates.append(plain_datetime(when))
        self.event_dates = dates if presorted else sorted(dates)
        self.restrict_to_events = restrict_to_events
        self._description = description
        if description is not None:
            self.description = description
        elif dates:
            first, last = self.event_dates[0], self.event_dates[-1]
            self.description = (
                f"{len(dates)} events between {first.isoformat()} and {last.isoformat()}"
            )
        else:
            self.description = "no events"

    @property
    def summary(self) -> str:
        if self._description is not None:
            return self._description
        return f"{len(self.event_dates)} events"

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        earliest = restriction.earliest
        if not restriction.catchup:
            now = restriction.current_time()
            if earliest is None or now > earliest:
                earliest = now
        last = last_automated_data_interval
        for event in self._from(earliest):
            if last is not None and event <= last.end:
                continue
            if restriction.latest is not None and event > restriction.latest:
                return None
            return DagRunInfo.exact(event)
        return None

    def _from(self, earliest: datetime | None) -> list[datetime]:
        """The events at or after ``earliest`` (all of them without one)."""
        if earliest is None:
            return self.event_dates
        return self.event_dates[bisect.bisect_left(self.event_dates, earliest) :]

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        if not self.restrict_to_events or not self.event_dates:
            return DataInterval.exact(run_after)
        index = bisect.bisect_right(self.event_dates, run_after)
        return DataInterval.exact(self.event_dates[max(index - 1, 0)])

    def serialize(self) -> dict[str, Any]:
        return {
            "event_dates": [when.isoformat() for when in self.event_dates],
            "restrict_to_events": self.restrict_to_events,
            "description": self._description,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(
            [datetime.fromisoformat(when) for when in data["event_dates"]],
            restrict_to_events=data["restrict_to_events"],
            presorted=True,
            description=data["description"],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventsTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.event_dates)))
