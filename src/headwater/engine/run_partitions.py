"""The partition key of a new run: checked against the DAG's partitions, or found from the
run's data interval (see :mod:`headwater.authoring.partitions`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from headwater.authoring.partitions import Partitions, TimePartitions
from headwater.exceptions import InvalidPartitionKeyError
from headwater.timetables.partitioned import CronPartitionTimetable

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

KEYED_BY_INTERVAL = ("scheduled", "manual")
"""Run types that, without a key, get their data interval's partition (time partitions)."""
KEYED_BY_TIMETABLE = ("scheduled", "backfill")
"""Run types that, without a key, get the key of their fire time from a partitioned
timetable (``CronPartitionTimetable``: Airflow's manual runs get none either)."""


def key_of_run(dag: DAG, run_type: str, logical_date: datetime, start: datetime) -> str | None:
    """The partition key a new run without one gets: its data interval's time partition, or
    its partitioned timetable's key for its fire time; None otherwise."""
    if run_type in KEYED_BY_INTERVAL and (key := key_of_interval(dag, start)) is not None:
        return key
    timetable = getattr(dag, "timetable", None)
    if run_type in KEYED_BY_TIMETABLE and isinstance(timetable, CronPartitionTimetable):
        return timetable.partition_key(logical_date)
    return None


def partition_date(dag: DAG, key: str | None) -> datetime | None:
    """The moment partition ``key`` of ``dag`` stands for (Airflow's ``partition_date``): a
    time partition's start, a partitioned timetable's key read back, a temporal mapper's
    period start; None when there is none (or no key)."""
    if key is None:
        return None
    timetable = getattr(dag, "timetable", None)
    if isinstance(timetable, CronPartitionTimetable):
        try:
            return timetable.date_of_key(key)
        except InvalidPartitionKeyError:
            return None
    partitions: Partitions | None = getattr(dag, "partitions", None)
    return None if partitions is None else partitions.partition_date(key)


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
