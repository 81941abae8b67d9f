"""Which queued asset events go to one asset-triggered run: all of a DAG's, or for a
partitioned DAG those of one partition key (see :mod:`headwater.scheduler.asset_runs`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.store.assets import QueuedAssetEvent


def partition_groups(
    dag: DAG, events: Iterable[QueuedAssetEvent]
) -> list[tuple[str | None, list[QueuedAssetEvent]]]:
    """``[(partition key, its events)]``, in the order keys were first queued: one group
    (key None) for a DAG without partitions; per key for a partitioned DAG, the events
    without a key in a group of their own (key None)."""
    listed = list(events)
    if getattr(dag, "partitions", None) is None:
        return [(None, listed)] if listed else []
    groups: dict[str | None, list[QueuedAssetEvent]] = {}
    for event in listed:
        groups.setdefault(event.partition_key, []).append(event)
    return list(groups.items())
