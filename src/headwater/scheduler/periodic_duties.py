"""What the scheduler does now and then, beside runs and tasks: each duty has a ``tick(now)``
that the loop calls often (after every wait on the executor and in every full pass) and that
decides itself whether its time has come, so a duty due in between full passes is not late.

A tick must be quick (a query or two): anything slow (sending a notification, deleting old
rows) goes to a thread or a child process the duty starts, so the loop never waits on it. A
duty that raises is logged and tried again on the next tick; it never stops the scheduler.
:meth:`stop` is called once when the scheduler stops.

The duties (built by :func:`build_duties`):

* :mod:`~headwater.scheduler.deadline_checks`: DAG-run deadlines and task SLAs that passed.
* :mod:`~headwater.scheduler.retention`: removing old runs once a day (``[retention]``).
* :mod:`~headwater.scheduler.metrics_duty`: the scheduler's gauges (``[metrics]``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from headwater.db.reconnect import is_connection_lost
from headwater.scheduler.deadline_checks import DeadlineChecks
from headwater.scheduler.retention import retention_duties

if TYPE_CHECKING:
    from headwater.scheduler.scheduler_state import SchedulerState

log = logging.getLogger(__name__)


class PeriodicDuty(Protocol):
    name: str

    def tick(self, now: datetime) -> None: ...

    def stop(self) -> None: ...


def build_duties(scheduler: SchedulerState) -> list[PeriodicDuty]:
    """The duties of one scheduler, from its settings."""
    from headwater.scheduler.metrics_duty import MetricsDuty

    duties: list[PeriodicDuty] = [DeadlineChecks(scheduler)]
    duties.append(MetricsDuty(scheduler))
    duties.extend(retention_duties(scheduler))
    return duties


class PeriodicDuties:
    """Runs the duties' ticks, each guarded: one failing duty neither stops the loop nor the
    others, and its error is logged once per change of message (not on every tick)."""

    def __init__(self, duties: list[PeriodicDuty]) -> None:
        self._duties = duties
        self._last_error: dict[str, str] = {}

    def tick(self, now: datetime) -> None:
        for duty in self._duties:
            try:
                duty.tick(now)
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                if is_connection_lost(exc):  # the loop's own retries say it: one line
                    log.warning(
                        "The scheduler's %s check lost the database connection; it is tried "
                        "again",
                        duty.name,
                    )
                elif self._last_error.get(duty.name) != message:
                    log.exception("The scheduler's %s check failed; it is tried again", duty.name)
                self._last_error[duty.name] = message
            else:
                self._last_error.pop(duty.name, None)

    def stop(self) -> None:
        for duty in self._duties:
            try:
                duty.stop()
            except Exception:
                log.exception("Stopping the scheduler's %s check failed", duty.name)
