"""Partition mappers built on a window: :class:`RollupMapper` (many upstream keys, one
downstream run, which waits for them) and :class:`FanOutMapper` (one upstream key, a
downstream run for each member of its period). Airflow 3.3's names and semantics.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Self

from headwater.authoring.partition_mappers import PartitionMapper, _check_mapper, mapper_from_json
from headwater.authoring.partition_mappers_temporal import (
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    _TemporalMapper,
)
from headwater.authoring.partition_windows import (
    WaitForAll,
    WaitPolicy,
    Window,
    wait_policy_from_json,
    window_from_json,
)
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError

__all__ = ["FanOutMapper", "RollupMapper"]


class RollupMapper(PartitionMapper):
    """Many upstream keys roll up into one downstream run: ``upstream_mapper`` maps each
    upstream key to the downstream key, ``window`` lists every upstream key a downstream key
    needs, and ``wait_policy`` (default :class:`WaitForAll`) says how many must have arrived.
    ``RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())``: one run per
    day, once its 24 hourly keys (``2024-03-13T00:00:00`` to ``T23:00:00``) arrived."""

    _json_kind = "rollup"
    is_rollup: ClassVar[bool] = True

    def __init__(
        self,
        *,
        upstream_mapper: PartitionMapper,
        window: Window,
        wait_policy: WaitPolicy | None = None,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.upstream_mapper = _check_mapper(upstream_mapper, "RollupMapper", "upstream_mapper")
        if not isinstance(window, Window):
            raise DagDefinitionError(
                f"RollupMapper window must be a Window (such as DayWindow()), got {window!r:.80}"
            )
        if not isinstance(wait_policy, WaitPolicy | None):
            raise DagDefinitionError(
                f"RollupMapper wait_policy must be a WaitPolicy (WaitForAll(), MinimumCount(n)) "
                f"or None, got {wait_policy!r:.80}"
            )
        wanted, decoded = window.expected_decoded_type, upstream_mapper.expected_decoded_type
        if wanted is not decoded:
            raise DagDefinitionError(
                f"RollupMapper window {type(window).__name__} lists {wanted.__name__} members "
                f"but upstream_mapper {type(upstream_mapper).__name__} decodes keys to "
                f"{decoded.__name__}: pair a temporal window with a temporal mapper (DayWindow "
                "with StartOfDayMapper) and SegmentWindow with a key mapper (FixedKeyMapper)"
            )
        self.window = window
        self.wait_policy: WaitPolicy = WaitForAll() if wait_policy is None else wait_policy

    def to_downstream(self, key: str) -> str | Iterable[str]:
        return self.upstream_mapper.to_downstream(key)

    def to_upstream(self, downstream_key: str) -> frozenset[str]:
        """Every upstream key that downstream key ``downstream_key`` needs, as the upstream
        producers write them (the upstream mapper's ``input_format``)."""
        mapper = self.upstream_mapper
        try:
            decoded = mapper.decode_downstream(downstream_key)
            return frozenset(
                mapper.encode_upstream(item) for item in self.window.to_upstream(decoded)
            )
        except Exception as err:
            raise InvalidPartitionKeyError(
                f"RollupMapper cannot list the upstream keys of {downstream_key!r:.100} with "
                f"{type(mapper).__name__} and {type(self.window).__name__}: {err}"
            ) from err

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        return self.upstream_mapper.to_partition_date(downstream_key)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "upstream_mapper": self.upstream_mapper.to_json(),
            "window": self.window.to_json(),
            "wait_policy": self.wait_policy.to_json(),
            **self._limit_json(),
        }

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        policy = data.get("wait_policy")
        return cls(
            upstream_mapper=mapper_from_json(data["upstream_mapper"]),
            window=window_from_json(data["window"]),
            wait_policy=None if policy is None else wait_policy_from_json(policy),
            max_downstream_keys=data.get("max_downstream_keys"),
        )

    def _repr_args(self) -> list[str]:
        policy = [] if self.wait_policy == WaitForAll() else [f"wait_policy={self.wait_policy!r}"]
        return [
            f"upstream_mapper={self.upstream_mapper!r}",
            f"window={self.window!r}",
            *policy,
            *self._limit_repr(),
        ]


class FanOutMapper(PartitionMapper):
    """One upstream key starts a run for each member of its period: ``upstream_mapper``
    reads the key as a period, ``window`` lists the period's members and
    ``downstream_mapper`` writes each one's key (by default the window's finer mapper:
    ``StartOfHourMapper`` for a ``DayWindow``, ``StartOfDayMapper`` for a week or month,
    ``StartOfMonthMapper`` for a quarter or year)::

        FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())
        # "2024-03-11T00:00:00" -> "2024-03-11", ..., "2024-03-17"; with
        # WeekWindow(direction=Window.Direction.BACKWARD): "2024-03-05", ..., "2024-03-11"
    """

    _json_kind = "fan_out"
    default_downstream_mapper_by_window_name: ClassVar[dict[str, type[_TemporalMapper]]] = {
        "DayWindow": StartOfHourMapper,
        "WeekWindow": StartOfDayMapper,
        "MonthWindow": StartOfDayMapper,
        "QuarterWindow": StartOfMonthMapper,
        "YearWindow": StartOfMonthMapper,
    }
    """The default ``downstream_mapper`` by window class (a window's subclass gets its
    base's)."""

    def __init__(
        self,
        *,
        upstream_mapper: PartitionMapper,
        window: Window,
        downstream_mapper: PartitionMapper | None = None,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.upstream_mapper = _check_mapper(upstream_mapper, "FanOutMapper", "upstream_mapper")
        if not isinstance(window, Window):
            raise DagDefinitionError(
                f"FanOutMapper window must be a Window (such as WeekWindow()), got {window!r:.80}"
            )
        self.window = window
        if downstream_mapper is None:
            downstream_mapper = self._default_downstream_mapper(window)
        self.downstream_mapper = _check_mapper(
            downstream_mapper, "FanOutMapper", "downstream_mapper"
        )

    @classmethod
    def _default_downstream_mapper(cls, window: Window) -> PartitionMapper:
        table = cls.default_downstream_mapper_by_window_name
        for window_class in type(window).__mro__:
            if window_class.__name__ in table:
                return table[window_class.__name__]()
        raise DagDefinitionError(
            f"FanOutMapper has no default downstream_mapper for window {type(window).__name__}: "
            "pass downstream_mapper= (the mapper that writes each member's key)"
        )

    def to_downstream(self, key: str) -> list[str]:
        upstream = self.upstream_mapper
        period = upstream.downstream_keys(key)
        if len(period) != 1:
            raise InvalidPartitionKeyError(
                f"FanOutMapper: upstream_mapper {type(upstream).__name__} maps partition key "
                f"{key!r:.100} to {len(period)} keys; it must give one period"
            )
        members = self.window.to_upstream(upstream.decode_downstream(period[0]))
        if isinstance(members, set | frozenset):
            members = sorted(members, key=str)
        return [self._member_key(member) for member in members]

    def _member_key(self, member: object) -> str:
        formatter = getattr(self.downstream_mapper, "format", None)
        if callable(formatter):
            return str(formatter(member))
        return member.isoformat() if isinstance(member, datetime) else str(member)

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        """The downstream mapper's: it wrote the key."""
        return self.downstream_mapper.to_partition_date(downstream_key)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "upstream_mapper": self.upstream_mapper.to_json(),
            "window": self.window.to_json(),
            "downstream_mapper": self.downstream_mapper.to_json(),
            **self._limit_json(),
        }

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        downstream = data.get("downstream_mapper")
        return cls(
            upstream_mapper=mapper_from_json(data["upstream_mapper"]),
            window=window_from_json(data["window"]),
            downstream_mapper=None if downstream is None else mapper_from_json(downstream),
            max_downstream_keys=data.get("max_downstream_keys"),
        )

    def _repr_args(self) -> list[str]:
        default = self.downstream_mapper == self._default_downstream_mapper_or_none()
        downstream = [] if default else [f"downstream_mapper={self.downstream_mapper!r}"]
        return [
            f"upstream_mapper={self.upstream_mapper!r}",
            f"window={self.window!r}",
            *downstream,
            *self._limit_repr(),
        ]

    def _default_downstream_mapper_or_none(self) -> PartitionMapper | None:
        try:
            return self._default_downstream_mapper(self.window)
        except DagDefinitionError:
            return None
