"""``BaseSensorOperator``: a task that waits until a condition holds.

A sensor calls :meth:`BaseSensorOperator.poke` every ``poke_interval`` until it returns
True (or a :class:`PokeReturnValue` that is done), then succeeds; past ``timeout`` it fails
without retrying (:class:`~headwater.exceptions.SensorTimeout`), or is skipped with
``soft_fail=True``. How it waits between pokes:

* ``mode="poke"`` (the default): in its worker, holding its slot, sleeping between pokes;
* ``mode="reschedule"``: each poke is a short try; between pokes the instance is
  ``up_for_reschedule`` and holds no slot (a pool of one slot runs other tasks meanwhile);
* ``deferrable=True`` (sensors that have a trigger): the sensor defers to its trigger and the
  triggerer waits, with no worker at all.

The timeout counts from the first poke of the wait, across reschedules, and no wait runs
past it: the last one is cut to the time left, then the sensor pokes once more and times
out (so ``timeout=3, poke_interval=60`` gives up after 3 s, not 60). Example::

    class TableHasRows(BaseSensorOperator):
        def __init__(self, *, table: str, **kwargs):
            super().__init__(**kwargs)
            self.table = table

        def poke(self, context):
            return count_rows(self.table) > 0

    TableHasRows(task_id="wait", table="sales", poke_interval=30, mode="reschedule")
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.exceptions import (
    DagDefinitionError,
    SensorTimeout,
    TaskRescheduled,
    TaskSkipped,
)

MODES = ("poke", "reschedule")
DEFAULT_TIMEOUT = timedelta(days=7)
_LEAST_WAIT = timedelta(milliseconds=10)


@dataclass(frozen=True)
class PokeReturnValue:
    """What ``poke`` may return instead of a bool: whether the wait is over, and a value the
    sensor pushes as its ``return_value`` XCom when it is."""

    is_done: bool
    xcom_value: Any = None

    def __bool__(self) -> bool:
        return self.is_done


class BaseSensorOperator(BaseOperator):
    """Waits for :meth:`poke` to say the condition holds; subclasses implement ``poke``."""

    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        poke_interval: timedelta | float = 60,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: timedelta | float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poke_interval: timedelta = _seconds(poke_interval, "poke_interval", self.task_id)
        self.timeout: timedelta = _seconds(timeout, "timeout", self.task_id)
        self.soft_fail = bool(soft_fail)
        if mode not in MODES:
            raise DagDefinitionError(
                f"task {self.task_id!r}: mode must be 'poke' or 'reschedule', not {mode!r}"
            )
        self.mode = mode
        self.exponential_backoff = bool(exponential_backoff)
        self.max_wait: timedelta | None = (
            None if max_wait is None else _seconds(max_wait, "max_wait", self.task_id)
        )

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        """Whether the condition holds now (called once per poke)."""
        raise NotImplementedError(f"{type(self).__name__} must implement poke()")

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context["ti"]
        started = getattr(ti, "wait_started_at", None) or _now(ti)
        pokes = int(getattr(ti, "previous_pokes", 0) or 0)
        while True:
            result = self.poke(context)
            if isinstance(result, PokeReturnValue):
                if result.is_done:
                    return result.xcom_value
            elif result:
                return None
            pokes += 1
            now = _now(ti)
            waited = now - started
            if waited >= self.timeout:
                self.time_out(waited)
            # Never wait past the timeout: the last wait is cut to the time left, so a
            # sensor with timeout=3 and poke_interval=60 pokes again at 3 s and times out
            # then, instead of a minute later.
            interval = min(
                self.next_poke_interval(pokes),
                self.timeout - waited,
                self._until_ready(context, now),
            )
            if self.reschedule:
                raise TaskRescheduled(now + interval)
            self.log_waiting(context, interval)
            _sleep(ti, interval)

    def next_poke_interval(self, pokes: int) -> timedelta:
        """The wait before the next poke, after ``pokes`` pokes: ``poke_interval``, or with
        ``exponential_backoff`` ``poke_interval * 2 ** (pokes - 1)`` (no jitter), at most
        ``max_wait``."""
        interval = self.poke_interval
        if self.exponential_backoff:
            interval = self.poke_interval * (2 ** min(max(pokes - 1, 0), 30))
        if self.max_wait is not None:
            interval = min(interval, self.max_wait)
        return interval

    def ready_at(self, context: dict[str, Any]) -> datetime | None:
        """When the condition is known to hold, for a sensor that waits for a moment (a date
        and time, a delay after the data interval); None (the default) when it cannot be
        known. The wait before the next poke ends then at the latest, so ``delta=2 s`` with
        the default ``poke_interval=60`` pokes again after 2 s, not after a minute."""
        return None

    def _until_ready(self, context: dict[str, Any], now: datetime) -> timedelta:
        ready = self.ready_at(context)
        if ready is None:
            return timedelta.max
        # At least a moment: the condition is "now is past the moment", so a wait of
        # nothing could poke again before the clock moves.
        return max(ready - now, _LEAST_WAIT)

    def time_out(self, waited: timedelta) -> None:
        """Raise what a sensor past its ``timeout`` raises: skipped with ``soft_fail``, else
        failed without retrying."""
        message = (
            f"sensor {self.task_id!r} timed out after {waited.total_seconds():g} s "
            f"(timeout {self.timeout.total_seconds():g} s)"
        )
        if self.soft_fail:
            raise TaskSkipped(message)
        raise SensorTimeout(message)

    def log_waiting(self, context: dict[str, Any], interval: timedelta) -> None:
        ti = context.get("ti")
        log = getattr(ti, "log", None)
        if log is not None:
            log.info("Condition not met; poking again in %g s", interval.total_seconds())


def _now(ti: Any) -> datetime:
    """The attempt's clock (``ti.now``: a driver's fake clock in tests), else the system's."""
    clock = getattr(ti, "now", None)
    return clock() if callable(clock) else datetime.now(UTC)


def _sleep(ti: Any, interval: timedelta) -> None:
    """Wait ``interval`` between pokes: with the attempt's own ``ti.sleep`` where it has one
    (a fake clock's, in tests), else on the system clock."""
    sleep = getattr(ti, "sleep", None)
    if callable(sleep):
        sleep(interval.total_seconds())
    else:
        time.sleep(interval.total_seconds())


def _seconds(value: timedelta | float, name: str, task_id: str) -> timedelta:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be seconds or a timedelta, not {value!r}"
        )
    if not seconds >= 0 or seconds == float("inf"):
        raise DagDefinitionError(f"task {task_id!r}: {name} must be >= 0 seconds, not {value!r}")
    return timedelta(seconds=seconds)
