"""The partition key of a new run: checked against the DAG's partitions, or found from the
run's data interval (see :mod:`headwater.authoring.partitions`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headwater.authoring.partitions import TimePartitions
from headwater.exceptions import InvalidPartitionKeyError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

KEYED_BY_INTERVAL = ("scheduled", "manual")
"""Run types that, without a key, get their data interval's partition (time partitions)."""


def checked_partition_key(dag: DAG, key: str | None) -> str | None:
    """``key`` if ``dag`` has that partition (None stays None); an error naming the DAG,
    the key and the DAG's partitions otherwise."""
    if key is None:
        return None
    partitions = getattr(dag, "partitions", None)
    if partitions is None:
        raise InvalidPartitionKeyError(
            f"DAG {dag.dag_id!r} has no partitions: its runs take no partition key "
            f"(got {key!r:.80})"
        )
    try:
        return partitions.validate_key(key)
    except InvalidPartitionKeyError as exc:
        raise InvalidPartitionKeyError(f"DAG {dag.dag_id!r}: {exc}") from None


def partition_interval(dag: DAG, key: str) -> tuple[datetime, datetime] | None:
    """The UTC interval of time partition ``key`` of ``dag``; None for static partitions."""
    partitions = getattr(dag, "partitions", None)
    return None if partitions is None else partitions.interval(key)


def partition_start(dag: DAG, key: str) -> datetime | None:
    """When time partition ``key`` of ``dag`` starts (the key checked first); None for a
    static partition."""
    interval = partition_interval(dag, checked_partition_key(dag, key) or key)
    return None if interval is None else interval[0]


def key_of_interval(dag: DAG, start: datetime) -> str | None:
    """The time partition of ``dag`` that contains ``start``; None when the DAG has no time
    partitions or ``start`` lies outside them."""
    partitions = getattr(dag, "partitions", None)
    if not isinstance(partitions, TimePartitions):
        return None
    try:
        return partitions.key_for(start)
    except InvalidPartitionKeyError:
        return None
