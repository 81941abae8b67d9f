"""Deadlines of DAG runs and SLAs of tasks: what "late" means, declared in the DAG file.

A DAG's ``deadline`` says by when each of its runs must have finished, counted from a moment
of the run (:class:`DeadlineReference`)::

    DAG(
        "daily_report",
        schedule="@daily",
        deadline=Deadline(
            reference=DeadlineReference.DATA_INTERVAL_END,
            interval=timedelta(hours=2),
            callback=SlackWebhookNotifier(slack_webhook_conn_id="alerts"),
        ),
    )

A task's ``sla`` says by when the task must have finished: a duration after its run started
(``sla=timedelta(minutes=30)``) or a time of day (``sla=time(6, 0)``, the first 06:00 at or
after the end of the run's data interval, in the DAG's time zone; for a run without a data
interval, after the run started).

The scheduler checks both as time passes (:mod:`headwater.scheduler.deadline_checks`), so a
miss is noticed while the work is still running. Each miss is recorded once and survives a
scheduler restart; its callbacks (the deadline's own ``callback``, else the DAG's
``sla_miss_callback``) are called once, away from the scheduler's loop.

Authoring only describes: nothing here reads the clock or the database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from headwater.exceptions import DagDefinitionError

__all__ = ["Deadline", "DeadlineReference", "check_deadlines", "check_sla"]

Callback = Callable[[dict[str, Any]], Any]


class DeadlineReference(enum.Enum):
    """The moment of a run that a :class:`Deadline`'s interval is counted from."""

    DATA_INTERVAL_END = "data_interval_end"
    """The end of the run's data interval (its logical date for a run without one): "the
    report for a day is ready two hours after the day ends"."""
    LOGICAL_DATE = "logical_date"
    """The run's logical date."""
    QUEUED_AT = "queued_at"
    """When the run was queued (created, triggered or cleared): "within 30 minutes of being
    asked for"."""
    STARTED_AT = "started_at"
    """When the run started (left the queue)."""


@dataclass(frozen=True)
class Deadline:
    """Each run of the DAG must have finished ``interval`` after ``reference``.

    ``callback`` (a notifier, a function of the context, or a list of them) is called once
    when a run misses it; without one, the DAG's ``sla_miss_callback`` is. ``name`` tells
    several deadlines of one DAG apart in the UI, the CLI and the API (default: made from the
    reference and the interval).
    """

    reference: DeadlineReference
    interval: timedelta
    callback: Callback | list[Callback] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.reference, DeadlineReference):
            raise DagDefinitionError(
                f"Deadline: reference must be a DeadlineReference "
                f"({', '.join(r.name for r in DeadlineReference)}), got {self.reference!r:.80}"
            )
        if not isinstance(self.interval, timedelta) or self.interval < timedelta(0):
            raise DagDefinitionError(
                f"Deadline: interval must be a timedelta of zero or more, got {self.interval!r:.80}"
            )
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise DagDefinitionError("Deadline: name must be a string of at most 200 characters")
        if not self.name:
            minutes = self.interval.total_seconds() / 60
            object.__setattr__(self, "name", f"{self.reference.value}+{minutes:g}m")


def check_deadlines(value: Any, owner: str) -> list[Deadline]:
    """``deadline=`` of a DAG: None, one :class:`Deadline` or several, with distinct names."""
    if value is None:
        return []
    items = [value] if isinstance(value, Deadline) else value
    if not isinstance(items, Iterable) or not all(isinstance(d, Deadline) for d in items):
        raise DagDefinitionError(
            f"{owner}: deadline must be a Deadline or a list of them, got {value!r:.80}"
        )
    deadlines = list(items)
    names = [d.name for d in deadlines]
    if len(set(names)) != len(names):
        raise DagDefinitionError(f"{owner}: two deadlines have the same name; give each a name")
    return deadlines


def check_sla(value: Any, task_id: str) -> timedelta | time | None:
    """``sla=`` of a task: None, a positive timedelta (after the run started) or a time of day
    (naive: in the DAG's time zone)."""
    if value is None:
        return None
    if isinstance(value, timedelta) and value > timedelta(0):
        return value
    if isinstance(value, time) and not isinstance(value, datetime) and value.tzinfo is None:
        return value
    raise DagDefinitionError(
        f"task {task_id!r}: sla must be a positive timedelta (after the run starts) or a "
        f"time of day without a time zone, e.g. time(6, 0); got {value!r:.80}"
    )
