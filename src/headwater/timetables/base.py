"""The timetable interface: when a DAG's scheduled runs happen, and what data each covers.

A timetable answers two questions, as pure functions of their arguments (no clock, no I/O,
so that asking twice gives the same answer and the scheduler may ask again after a restart):

* :meth:`Timetable.next_dagrun_info`: given the data interval of the DAG's latest scheduled
  (or backfilled) run, or None before the first, and the :class:`TimeRestriction` the DAG
  sets (its ``start_date``, ``end_date``, ``catchup``, and the moment the scheduler asks),
  the next run to create: a :class:`DagRunInfo` (its data interval, and when it may be
  created), or None when there is none.
* :meth:`Timetable.infer_manual_data_interval`: the data interval of a run started by hand.

The scheduler and backfills ask the DAG's timetable (``dag.timetable``); every
``DAG(schedule=...)`` value becomes one. A custom timetable is stored as its class's import
path and :meth:`Timetable.serialize`'s JSON, and rebuilt with :meth:`Timetable.deserialize`
in the scheduler, which never imports DAG files. Airflow's interface, with one addition:
:attr:`TimeRestriction.now`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any, NamedTuple


class DataInterval(NamedTuple):
    """The data a run covers, ``[start, end)``; both ends are aware datetimes."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        """An interval of one moment, ``[at, at]``: a run at an exact time."""
        return cls(at, at)


class TimeRestriction(NamedTuple):
    """What limits a DAG's scheduled runs.

    ``earliest`` (the DAG's ``start_date``) and ``latest`` (its ``end_date``) bound a run's
    logical date, both inclusive, None when unbounded. Without ``catchup`` missed runs are
    skipped: only the most recent one is created. ``now`` is the moment the scheduler asks
    (headwater's addition to Airflow's interface, so that a timetable never reads the
    clock itself and tests drive it with a fake clock); :meth:`current_time` reads it.
    """

    earliest: datetime | None
    latest: datetime | None
    catchup: bool
    now: datetime | None = None

    def current_time(self) -> datetime:
        """``now``, or the current time when the caller gave none."""
        return self.now if self.now is not None else datetime.now(UTC)


class DagRunInfo(NamedTuple):
    """The next run a timetable plans: its data interval, and ``run_after``, the moment from
    which the scheduler may create it. Its logical date is the interval's start."""

    run_after: datetime
    data_interval: DataInterval

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        """A run at ``at`` exactly: interval ``[at, at]``, created at ``at``."""
        return cls(at, DataInterval.exact(at))

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        """A run over ``[start, end)``, created once the interval has ended."""
        return cls(end, DataInterval(start, end))

    @property
    def logical_date(self) -> datetime:
        return self.data_interval.start


class Timetable(ABC):
    """The base of every timetable: subclass it and implement :meth:`next_dagrun_info`.

    Example, a run every day at 18:00 UTC covering that day::

        class Evenings(Timetable):
            def next_dagrun_info(self, *, last_automated_data_interval, restriction):
                ...  # see docs/data-aware.md, "Timetables", for a complete one

    A subclass that takes arguments also implements :meth:`serialize` (a JSON-compatible
    dict) and :meth:`deserialize` (the instance back from it).
    """

    description: str = ""
    """In words, for people: shown in the UI where the DAG's schedule is."""

    periodic: bool = True
    """Whether it plans runs over and over (False for ``None`` and ``"@once"``); a
    backfill needs a periodic timetable."""

    can_be_scheduled: bool = True
    """Whether the scheduler creates runs at all (False for ``None``)."""

    @property
    def summary(self) -> str:
        """A short name for the schedule (``dags list`` shows it): the class's name unless a
        subclass says better."""
        return type(self).__name__

    @abstractmethod
    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        """The next run to create after the one whose interval is
        ``last_automated_data_interval`` (None before the first scheduled run), within
        ``restriction``; None when there is none (the scheduler asks again later)."""

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The data interval of a run started by hand at ``run_after`` (its logical date):
        ``[run_after, run_after]`` unless a subclass says otherwise."""
        return DataInterval.exact(run_after)

    def serialize(self) -> dict[str, Any]:
        """What :meth:`deserialize` needs to rebuild this timetable, as JSON-compatible values
        (none by default)."""
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        """The timetable :meth:`serialize` described (``cls()`` by default)."""
        return cls()

    def validate(self) -> None:
        """Raise :class:`~headwater.exceptions.InvalidScheduleError` if the timetable cannot
        work; called when a DAG takes it. Nothing to check by default."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.summary}>"
