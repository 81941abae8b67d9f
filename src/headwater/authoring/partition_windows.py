"""Rollup windows and wait policies: which upstream partitions make up one downstream
partition, and how many of them a downstream run waits for (Airflow 3.3's names).

A :class:`Window` lists the members of one period in the upstream mapper's *decoded* form
(a period-start ``datetime`` for the temporal mappers, the key itself otherwise); the mapper
turns them into keys. A :class:`WaitPolicy` decides from the expected and the arrived keys
whether the downstream run may start::

    RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())   # 24 hourly keys
    RollupMapper(upstream_mapper=StartOfMonthMapper(input_format="%Y-%m-%d"),
                 window=MonthWindow(), wait_policy=MinimumCount(-2))        # <= 2 days missing
    RollupMapper(upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["eu", "us"]))

Members, for a period starting at ``S`` (``FORWARD``, the default) or ending at ``S``
(``BACKWARD``, the trailing period; used by ``FanOutMapper``):

=================  ====================  ==================================================
window             forward               backward
=================  ====================  ==================================================
``HourWindow``     60 minutes from S     the 60 minutes ending at S
``DayWindow``      24 hours from S       the 24 hours ending at S
``WeekWindow``     7 days from S         the 7 days ending at S
``MonthWindow``    each day of S's month the days after S minus one month, up to S
``QuarterWindow``  3 months from S       the 3 months ending at S
``YearWindow``     12 months from S      the 12 months ending at S
``SegmentWindow``  its segments          its segments
=================  ====================  ==================================================

Steps are taken on wall-clock time: a day has 24 hours even when the clocks change. Month,
quarter and year windows need ``S`` on the first of a month.

Stored as ``{"kind": "day", "direction": "forward"}``, ``{"kind": "segment", "segments":
[...]}``, ``{"kind": "minimum_count", "n": -2}`` (see :mod:`.partition_stored`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Self

from headwater.authoring.partition_stored import Stored, read_stored
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError

__all__ = [
    "DayWindow",
    "HourWindow",
    "MinimumCount",
    "MonthWindow",
    "QuarterWindow",
    "SegmentWindow",
    "WaitForAll",
    "WaitPolicy",
    "WeekWindow",
    "Window",
    "YearWindow",
    "wait_policy_from_json",
    "wait_policy_to_json",
    "window_from_json",
    "window_to_json",
]


class Window(Stored, abc.ABC):
    """Which decoded upstream items make up one decoded downstream period (see the module's
    table); paired with an upstream mapper in a ``RollupMapper`` or ``FanOutMapper``."""

    class Direction(StrEnum):
        """Whether a window's period starts at its anchor (FORWARD) or ends there."""

        FORWARD = "forward"
        """The period starting at the anchor (the default)."""
        BACKWARD = "backward"
        """The trailing period ending at the anchor."""

    expected_decoded_type: ClassVar[type] = str
    """What :meth:`to_upstream` takes: ``datetime`` for the temporal windows. A
    ``RollupMapper`` checks that its upstream mapper decodes keys to this type."""
    _kinds: ClassVar[dict[str, type[Any]]] = {}

    def __init__(self, *, direction: Window.Direction | str = Direction.FORWARD) -> None:
        try:
            self.direction = Window.Direction(direction)
        except ValueError:
            raise DagDefinitionError(
                f"{type(self).__name__} direction must be Window.Direction.FORWARD or "
                f"BACKWARD, got {direction!r:.60}"
            ) from None

    @abc.abstractmethod
    def to_upstream(self, decoded_downstream: Any) -> Iterable[Any]:
        """The decoded upstream items that make up ``decoded_downstream``'s period."""

    def to_json_data(self) -> dict[str, Any]:
        airflow = self._airflow_data()
        return {"direction": self.direction.value} if airflow is None else airflow

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        airflow = cls._airflow_read(data)
        if airflow is not None:
            return airflow
        return cls(direction=data.get("direction", Window.Direction.FORWARD))

    def _repr_args(self) -> list[str]:
        backward = self.direction is Window.Direction.BACKWARD
        return ["direction=Window.Direction.BACKWARD"] if backward else []


def _anchor(window: Window, value: Any, first_of_month: bool = False) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidPartitionKeyError(
            f"{type(window).__name__} lists the members of a period given by its start "
            f"datetime, got {value!r:.60}"
        )
    if first_of_month and (value.day, value.hour, value.minute, value.second) != (1, 0, 0, 0):
        raise InvalidPartitionKeyError(
            f"{type(window).__name__} needs a period that starts at midnight on the first of a "
            f"month, got {value.isoformat()}: the upstream mapper must decode keys to that"
        )
    return value


def _steps(
    start: datetime, count: int, step: Callable[[datetime, int], datetime], window: Window
) -> Iterator[datetime]:
    """``count`` steps from ``start`` (FORWARD), or the ``count`` ending at it (BACKWARD)."""
    first = start if window.direction is Window.Direction.FORWARD else step(start, 1 - count)
    return (step(first, number) for number in range(count))


def _add_months(moment: datetime, months: int) -> datetime:
    """``moment`` (on the first of a month) moved by ``months`` calendar months."""
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


class _FixedStepWindow(Window):
    """A period of ``count`` equal wall-clock steps of ``step``."""

    expected_decoded_type: ClassVar[type] = datetime
    count: ClassVar[int]
    step: ClassVar[timedelta]

    def to_upstream(self, decoded_downstream: Any) -> Iterator[datetime]:
        start = _anchor(self, decoded_downstream)
        return _steps(start, self.count, lambda moment, n: moment + self.step * n, self)


class HourWindow(_FixedStepWindow):
    """The 60 minute starts of one hour."""

    _json_kind = "hour"
    count = 60
    step = timedelta(minutes=1)


class DayWindow(_FixedStepWindow):
    """The 24 hour starts of one day (24 wall-clock hours, also on daylight-saving days:
    an upstream mapper in UTC, or with ``%z`` in its ``input_format``, avoids the gap and
    the repeated hour)."""

    _json_kind = "day"
    count = 24
    step = timedelta(hours=1)


class WeekWindow(_FixedStepWindow):
    """The 7 day starts of one week."""

    _json_kind = "week"
    count = 7
    step = timedelta(days=1)


class MonthWindow(Window):
    """Every day start of one calendar month (28 to 31); BACKWARD: the days after the
    anchor's date one month earlier, up to the anchor (Mar 1 gives Feb 2 to Mar 1)."""

    _json_kind = "month"
    expected_decoded_type: ClassVar[type] = datetime

    def to_upstream(self, decoded_downstream: Any) -> Iterator[datetime]:
        start = _anchor(self, decoded_downstream, first_of_month=True)
        if self.direction is Window.Direction.FORWARD:
            first, days = start, (_add_months(start, 1) - start).days
        else:
            before = _add_months(start, -1)
            first, days = before + timedelta(days=1), (start - before).days
        return (first + timedelta(days=number) for number in range(days))


class QuarterWindow(Window):
    """The 3 month starts of one calendar quarter."""

    _json_kind = "quarter"
    expected_decoded_type: ClassVar[type] = datetime

    def to_upstream(self, decoded_downstream: Any) -> Iterator[datetime]:
        return _steps(_anchor(self, decoded_downstream, True), 3, _add_months, self)


class YearWindow(Window):
    """The 12 month starts of one calendar year."""

    _json_kind = "year"
    expected_decoded_type: ClassVar[type] = datetime

    def to_upstream(self, decoded_downstream: Any) -> Iterator[datetime]:
        return _steps(_anchor(self, decoded_downstream, True), 12, _add_months, self)


class SegmentWindow(Window):
    """A fixed set of keys (regions, customers) that together make up every downstream
    partition, whatever its key: ``SegmentWindow(["us", "eu", "apac"])``."""

    _json_kind = "segment"
    expected_decoded_type: ClassVar[type] = str

    def __init__(self, segments: Iterable[str]) -> None:
        super().__init__()
        if isinstance(segments, str) or not isinstance(segments, Iterable):
            raise DagDefinitionError(
                f"SegmentWindow segments must be a list of keys, got {segments!r:.80}"
            )
        listed = list(segments)
        for index, segment in enumerate(listed):
            if not isinstance(segment, str) or not segment:
                raise DagDefinitionError(
                    f"SegmentWindow segments must be non-empty strings, got {segment!r:.60} "
                    f"at index {index}"
                )
        if not listed:
            raise DagDefinitionError("SegmentWindow segments: give at least one key")
        self.segments: tuple[str, ...] = tuple(sorted(set(listed)))

    def to_upstream(self, decoded_downstream: Any) -> frozenset[str]:
        """All the segments (the downstream key does not matter)."""
        return frozenset(self.segments)

    def to_json_data(self) -> dict[str, Any]:
        return {"segments": list(self.segments)}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        return cls(data["segments"])

    def _repr_args(self) -> list[str]:
        return [repr(list(self.segments))]


class WaitPolicy(Stored):
    """When a rollup's downstream run may start, given the upstream keys its window expects
    and those that have arrived. Subclass and define :meth:`is_satisfied` (counts) or
    :meth:`is_satisfied_by_keys` (the keys themselves)."""

    _kinds: ClassVar[dict[str, type[Any]]] = {}

    def is_satisfied(self, matched: int, expected: int) -> bool:
        """Whether ``matched`` of the ``expected`` keys are enough."""
        raise NotImplementedError(f"{type(self).__name__} does not define is_satisfied")

    def is_satisfied_by_keys(
        self, *, matched: AbstractSet[str], expected: AbstractSet[str]
    ) -> bool:
        """Whether the arrived keys ``matched`` (those outside ``expected`` do not count)
        are enough for the window's ``expected`` keys."""
        arrived = sum(1 for key in expected if key in matched)
        return self.is_satisfied(arrived, len(expected))

    def is_unreachable(self, expected_count: int) -> bool:
        """Whether no number of arrivals can satisfy the policy for a window of
        ``expected_count`` keys (the run would wait forever)."""
        return False


class WaitForAll(WaitPolicy):
    """Waits for every expected key (the default)."""

    _json_kind = "wait_for_all"

    def is_satisfied(self, matched: int, expected: int) -> bool:
        return matched >= expected

    def is_satisfied_by_keys(
        self, *, matched: AbstractSet[str], expected: AbstractSet[str]
    ) -> bool:
        return all(key in matched for key in expected)


class MinimumCount(WaitPolicy):
    """Waits for ``n`` keys (``n > 0``), or until at most ``-n`` keys are missing
    (``n < 0``; never more than the window has): ``MinimumCount(20)``, ``MinimumCount(-2)``."""

    _json_kind = "minimum_count"

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise DagDefinitionError(f"MinimumCount n must be an integer, got {n!r:.40}")
        if n == 0:
            raise DagDefinitionError(
                "MinimumCount(0) would start the run before any key arrives: give n > 0 "
                "(keys needed), n < 0 (keys that may be missing) or use WaitForAll()"
            )
        self.n = n

    def is_satisfied(self, matched: int, expected: int) -> bool:
        needed = self.n if self.n > 0 else max(0, expected + self.n)
        return matched >= needed

    def is_unreachable(self, expected_count: int) -> bool:
        return self.n > expected_count

    def to_json_data(self) -> dict[str, Any]:
        return {"n": self.n}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        return cls(data["n"])

    def _repr_args(self) -> list[str]:
        return [str(self.n)]


def window_to_json(window: Window) -> dict[str, Any]:
    """``window`` as JSON-ready data (:meth:`Window.to_json`)."""
    return window.to_json()


def window_from_json(data: Mapping[str, Any]) -> Window:
    """The window :func:`window_to_json` wrote; :class:`PartitionJsonError` if malformed."""
    window: Window = read_stored(Window, data, "partition window")
    return window


def wait_policy_to_json(policy: WaitPolicy) -> dict[str, Any]:
    """``policy`` as JSON-ready data (:meth:`WaitPolicy.to_json`)."""
    return policy.to_json()


def wait_policy_from_json(data: Mapping[str, Any]) -> WaitPolicy:
    """The wait policy :func:`wait_policy_to_json` wrote; :class:`PartitionJsonError` if
    malformed."""
    policy: WaitPolicy = read_stored(WaitPolicy, data, "wait policy")
    return policy
