"""Schedules: when a DAG's runs happen, as data intervals.

A *scheduled* run covers the data interval ``[start, end)``, is created once ``end`` has
passed and has ``start`` as its logical date: Airflow's semantics. A run started by hand at a
logical date ``D`` (``dags trigger``, ``dags test``, ``dag.test()``, ``run_dag``) keeps ``D``
as its logical date, and its data interval is :meth:`Schedule.interval_for`
``(D, start_date)``: the schedule's interval that contains ``D`` (``[D, D]`` without a
schedule). Airflow gives manual runs the last complete interval before ``D`` instead.

The DAG's ``start_date`` sets the schedule's time zone (UTC without one), in which cron fields
are read, and the grid of a ``timedelta`` schedule's intervals (``start_date + k * delta``).
Across daylight-saving changes a cron that names its hours fires once per wall-clock time (the
first pass through a repeated hour; a time that does not exist fires when the clocks have gone
forward, as cron does), and a cron whose hour field is ``*`` fires every real hour.
Intervals are returned in UTC, as they are stored. Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from headwater.authoring.dates import plain_datetime
from headwater.exceptions import InvalidScheduleError

PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


class Schedule:
    """Turns a logical date into a data interval and finds the next interval."""

    description = "None"

    def interval_for(
        self, logical_date: datetime, start_date: datetime | None = None
    ) -> tuple[datetime, datetime]:
        """The data interval of a run started by hand at ``logical_date``: the schedule's
        interval that contains it. ``start_date`` is the DAG's (see the module's docstring).

        ``[logical_date, logical_date]`` here, for runs without a real schedule.
        """
        return logical_date, logical_date

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        """The first interval that starts at or after ``after``; None if there is none."""
        return None


class NullSchedule(Schedule):
    """``schedule=None``: runs only when triggered."""


class OnceSchedule(Schedule):
    """``"@once"``: one run at the start date."""

    description = "@once"

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        return after, after


CRON_FIELDS: tuple[tuple[str, str], ...] = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-6 or sun-sat"),
)
"""The five fields of a cron expression, in order, with the values each takes."""

_FIELDS_HINT = "'minute hour day-of-month month day-of-week', e.g. '0 6 * * *'"

# A cron expression that never fires (Feb 30) is found by looking for its first fire time
# after this moment, when the DAG has no start date.
_NEVER_FIRES_PROBE = datetime(2000, 1, 1, tzinfo=UTC)


class CronSchedule(Schedule):
    """A cron expression (or preset); intervals run from one fire time to the next.

    Exactly five fields (croniter's optional seconds and year fields are refused). Raises
    :class:`InvalidScheduleError` saying what is wrong: the number of fields, or the field
    whose value croniter refuses.
    """

    def __init__(self, expression: str) -> None:
        from croniter import croniter

        self.description = expression
        self.expression = PRESETS.get(expression, expression)
        if expression.startswith("@") and expression not in PRESETS:
            known = ", ".join([*PRESETS, "@once"])
            raise InvalidScheduleError(f"unknown schedule preset {expression!r}; known: {known}")
        fields = self.expression.split()
        if len(fields) != len(CRON_FIELDS):
            raise InvalidScheduleError(
                f"invalid cron expression {expression!r}: expected 5 fields {_FIELDS_HINT}; "
                f"got {len(fields)}"
            )
        if not croniter.is_valid(self.expression):
            raise InvalidScheduleError(_cron_error(expression, fields))
        # croniter normalises an hour field that covers every hour ("*", "0-23", "*/1") to "*".
        self.every_hour = croniter(self.expression).expanded[1] == ["*"]
        """Whether the hour field is ``*``: fire times follow absolute time, every real hour
        (both passes of a repeated hour); otherwise the wall clock, once per local time."""

    def check_fires(self, after: datetime | None) -> None:
        """Raise :class:`InvalidScheduleError` if the expression has no fire time after
        ``after`` (a fixed date when None): ``0 0 30 2 *``, Feb 30, never fires."""
        try:
            self._next(after if after is not None else _NEVER_FIRES_PROBE)
        except (ValueError, OverflowError):  # croniter's CroniterBadDateError is a ValueError
            since = f" after {after.isoformat()}" if after is not None else ""
            raise InvalidScheduleError(
                f"cron expression {self.description!r} never fires{since}: no date matches "
                "its day-of-month, month and day-of-week (e.g. Feb 30)"
            ) from None

    def _next(self, moment: datetime) -> datetime:
        """The first fire time after ``moment``, read in ``moment``'s zone."""
        from croniter import croniter

        fires = croniter(self.expression, moment)
        result: datetime = fires.get_next(datetime)
        while self._runs_once_per_wall_time(result):
            result = fires.get_next(datetime)
        return result

    def _prev(self, moment: datetime) -> datetime:
        """The last fire time before ``moment``, read in ``moment``'s zone."""
        from croniter import croniter

        fires = croniter(self.expression, moment)
        result: datetime = fires.get_prev(datetime)
        while self._runs_once_per_wall_time(result):
            result = fires.get_prev(datetime)
        return result

    def _runs_once_per_wall_time(self, fire: datetime) -> bool:
        """Whether croniter's ``fire`` is a second pass through a wall-clock time, to leave
        out. croniter fires on every real instant a cron matches, so on a fall-back day
        ``0 2 * * *`` in Berlin fires at 02:00 summer time and again at 02:00 winter time.
        cron (and Airflow) run such a job once, the first time; only a schedule whose hour
        field is ``*`` runs in both passes of the repeated hour, so ``@hourly`` runs every
        real hour. (A time skipped by a spring-forward change needs nothing: croniter fires
        when the clocks have gone forward, as cron does.)"""
        return not self.every_hour and _is_second_pass(fire)

    def fire_after(self, moment: datetime) -> datetime:
        """The first fire time after ``moment``, read in ``moment``'s zone."""
        return self._next(moment)

    def fire_at_or_before(self, moment: datetime) -> datetime:
        """``moment`` if it is a fire time, else the last one before it (``moment``'s zone)."""
        return self._align(moment)

    def _align(self, moment: datetime) -> datetime:
        """``moment`` if it is a fire time, else the fire time just before it."""
        return moment if self._next(self._prev(moment)) == moment else self._prev(moment)

    def interval_for(
        self, logical_date: datetime, start_date: datetime | None = None
    ) -> tuple[datetime, datetime]:
        """From the last fire time at or before ``logical_date`` to the next fire time, read
        in ``start_date``'s time zone (UTC without one); in UTC."""
        return self.interval_in(logical_date, schedule_zone(start_date))

    def interval_in(self, moment: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
        """From the last fire time at or before ``moment`` to the next fire time, read in
        ``zone``; in UTC."""
        local = plain_datetime(moment).astimezone(zone)
        start = self._align(local)
        return start.astimezone(UTC), self._next(start).astimezone(UTC)

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        """In ``after``'s time zone: convert ``after`` to the DAG's zone first."""
        start = after if self._align(after) == after else self._next(after)
        return start, self._next(start)


def _is_second_pass(moment: datetime) -> bool:
    """Whether ``moment``'s wall-clock time already happened earlier, in the hour a
    fall-back change repeats (the same time with ``fold=0`` is an earlier instant)."""
    first_pass = moment.replace(fold=0)
    if first_pass.utcoffset() == moment.utcoffset():
        return False
    return first_pass.astimezone(UTC) < moment.astimezone(UTC)


def _cron_error(expression: str, fields: list[str]) -> str:
    """Why croniter refuses a five-field ``expression``, naming the field at fault."""
    from croniter import CroniterError, croniter

    try:
        croniter(" ".join(fields))
        reason = "croniter refuses it"
    except (CroniterError, ValueError) as exc:
        reason = str(exc)
    for index, (name, values) in enumerate(CRON_FIELDS):
        alone = ["*"] * len(CRON_FIELDS)
        alone[index] = fields[index]
        if not croniter.is_valid(" ".join(alone)):
            return (
                f"invalid cron expression {expression!r}: the {name} field {fields[index]!r} is "
                f"not valid ({name}: {values}): {reason}"
            )
    return f"invalid cron expression {expression!r}: {reason}"


class DeltaSchedule(Schedule):
    """Fixed-length intervals counted from the DAG's ``start_date``: ``start_date + k * delta``.

    Lengths are absolute (a day is 24 h, also across a daylight-saving change).
    """

    def __init__(self, delta: timedelta) -> None:
        if delta <= timedelta(0):
            raise InvalidScheduleError(f"a timedelta schedule must be positive, got {delta}")
        self.delta = delta
        self.description = str(delta)

    def interval_for(
        self, logical_date: datetime, start_date: datetime | None = None
    ) -> tuple[datetime, datetime]:
        """The interval ``[start_date + k * delta, start_date + (k + 1) * delta)`` that contains
        ``logical_date`` (also before ``start_date``); ``[logical_date, logical_date + delta)``
        without a ``start_date``. In UTC."""
        # Plain datetimes: pendulum's subtraction gives an Interval, which // delta refuses.
        moment = plain_datetime(logical_date).astimezone(UTC)
        if start_date is None:
            return moment, moment + self.delta
        anchor = plain_datetime(start_date).astimezone(UTC)
        start = anchor + ((moment - anchor) // self.delta) * self.delta
        return start, start + self.delta

    def first_at_or_after(
        self, moment: datetime, start_date: datetime | None
    ) -> tuple[datetime, datetime]:
        """The first interval of the ``start_date`` grid that starts at or after ``moment``
        (``[moment, moment + delta)`` without a ``start_date``). In UTC."""
        start, end = self.interval_for(moment, start_date)
        if start < moment.astimezone(UTC):
            start, end = end, end + self.delta
        return start, end

    def next_interval(self, after: datetime) -> tuple[datetime, datetime] | None:
        """``[after, after + delta)``, in UTC: not aligned to any grid (see
        :meth:`first_at_or_after`)."""
        start = after.astimezone(UTC)
        return start, start + self.delta


def schedule_zone(start_date: datetime | None) -> tzinfo:
    """The time zone a DAG's schedule is read in: its ``start_date``'s, else UTC (Airflow's
    default ``core.default_timezone``)."""
    if start_date is None or start_date.tzinfo is None:
        return UTC
    return plain_datetime(start_date).tzinfo or UTC


def parse_schedule(value: Any) -> Schedule:
    """Build a :class:`Schedule` from what ``DAG(schedule=...)`` accepts."""
    if value is None:
        return NullSchedule()
    if isinstance(value, Schedule):
        return value
    if isinstance(value, timedelta):
        return DeltaSchedule(value)
    if isinstance(value, str):
        if value == "@once":
            return OnceSchedule()
        return CronSchedule(value.strip())
    raise InvalidScheduleError(
        f"schedule must be None, a cron string, a preset like '@daily', a timedelta or a "
        f"Timetable (from headwater.timetables); got {value!r}"
    )
