"""Which queued asset events go to one asset-triggered run: all of a DAG's, or for a
partitioned DAG those of one partition key (see :mod:`headwater.scheduler.asset_runs`).

For a DAG on a :class:`~headwater.authoring.asset_partitions.PartitionedAssetTimetable`
(Airflow 3.3's partitioned assets) an event's key goes through its asset's mapper first: it
counts for the run of each key the mapper gives (a fan-out mapper gives several), and an
asset with a rollup mapper counts as updated for a key only once the keys of its window are
in, as many as its wait policy asks (:func:`updated_assets`). An event the mapper refuses,
or one without a key, stays queued and triggers nothing (a warning says so, once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from headwater.authoring.asset_partitions import AssetPartitions
from headwater.authoring.asset_refs import name_token
from headwater.authoring.partition_mappers_windowed import RollupMapper
from headwater.exceptions import InvalidPartitionKeyError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.store.assets import QueuedAssetEvent

log = logging.getLogger(__name__)

_WARNED_MAX = 10_000
"""How many refused events are remembered, so that each is warned about once."""
_warned: dict[tuple[str, int], None] = {}


def partition_groups(
    dag: DAG, events: Iterable[QueuedAssetEvent]
) -> list[tuple[str | None, list[QueuedAssetEvent]]]:
    """``[(partition key, its events)]``, in the order keys were first queued: one group
    (key None) for a DAG without partitions; per key for a partitioned DAG, the events
    without a key in a group of their own (key None); per mapped key for a DAG on a
    partitioned asset timetable (an event may be in several groups)."""
    listed = list(events)
    partitions = getattr(dag, "partitions", None)
    if partitions is None:
        return [(None, listed)] if listed else []
    groups: dict[str | None, list[QueuedAssetEvent]] = {}
    if isinstance(partitions, AssetPartitions):
        for event in listed:
            for key in _mapped_keys(dag.dag_id, partitions, event):
                groups.setdefault(key, []).append(event)
        return list(groups.items())
    for event in listed:
        groups.setdefault(event.partition_key, []).append(event)
    return list(groups.items())


def updated_assets(dag: DAG, key: str | None, events: list[QueuedAssetEvent]) -> set[str]:
    """What ``events`` (one group) updated, for the DAG's asset condition: their assets'
    URIs, names (:func:`~headwater.authoring.asset_refs.name_token`) and the aliases they
    came through; an asset with a rollup mapper only once its
    wait policy is satisfied by the keys of its window that are in."""
    updated = {e.uri for e in events} | {e.alias for e in events if e.alias is not None}
    updated |= {name_token(e.name) for e in events if e.name is not None}  # Asset.ref(name=)
    partitions = getattr(dag, "partitions", None)
    if key is None or not isinstance(partitions, AssetPartitions):
        return updated
    for uri, name in {(e.uri, e.name) for e in events}:
        mapper = partitions.mapper_for(uri, name)
        if not isinstance(mapper, RollupMapper):
            continue
        expected = mapper.to_upstream(key)
        arrived = {e.partition_key for e in events if e.uri == uri and e.partition_key}
        if not mapper.wait_policy.is_satisfied_by_keys(
            matched=arrived & expected, expected=expected
        ):
            updated.discard(uri)
    return updated


def _mapped_keys(dag_id: str, partitions: AssetPartitions, event: QueuedAssetEvent) -> list[str]:
    if event.partition_key is None:
        _warn_once(
            dag_id,
            event,
            "it has no partition key, and the DAG runs per partition key of its assets",
        )
        return []
    try:
        return partitions.downstream_keys(event.uri, event.partition_key, event.name)
    except (InvalidPartitionKeyError, ValueError) as exc:
        _warn_once(dag_id, event, str(exc))
        return []


def _warn_once(dag_id: str, event: QueuedAssetEvent, why: str) -> None:
    if (dag_id, event.event_id) in _warned:
        return
    if len(_warned) >= _WARNED_MAX:
        _warned.pop(next(iter(_warned)))
    _warned[(dag_id, event.event_id)] = None
    log.warning(
        "Asset event %d of %s (partition key %r) triggers no run of %s: %s",
        event.event_id,
        event.uri,
        event.partition_key,
        dag_id,
        why,
    )
