"""Clocks: the system clock, and a controllable one for tests. Loops never call time directly."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from headwater.authoring.dates import plain_datetime


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to, or when something sleeps on it.

    Example::

        clock = FakeClock(datetime(2024, 1, 1, tzinfo=UTC))
        result = run_dag(dag, clock=clock)     # retry delays pass instantly
        clock.advance(timedelta(minutes=5))
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = plain_datetime(start or datetime(2024, 1, 1, tzinfo=UTC))
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self.slept: list[float] = []
        """Every sleep, in seconds, in order: what a test asserts retry delays on."""

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self._now += timedelta(seconds=seconds)

    def advance(self, delta: timedelta) -> None:
        self._now += delta
