"""Partition mappers: which partition(s) of a DAG an upstream asset event's partition key
starts (Airflow 3.3's partitioned assets, same names and semantics).

A DAG scheduled on partitioned assets gets one run per downstream key; its mapper turns the
upstream event's key (free text) into that key, or into several::

    IdentityMapper()                                  # "us" -> "us" (the default)
    StartOfDayMapper()                                # "2024-03-13T10:42:15" -> "2024-03-13"
    ProductMapper(IdentityMapper(), StartOfDayMapper())   # "us|2026-06-14T03:00:00"
                                                          #   -> "us|2026-06-14"
    ChainMapper(StartOfHourMapper(), AllowedKeyMapper([...]))   # one after the other
    FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())   # 7 daily keys
    RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())     # one run per day,
                                                          # once its 24 hourly keys arrived

The scheduler calls :meth:`PartitionMapper.downstream_keys` (the keys as a list, or an
:class:`~headwater.exceptions.InvalidPartitionKeyError` naming the mapper and the key),
:meth:`PartitionMapper.to_partition_date` (the run's ``partition_date``) and, for a
rollup, :meth:`RollupMapper.to_upstream` with the mapper's ``wait_policy``. It reads mappers
from their JSON form (:meth:`PartitionMapper.to_json`, :func:`mapper_from_json`). The
``StartOf*Mapper`` classes are in :mod:`.partition_mappers_temporal`, ``RollupMapper`` and
``FanOutMapper`` in :mod:`.partition_mappers_windowed`.

Write your own by subclassing :class:`PartitionMapper` (``to_downstream``; for a rollup's
upstream mapper ``decode_downstream`` and ``encode_upstream`` as a pair) in an importable
module, with ``to_json_data``/``from_json_data`` (or Airflow's ``serialize``/``deserialize``)
when it has arguments.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Self

from headwater.authoring.partition_stored import Stored, read_stored
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError

__all__ = [
    "AllowedKeyMapper",
    "ChainMapper",
    "FixedKeyMapper",
    "IdentityMapper",
    "PartitionMapper",
    "ProductMapper",
    "mapper_from_json",
    "mapper_to_json",
]


class PartitionMapper(Stored, abc.ABC):
    """Maps an upstream partition key to the downstream partition key(s) it starts."""

    is_rollup: ClassVar[bool] = False
    """True for :class:`RollupMapper`: its runs wait for a window of upstream keys."""
    expected_decoded_type: ClassVar[type] = str
    """What :meth:`decode_downstream` returns (``datetime`` for the temporal mappers)."""
    max_downstream_keys: int | None = None
    """The most keys one upstream key may map to (None: the scheduler's limit)."""
    _kinds: ClassVar[dict[str, type[Any]]] = {}

    def __init__(self, *, max_downstream_keys: int | None = None) -> None:
        if max_downstream_keys is not None and (
            isinstance(max_downstream_keys, bool)
            or not isinstance(max_downstream_keys, int)
            or max_downstream_keys < 1
        ):
            raise DagDefinitionError(
                f"{type(self).__name__} max_downstream_keys must be a positive integer or "
                f"None, got {max_downstream_keys!r:.40}"
            )
        self.max_downstream_keys = max_downstream_keys

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        decodes = cls.decode_downstream is not PartitionMapper.decode_downstream
        encodes = cls.encode_upstream is not PartitionMapper.encode_upstream
        if decodes != encodes:
            raise DagDefinitionError(
                f"{cls.__qualname__} overrides only one of decode_downstream and "
                "encode_upstream: they are inverses, override both or neither (else a rollup "
                "expects upstream keys no producer writes, and waits forever)"
            )

    @abc.abstractmethod
    def to_downstream(self, key: str) -> str | Iterable[str]:
        """The downstream key(s) upstream partition ``key`` maps to; an error (best an
        :class:`~headwater.exceptions.InvalidPartitionKeyError`) if it maps to none."""

    def downstream_keys(self, key: str) -> list[str]:
        """:meth:`to_downstream` as a list of distinct keys in order; an
        :class:`~headwater.exceptions.InvalidPartitionKeyError` naming the mapper and
        ``key`` when ``key`` cannot be mapped, or maps to more than ``max_downstream_keys``."""
        name = type(self).__name__
        try:
            keys = _as_keys(self.to_downstream(key), self)
        except InvalidPartitionKeyError:
            raise
        except Exception as err:
            raise InvalidPartitionKeyError(
                f"{name} cannot map partition key {key!r:.100}: {type(err).__name__}: {err}"
            ) from err
        if self.max_downstream_keys is not None and len(keys) > self.max_downstream_keys:
            raise InvalidPartitionKeyError(
                f"{name} maps partition key {key!r:.100} to {len(keys)} keys, more than its "
                f"max_downstream_keys={self.max_downstream_keys}"
            )
        return keys

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        """The start of the period ``downstream_key`` names, timezone-aware (a run's
        ``partition_date``); None for a key without time."""
        return None

    def carry_partition_date(self, source_partition_date: datetime | None) -> datetime | None:
        """The upstream run's ``partition_date`` when the downstream run inherits it (for
        :class:`IdentityMapper`); None when :meth:`to_partition_date` decides."""
        return None

    def decode_downstream(self, downstream_key: str) -> Any:
        """A downstream key in the form a window lists members in (the key itself here;
        the period's start for the temporal mappers). Override with
        :meth:`encode_upstream`."""
        return downstream_key

    def encode_upstream(self, decoded: Any) -> str:
        """The upstream key of one member a window listed (the inverse of
        :meth:`decode_downstream`)."""
        return str(decoded)

    def to_json_data(self) -> dict[str, Any]:
        airflow = self._airflow_data()
        return self._limit_json() if airflow is None else airflow

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        airflow = cls._airflow_read(data)
        if airflow is not None:
            return airflow
        return cls(max_downstream_keys=data.get("max_downstream_keys"))

    def _limit_json(self) -> dict[str, Any]:
        limit = self.max_downstream_keys
        return {} if limit is None else {"max_downstream_keys": limit}

    def _limit_repr(self) -> list[str]:
        limit = self.max_downstream_keys
        return [] if limit is None else [f"max_downstream_keys={limit}"]


def _as_keys(mapped: object, mapper: PartitionMapper) -> list[str]:
    """What a ``to_downstream`` returned, as distinct keys in order."""
    listed: Iterable[object]
    if isinstance(mapped, str):
        listed = [mapped]
    elif isinstance(mapped, Iterable) and not isinstance(mapped, (bytes, Mapping)):
        listed = mapped
    else:
        raise InvalidPartitionKeyError(
            f"{type(mapper).__name__}.to_downstream must return a key or keys (strings), "
            f"got {mapped!r:.60}"
        )
    keys: dict[str, None] = {}
    for key in listed:
        if not isinstance(key, str) or not key:
            raise InvalidPartitionKeyError(
                f"{type(mapper).__name__}.to_downstream returned {key!r:.60}, not a key "
                "(a non-empty string)"
            )
        keys[key] = None
    return list(keys)


def _check_mapper(value: object, owner: str, argument: str) -> PartitionMapper:
    if not isinstance(value, PartitionMapper):
        raise DagDefinitionError(
            f"{owner} {argument} must be a PartitionMapper (such as IdentityMapper()), "
            f"got {value!r:.80}"
        )
    return value


class IdentityMapper(PartitionMapper):
    """The upstream key is the downstream key (the default mapper)."""

    _json_kind = "identity"

    def to_downstream(self, key: str) -> str:
        return key

    def carry_partition_date(self, source_partition_date: datetime | None) -> datetime | None:
        return source_partition_date

    def _repr_args(self) -> list[str]:
        return self._limit_repr()


class AllowedKeyMapper(PartitionMapper):
    """The upstream key unchanged, if it is one of ``allowed_keys`` (else no run):
    ``AllowedKeyMapper(["us", "eu", "apac"])``."""

    _json_kind = "allowed_key"

    def __init__(self, allowed_keys: list[str], *, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        if isinstance(allowed_keys, str) or not isinstance(allowed_keys, Iterable):
            raise DagDefinitionError(
                f"AllowedKeyMapper allowed_keys must be a list of keys, got {allowed_keys!r:.80}"
            )
        self.allowed_keys = list(allowed_keys)
        for key in self.allowed_keys:
            if not isinstance(key, str) or not key:
                raise DagDefinitionError(
                    f"AllowedKeyMapper allowed_keys must be non-empty strings, got {key!r:.60}"
                )
        if not self.allowed_keys:
            raise DagDefinitionError("AllowedKeyMapper allowed_keys: give at least one key")

    def to_downstream(self, key: str) -> str:
        if key not in self.allowed_keys:
            allowed = ", ".join(map(repr, self.allowed_keys[:10]))
            more = ", ..." if len(self.allowed_keys) > 10 else ""
            raise InvalidPartitionKeyError(
                f"AllowedKeyMapper: partition key {key!r:.100} is not one of the allowed keys "
                f"({allowed}{more})"
            )
        return key

    def to_json_data(self) -> dict[str, Any]:
        return {"allowed_keys": list(self.allowed_keys), **self._limit_json()}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        return cls(data["allowed_keys"], max_downstream_keys=data.get("max_downstream_keys"))

    def _repr_args(self) -> list[str]:
        return [repr(self.allowed_keys), *self._limit_repr()]


class FixedKeyMapper(PartitionMapper):
    """Every upstream key maps to ``downstream_key``; with a ``SegmentWindow``, a run that
    waits for all the segments: ``FixedKeyMapper("all_regions")``."""

    _json_kind = "fixed_key"

    def __init__(self, downstream_key: str, *, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        if not isinstance(downstream_key, str) or not downstream_key:
            raise DagDefinitionError(
                f"FixedKeyMapper downstream_key must be a non-empty string, "
                f"got {downstream_key!r:.60}"
            )
        self.downstream_key = downstream_key

    def to_downstream(self, key: str) -> str:
        return self.downstream_key

    def to_json_data(self) -> dict[str, Any]:
        return {"downstream_key": self.downstream_key, **self._limit_json()}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        return cls(data["downstream_key"], max_downstream_keys=data.get("max_downstream_keys"))

    def _repr_args(self) -> list[str]:
        return [repr(self.downstream_key), *self._limit_repr()]


class ProductMapper(PartitionMapper):
    """Keys of several dimensions joined by ``delimiter``, each mapped by its own mapper:
    ``ProductMapper(IdentityMapper(), StartOfDayMapper())`` maps ``us|2026-06-14T03:00:00``
    to ``us|2026-06-14``. Each mapper must give one key."""

    _json_kind = "product"

    def __init__(
        self,
        mapper0: PartitionMapper,
        mapper1: PartitionMapper,
        /,
        *mappers: PartitionMapper,
        delimiter: str = "|",
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        every = (mapper0, mapper1, *mappers)
        self.mappers = [
            _check_mapper(m, "ProductMapper", f"mapper {i}") for i, m in enumerate(every)
        ]
        if not isinstance(delimiter, str) or not delimiter:
            raise DagDefinitionError(
                f"ProductMapper delimiter must be a non-empty string, got {delimiter!r:.40}"
            )
        self.delimiter = delimiter

    def _segments(self, key: str, what: str) -> list[str]:
        segments = key.split(self.delimiter)
        if len(segments) != len(self.mappers):
            raise InvalidPartitionKeyError(
                f"ProductMapper: {what} {key!r:.100} has {len(segments)} part(s) separated by "
                f"{self.delimiter!r}, not {len(self.mappers)}"
            )
        return segments

    def to_downstream(self, key: str) -> str:
        mapped = []
        for number, (mapper, segment) in enumerate(
            zip(self.mappers, self._segments(key, "partition key"), strict=True)
        ):
            try:
                keys = mapper.downstream_keys(segment)
            except InvalidPartitionKeyError as err:
                raise InvalidPartitionKeyError(
                    f"ProductMapper: part {number} of partition key {key!r:.100}: {err}"
                ) from err
            if len(keys) != 1:
                raise InvalidPartitionKeyError(
                    f"ProductMapper: part {number} of partition key {key!r:.100} maps to "
                    f"{len(keys)} keys with {type(mapper).__name__}; each part needs one"
                )
            mapped.append(keys[0])
        return self.delimiter.join(mapped)

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        """The date of the one part that has one; None when none has, or several do, or the
        key has the wrong number of parts."""
        segments = downstream_key.split(self.delimiter)
        if len(segments) != len(self.mappers):
            return None
        dates = [
            found
            for mapper, segment in zip(self.mappers, segments, strict=True)
            if (found := mapper.to_partition_date(segment)) is not None
        ]
        return dates[0] if len(dates) == 1 else None

    def to_json_data(self) -> dict[str, Any]:
        return {
            "mappers": [mapper.to_json() for mapper in self.mappers],
            "delimiter": self.delimiter,
            **self._limit_json(),
        }

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        mappers = _read_mappers(data["mappers"], "ProductMapper")
        return cls(
            *mappers,
            delimiter=data.get("delimiter", "|"),
            max_downstream_keys=data.get("max_downstream_keys"),
        )

    def _repr_args(self) -> list[str]:
        delimiter = [] if self.delimiter == "|" else [f"delimiter={self.delimiter!r}"]
        return [*map(repr, self.mappers), *delimiter, *self._limit_repr()]


class ChainMapper(PartitionMapper):
    """Mappers applied one after the other, each to every key the one before gave:
    ``ChainMapper(StartOfHourMapper(), AllowedKeyMapper([...]))``."""

    _json_kind = "chain"

    def __init__(
        self,
        mapper0: PartitionMapper,
        mapper1: PartitionMapper,
        /,
        *mappers: PartitionMapper,
        max_downstream_keys: int | None = None,
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        every = (mapper0, mapper1, *mappers)
        self.mappers = [_check_mapper(m, "ChainMapper", f"mapper {i}") for i, m in enumerate(every)]

    def to_downstream(self, key: str) -> str | list[str]:
        keys = [key]
        for mapper in self.mappers:
            keys = [
                mapped
                for current in keys
                for mapped in _as_keys(mapper.to_downstream(current), mapper)
            ]
        return keys[0] if len(keys) == 1 else keys

    def to_partition_date(self, downstream_key: str) -> datetime | None:
        """The last mapper's: it wrote the key."""
        return self.mappers[-1].to_partition_date(downstream_key)

    def to_json_data(self) -> dict[str, Any]:
        return {"mappers": [mapper.to_json() for mapper in self.mappers], **self._limit_json()}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> Self:
        mappers = _read_mappers(data["mappers"], "ChainMapper")
        return cls(*mappers, max_downstream_keys=data.get("max_downstream_keys"))

    def _repr_args(self) -> list[str]:
        return [*map(repr, self.mappers), *self._limit_repr()]


def _read_mappers(data: Any, owner: str) -> list[PartitionMapper]:
    if not isinstance(data, list) or len(data) < 2:
        raise DagDefinitionError(f"{owner} mappers must be a list of at least two mappers")
    return [mapper_from_json(item) for item in data]


def mapper_to_json(mapper: PartitionMapper) -> dict[str, Any]:
    """``mapper`` as JSON-ready data (:meth:`PartitionMapper.to_json`)."""
    return mapper.to_json()


def mapper_from_json(data: Mapping[str, Any]) -> PartitionMapper:
    """The mapper :meth:`PartitionMapper.to_json` wrote: ``{"kind": "start_of_day", ...}``
    for headwater's own, ``{"classpath": "module.Class", "data": {...}}`` for one's own
    (imported by that path). A :class:`~.partition_windows.PartitionJsonError` says what
    is wrong with malformed data."""
    from headwater.authoring import (  # noqa: F401  (their kinds)
        partition_mappers_temporal,
        partition_mappers_windowed,
    )

    mapper: PartitionMapper = read_stored(PartitionMapper, data, "partition mapper")
    return mapper
