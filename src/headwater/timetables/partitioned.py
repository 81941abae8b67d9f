"""Timetables of Airflow 3.3's partitioned assets (see
:mod:`headwater.authoring.asset_partitions`): producers whose runs carry a partition key.

* :class:`CronPartitionTimetable`: runs at cron times, as :class:`CronTriggerTimetable`;
  each scheduled run works on the key of its partition date (its cron time, or
  ``run_offset`` fire times before or after it), formatted with ``key_format`` in the
  timetable's time zone: ``CronPartitionTimetable("0 * * * *", timezone="UTC")`` runs at
  10:00 on key ``2024-03-13T10:00:00``.
* :class:`PartitionedAtRuntime`: no scheduled runs; a run is triggered with a key, or its
  tasks name the keys they update (``outlet_events[asset].add_partitions(...)``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from headwater.exceptions import InvalidPartitionKeyError, InvalidScheduleError
from headwater.timetables._zones import zone_name
from headwater.timetables.simple import NullTimetable
from headwater.timetables.trigger import CronTriggerTimetable

__all__ = ["CronPartitionTimetable", "PartitionedAtRuntime"]

DEFAULT_KEY_FORMAT = "%Y-%m-%dT%H:%M:%S"

_MAX_OFFSET = 10_000
"""Most fire times a ``run_offset`` may step (each one is a cron computation)."""


class CronPartitionTimetable(CronTriggerTimetable):
    """Runs at each fire time of ``cron`` in ``timezone``; a scheduled run's partition key is
    its partition date (the fire time, moved ``run_offset`` fire times: -1 the one before)
    formatted with ``key_format`` (a ``strftime`` format) in ``timezone``.

    ``run_immediately`` is accepted for Airflow's files: without a ``start_date`` headwater
    starts at the next fire time (Airflow's ``run_immediately=False``).
    """

    def __init__(
        self,
        cron: str,
        *,
        timezone: str | tzinfo,
        run_offset: int | None = None,
        run_immediately: bool | timedelta = False,
        key_format: str = DEFAULT_KEY_FORMAT,
    ) -> None:
        super().__init__(cron, timezone)
        if run_offset is not None and (
            isinstance(run_offset, bool)
            or not isinstance(run_offset, int)
            or abs(run_offset) > _MAX_OFFSET
        ):
            raise InvalidScheduleError(
                f"CronPartitionTimetable: run_offset must be a whole number of fire times "
                f"(at most {_MAX_OFFSET} either way), got {run_offset!r:.40}"
            )
        self.run_offset = run_offset or 0
        if not isinstance(run_immediately, bool | timedelta):
            raise InvalidScheduleError(
                "CronPartitionTimetable: run_immediately must be True, False or a timedelta, "
                f"got {run_immediately!r:.40}"
            )
        self.run_immediately = run_immediately
        if not isinstance(key_format, str) or "%" not in key_format:
            raise InvalidScheduleError(
                "CronPartitionTimetable: key_format must be a strftime format with at least "
                f"one % directive, like '%Y-%m-%d', got {key_format!r:.60}"
            )
        self.key_format = key_format

    @property
    def summary(self) -> str:
        return f"{self.expression} (partitioned)"

    def partition_date(self, run_date: datetime) -> datetime:
        """The partition date of the run at fire time ``run_date``."""
        moment = run_date
        for _ in range(abs(self.run_offset)):
            if self.run_offset > 0:
                moment = self.fire_after(moment)
            else:
                moment = self.fire_at_or_before(moment - timedelta(microseconds=1))
        return moment

    def partition_key(self, run_date: datetime) -> str:
        """The partition key of the run at fire time ``run_date``."""
        return self.partition_date(run_date).astimezone(self.timezone).strftime(self.key_format)

    def date_of_key(self, key: str) -> datetime:
        """The partition date key ``key`` stands for (``key_format`` read back in the time
        zone), or :class:`InvalidPartitionKeyError`."""
        try:
            naive = datetime.strptime(key, self.key_format)
        except (TypeError, ValueError):
            raise InvalidPartitionKeyError(
                f"partition key {key!r:.80} does not match the timetable's key_format "
                f"{self.key_format!r}"
            ) from None
        if naive.tzinfo is not None:
            return naive.astimezone(UTC)
        return naive.replace(tzinfo=self.timezone).astimezone(UTC)

    def serialize(self) -> dict[str, Any]:
        immediately = self.run_immediately
        return {
            "expression": self.expression,
            "timezone": zone_name(self.timezone),
            "run_offset": self.run_offset,
            "run_immediately": (
                immediately.total_seconds() if isinstance(immediately, timedelta) else immediately
            ),
            "key_format": self.key_format,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> CronPartitionTimetable:
        immediately = data.get("run_immediately", False)
        return cls(
            data["expression"],
            timezone=data["timezone"],
            run_offset=data.get("run_offset"),
            run_immediately=(
                immediately
                if isinstance(immediately, bool)
                else timedelta(seconds=float(immediately))
            ),
            key_format=data.get("key_format", DEFAULT_KEY_FORMAT),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronPartitionTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self), self.expression, self.run_offset, self.key_format))


class PartitionedAtRuntime(NullTimetable):
    """No scheduled runs (as ``schedule=None``): a run gets its partition key when it is
    triggered, or its tasks name the keys they update while they run."""

    description = "never (manual only); partition keys named at run time"

    @property
    def summary(self) -> str:
        return "partitioned at runtime"
