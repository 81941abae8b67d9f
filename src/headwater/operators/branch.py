"""Branching on a condition: ``BaseBranchOperator`` and the day-of-week and date/time
branches (Airflow's ``BranchDayOfWeekOperator`` and ``BranchDateTimeOperator``).

A branch operator's :meth:`~BaseBranchOperator.choose_branch` returns the task ids (or task
group ids) to follow; its other direct downstream tasks are skipped, through the same
mechanism as ``BranchPythonOperator`` (``ti.follow_branches``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from headwater.authoring.operator import BaseOperator
from headwater.authoring.schedules import schedule_zone
from headwater.exceptions import DagDefinitionError
from headwater.operators.python import normalize_branch
from headwater.operators.weekday import WeekDay, week_days


class BaseBranchOperator(BaseOperator):
    """A task that chooses which of its direct downstream tasks run: subclasses implement
    :meth:`choose_branch`; the tasks it does not return are skipped."""

    ui_color = "#ffefeb"

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str] | None:
        """The task id(s) to follow (None or ``[]``: skip every direct downstream task)."""
        raise NotImplementedError(f"{type(self).__name__} must implement choose_branch()")

    def execute(self, context: dict[str, Any]) -> Any:
        chosen = normalize_branch(self.choose_branch(context), self.task_id)
        context["ti"].log.info("Following branch %s", chosen or "(none: skipping downstream)")
        context["ti"].follow_branches(chosen)
        return chosen

    def _now(self) -> datetime:
        """The current time (UTC), for the operators that compare with it."""
        return datetime.now(UTC)

    def _zone(self) -> tzinfo:
        """The DAG's time zone (its start date's), UTC without one."""
        return schedule_zone(self.dag.start_date if self.dag is not None else None)


def _task_ids(value: Any, name: str, task_id: str) -> list[str]:
    try:
        return normalize_branch(value, task_id)
    except TypeError:
        raise DagDefinitionError(
            f"task {task_id!r}: {name} must be a task id or a list of task ids, got {value!r:.80}"
        ) from None


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follow ``follow_task_ids_if_true`` on the given week day(s), else
    ``follow_task_ids_if_false``.

    ``week_day``: a day's name (``"Monday"``, any case), a :class:`WeekDay`, or a set or list
    of them. The day is today's in the DAG's time zone, or the run's logical date's with
    ``use_task_logical_date=True`` (what backfills and reruns should use).

    Example::

        BranchDayOfWeekOperator(task_id="weekend", week_day={"Saturday", "Sunday"},
                                follow_task_ids_if_true="relax",
                                follow_task_ids_if_false="work")
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = _task_ids(
            follow_task_ids_if_true, "follow_task_ids_if_true", self.task_id
        )
        self.follow_task_ids_if_false = _task_ids(
            follow_task_ids_if_false, "follow_task_ids_if_false", self.task_id
        )
        try:
            self.week_day: frozenset[WeekDay] = week_days(week_day)
        except ValueError as exc:
            raise DagDefinitionError(f"task {self.task_id!r}: week_day: {exc}") from None
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context: dict[str, Any]) -> list[str]:
        if self.use_task_logical_date:
            moment: datetime = context["logical_date"]
        else:
            moment = self._now().astimezone(self._zone())
        day = WeekDay(moment.isoweekday())
        context["ti"].log.info(
            "%s is a %s; week days: %s",
            moment.isoformat(),
            day.name.title(),
            ", ".join(d.name.title() for d in sorted(self.week_day)),
        )
        return (
            self.follow_task_ids_if_true
            if day in self.week_day
            else (self.follow_task_ids_if_false)
        )


class BranchDateTimeOperator(BaseBranchOperator):
    """Follow ``follow_task_ids_if_true`` when the time is within ``[target_lower,
    target_upper]``, else ``follow_task_ids_if_false``.

    Each bound is a ``datetime`` or a ``time`` of day (either may be None: unbounded, not
    both). Times of day are taken on the compared moment's date; an upper time before the
    lower one means the next day (``time(22) .. time(2)`` spans midnight). Naive values are
    in the DAG's time zone. The compared moment is now, or the run's logical date with
    ``use_task_logical_date=True``.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        target_lower: datetime | time | None,
        target_upper: datetime | time | None,
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = _task_ids(
            follow_task_ids_if_true, "follow_task_ids_if_true", self.task_id
        )
        self.follow_task_ids_if_false = _task_ids(
            follow_task_ids_if_false, "follow_task_ids_if_false", self.task_id
        )
        if target_lower is None and target_upper is None:
            raise DagDefinitionError(
                f"task {self.task_id!r}: target_lower and target_upper are both None; "
                "give at least one to compare the time with"
            )
        for name, value in (("target_lower", target_lower), ("target_upper", target_upper)):
            if value is not None and not isinstance(value, datetime | time):
                raise DagDefinitionError(
                    f"task {self.task_id!r}: {name} must be a datetime, a time or None, "
                    f"got {value!r:.80}"
                )
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context: dict[str, Any]) -> list[str]:
        now: datetime = context["logical_date"] if self.use_task_logical_date else self._now()
        inside = within(now, self.target_lower, self.target_upper, self._zone())
        context["ti"].log.info(
            "%s is %s [%s, %s]",
            now.isoformat(),
            "within" if inside else "outside",
            self.target_lower,
            self.target_upper,
        )
        return self.follow_task_ids_if_true if inside else self.follow_task_ids_if_false


def within(
    moment: datetime, lower: datetime | time | None, upper: datetime | time | None, zone: tzinfo
) -> bool:
    """Whether ``moment`` (aware) is within ``[lower, upper]`` as
    :class:`BranchDateTimeOperator` reads its bounds; naive bounds are in ``zone``."""
    local = moment.astimezone(zone)
    low = _on(local, lower, zone)
    high = _on(local, upper, zone)
    if low is not None and high is not None and high < low and isinstance(upper, time):
        high += timedelta(days=1)
    if high is not None and high < moment:
        return False
    return low is None or low <= moment


def _on(local: datetime, bound: datetime | time | None, zone: tzinfo) -> datetime | None:
    if bound is None:
        return None
    if isinstance(bound, datetime):
        return bound if bound.tzinfo is not None else bound.replace(tzinfo=zone)
    moment = datetime.combine(local.date(), bound.replace(tzinfo=None))
    return moment.replace(tzinfo=bound.tzinfo or zone)
