"""Triggers that fire at a moment: :class:`DateTimeTrigger` and :class:`TimeDeltaTrigger`.

Example (in an operator)::

    self.defer(trigger=DateTimeTrigger(datetime(2025, 1, 1, 6, tzinfo=UTC)),
               method_name="execute_complete")
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.exceptions import HeadwaterError
from headwater.triggers.base import BaseTrigger, TriggerEvent

LONGEST_SLEEP_S = 3600.0
"""The longest single sleep: a long wait wakes up now and then to read the clock again, so a
clock that jumps (a suspended machine, an NTP step) delays the event by an hour at most."""


def aware_moment(value: datetime | str, what: str = "moment") -> datetime:
    """``value`` (a datetime or ISO 8601 text) as a time-zone-aware datetime in UTC; a naive
    one is an error (which zone it means cannot be guessed)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise HeadwaterError(f"{what} {value!r} is not an ISO 8601 date and time") from None
    if not isinstance(value, datetime):
        raise HeadwaterError(f"{what} must be a datetime or ISO 8601 text, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise HeadwaterError(
            f"{what} {value.isoformat()} is naive: give it a time zone (tzinfo=UTC, or a "
            "'+00:00' suffix)"
        )
    return value.astimezone(UTC)


class DateTimeTrigger(BaseTrigger):
    """Fires at ``moment`` (a time-zone-aware datetime, or its ISO 8601 text), or at once if
    it has passed. The event's payload is the moment, as ISO 8601 text in UTC."""

    def __init__(self, moment: datetime | str) -> None:
        self.moment = aware_moment(moment)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # Always the DateTimeTrigger, even for a TimeDeltaTrigger: rebuilt in the triggerer,
        # it keeps the moment it was given instead of counting its delta again.
        return (
            f"{DateTimeTrigger.__module__}.{DateTimeTrigger.__qualname__}",
            {"moment": self.moment.isoformat()},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            left = (self.moment - datetime.now(UTC)).total_seconds()
            if left <= 0:
                break
            await asyncio.sleep(min(left, LONGEST_SLEEP_S))
        yield TriggerEvent(self.moment.isoformat())


class TimeDeltaTrigger(DateTimeTrigger):
    """Fires ``delta`` after it is built: a :class:`DateTimeTrigger` at now + ``delta``
    (serialized as that DateTimeTrigger, so a triggerer restart does not start the wait
    again)."""

    def __init__(self, delta: timedelta) -> None:
        if not isinstance(delta, timedelta):
            raise HeadwaterError(f"delta must be a timedelta, got {delta!r}")
        super().__init__(datetime.now(UTC) + delta)
