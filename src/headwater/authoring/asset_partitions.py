"""Airflow 3.3's partitioned assets: partition keys that producers name, as free text, and
that partition mappers carry from an asset's events to the runs of the DAGs scheduled on it.

Three schedules make a DAG partitioned this way (``headwater.timetables`` and ``airflow.sdk``
export them)::

    # A producer on a clock: each scheduled run works on the key of its cron time.
    DAG("ingest", schedule=CronPartitionTimetable("0 * * * *", timezone="UTC"))

    # A producer whose tasks name the keys they update while they run.
    DAG("regions", schedule=PartitionedAtRuntime())
    ...  outlet_events[sales].add_partitions(["us", "eu"])

    # A consumer: a run per partition key, once the assets' events for that key are in.
    DAG("daily", schedule=PartitionedAssetTimetable(
        assets=hourly_stats, default_partition_mapper=StartOfDayMapper()))

Keys are text of 1 to 250 characters (:data:`MAX_KEY_LENGTH`), not blank, without control
characters (:class:`OpenPartitions`). A consumer's run for key ``K`` takes the events whose
keys its mapper maps to ``K`` (:class:`AssetPartitions`; the scheduler's side is
:mod:`headwater.scheduler.partition_groups`). Events without a key never trigger such a DAG.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from headwater.authoring.asset_refs import AssetNameRef, AssetUriRef, name_token
from headwater.authoring.assets import Asset, AssetCondition, _as_condition
from headwater.authoring.partition_mappers import (
    IdentityMapper,
    PartitionMapper,
    mapper_from_json,
)
from headwater.authoring.partitions import Partitions
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError
from headwater.timetables.partitioned import CronPartitionTimetable, PartitionedAtRuntime

__all__ = [
    "MAX_KEY_LENGTH",
    "AssetPartitions",
    "OpenPartitions",
    "PartitionedAssetTimetable",
    "check_open_key",
    "dag_partitions",
]

MAX_KEY_LENGTH = 250
"""The longest partition key (the columns that hold keys, as Airflow's)."""
MAX_DOWNSTREAM_KEYS = 1_000
"""The most runs one event's key maps to (a fan-out): a bound on what one event starts."""


def check_open_key(key: Any) -> str:
    """``key`` if it can be a producer's partition key, else :class:`InvalidPartitionKeyError`."""
    if not isinstance(key, str):
        raise InvalidPartitionKeyError(f"a partition key is text, got {key!r:.80}")
    if not key.strip():
        raise InvalidPartitionKeyError(f"a partition key must not be blank, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidPartitionKeyError(
            f"a partition key has at most {MAX_KEY_LENGTH} characters, got {len(key)} "
            f"({key[:40]!r}...)"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidPartitionKeyError(
            f"partition key {key!r:.80} holds a control character (a newline, a tab...)"
        )
    return key


class OpenPartitions(Partitions):
    """Keys that the DAG's producers name (any text :func:`check_open_key` accepts): the
    partitions of a DAG on a :class:`~headwater.timetables.CronPartitionTimetable` or
    :class:`~headwater.timetables.PartitionedAtRuntime`. They have no order, so no ranges."""

    kind = "open"

    @property
    def description(self) -> str:
        return "keys its producers name"

    def validate_key(self, key: Any) -> str:
        return check_open_key(key)

    def iter_keys(self, first: str, last: str) -> Iterator[str]:
        raise InvalidPartitionKeyError(
            f"partition range {first}..{last}: {self.description} have no order; name the "
            "keys one by one (KEY,KEY)"
        )

    def to_json(self) -> dict[str, Any]:
        return {"open": {}}


class AssetPartitions(OpenPartitions):
    """The partitions of a DAG on a :class:`PartitionedAssetTimetable`: an event of asset
    ``uri`` with key ``k`` counts for the runs of keys ``mapper_for(uri).downstream_keys(k)``."""

    kind = "asset_mapped"

    def __init__(
        self, default_mapper: PartitionMapper, by_asset: Mapping[str, PartitionMapper]
    ) -> None:
        self.default_mapper = default_mapper
        self.by_asset = dict(by_asset)

    @property
    def description(self) -> str:
        return f"keys mapped from its assets' events ({self.default_mapper!r})"

    def mapper_for(self, uri: str, name: str | None = None) -> PartitionMapper:
        """The mapper of the events of asset ``uri`` (named ``name``): configured for its URI,
        else for its name (``Asset.ref(name=...)``), else the default."""
        found = self.by_asset.get(uri)
        if found is None and name is not None:
            found = self.by_asset.get(name_token(name))
        return self.default_mapper if found is None else found

    def downstream_keys(self, uri: str, key: str, name: str | None = None) -> list[str]:
        """The keys of the runs an event of ``uri`` with key ``key`` counts for (an error
        names a key the mapper refuses, or one that maps to more than
        :data:`MAX_DOWNSTREAM_KEYS` keys, or to a key that cannot be one)."""
        mapper = self.mapper_for(uri, name)
        keys = mapper.downstream_keys(key)
        if len(keys) > MAX_DOWNSTREAM_KEYS:
            raise InvalidPartitionKeyError(
                f"{mapper!r} maps partition key {key!r:.80} to {len(keys)} keys; at most "
                f"{MAX_DOWNSTREAM_KEYS} runs come from one event"
            )
        return [check_open_key(k) for k in keys]

    def partition_date(self, key: str) -> datetime | None:
        try:
            return self.default_mapper.to_partition_date(key)
        except (ValueError, InvalidPartitionKeyError):
            return None

    def to_json(self) -> dict[str, Any]:
        return {
            "asset_mapped": {
                "default": self.default_mapper.to_json(),
                "by_asset": {uri: m.to_json() for uri, m in sorted(self.by_asset.items())},
            }
        }

    @classmethod
    def from_json_data(cls, data: Mapping[str, Any]) -> AssetPartitions:
        return cls(
            mapper_from_json(data["default"]),
            {str(uri): mapper_from_json(m) for uri, m in dict(data["by_asset"]).items()},
        )


class PartitionedAssetTimetable:
    """Runs a DAG once per partition key of ``assets``' events (Airflow 3.3's): an event's
    key goes through its asset's mapper (``partition_mapper_config``, else
    ``default_partition_mapper``, the identity by default), and the run for a key is created
    once ``assets`` (a condition: ``a & b``) is met by events mapped to that key. A
    :class:`~headwater.authoring.partition_mappers.RollupMapper` asset counts once its
    window's keys are in (its wait policy says how many)."""

    def __init__(
        self,
        *,
        assets: AssetCondition | list[Any] | tuple[Any, ...],
        partition_mapper_config: Mapping[Asset, PartitionMapper] | None = None,
        default_partition_mapper: PartitionMapper | None = None,
    ) -> None:
        self.assets = _as_condition(assets)
        default = IdentityMapper() if default_partition_mapper is None else default_partition_mapper
        self.default_partition_mapper = _check_mapper(default, "default_partition_mapper")
        self.partition_mapper_config: dict[str, PartitionMapper] = {}
        for asset, mapper in dict(partition_mapper_config or {}).items():
            if isinstance(asset, Asset | AssetUriRef):
                where = asset.uri
            elif isinstance(asset, AssetNameRef):
                where = name_token(asset.name)
            else:
                raise DagDefinitionError(
                    "PartitionedAssetTimetable: partition_mapper_config is keyed by Asset or "
                    f"Asset.ref(...), got {asset!r:.80}"
                )
            self.partition_mapper_config[where] = _check_mapper(
                mapper, f"partition_mapper_config[{asset!r}]"
            )

    def partitions(self) -> AssetPartitions:
        """The DAG's partitions under this schedule."""
        return AssetPartitions(self.default_partition_mapper, self.partition_mapper_config)

    def __repr__(self) -> str:
        return f"PartitionedAssetTimetable(assets={self.assets!r})"


def dag_partitions(
    schedule: Any, timetable: Any, given: Partitions | None, dag_id: str
) -> Partitions | None:
    """A DAG's partitions: ``given``, or those its schedule implies (a
    :class:`PartitionedAssetTimetable`'s, or open keys under a partitioned timetable). A
    partitioned schedule with other ``partitions=`` is refused."""
    implied: Partitions | None = None
    if isinstance(schedule, PartitionedAssetTimetable):
        implied = schedule.partitions()
    elif isinstance(timetable, CronPartitionTimetable | PartitionedAtRuntime):
        implied = OpenPartitions()
    if implied is None:
        return given
    if given is not None:
        raise DagDefinitionError(
            f"DAG {dag_id!r}: its schedule names its partition keys; partitions= does not "
            "go with it"
        )
    return implied


def _check_mapper(value: Any, name: str) -> PartitionMapper:
    if not isinstance(value, PartitionMapper):
        raise DagDefinitionError(
            f"PartitionedAssetTimetable: {name} must be a partition mapper (IdentityMapper(), "
            f"StartOfDayMapper(), ...), got {value!r:.80}"
        )
    return value
