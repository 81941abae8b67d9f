"""Asset-triggered runs: each pass, every DAG scheduled on assets whose condition the
events queued for it meet gets one run, which consumes those events.

The run and the consumption are one unit of work: the queue rows are deleted and recorded
as the run's triggering events (``dag_run_asset_events``) in the transaction that creates
the run. An event therefore triggers a DAG once: a crash before the commit leaves both the
events queued and no run; after it, the run exists and the events are gone. Events queued
while no scheduler runs stay in the database and trigger the DAG on the first pass of the
next one.

As Airflow: a paused DAG keeps its events queued (they trigger a run once it is unpaused);
a DAG at ``max_active_runs`` waits with its events queued; all the events queued for a DAG
when its condition is met go to one run (two updates before the scheduler looks make one
run). The run's logical date is the moment it is created; its data interval spans the
timestamps of its events.

Partitions: for a DAG declared with ``partitions=``, the events queued for it are grouped
by their ``partition_key``, and each group is a condition of its own: a run per partition
whose events meet the condition, carrying that key (and, for time partitions, that
partition's interval as data interval), consuming only that partition's events. Events
without a key form one group of their own, as before; a DAG without partitions takes all
its events together whatever their keys. A key the DAG's partitions lack keeps its events
queued, with a warning (a partitioning changed, say).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine.dagrun import DagRunEngine
from headwater.engine.run_factory import new_dag_run
from headwater.engine.run_partitions import partition_interval
from headwater.engine.states import DagRunState
from headwater.exceptions import InvalidPartitionKeyError
from headwater.scheduler.partition_groups import partition_groups
from headwater.store.assets import QueuedAssetEvent

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun
    from headwater.engine.xcoms import XComs
    from headwater.scheduler.scheduler_state import KnownDag
    from headwater.store.ports import Store

__all__ = ["ASSET_TRIGGERED", "create_asset_triggered_runs"]

log = logging.getLogger(__name__)

ASSET_TRIGGERED = "asset_triggered"
_ACTIVE = (DagRunState.QUEUED, DagRunState.RUNNING)


class _AlreadyConsumed(Exception):
    """Another scheduler consumed the events first: the run is not created."""


def create_asset_triggered_runs(
    store: Store, xcoms: XComs, dags: Mapping[str, KnownDag], now: datetime
) -> list[DagRun]:
    """Create the runs whose asset conditions are met (see the module's docstring); returns
    them, each committed with the events it consumed."""
    queued: dict[str, list[QueuedAssetEvent]] = defaultdict(list)
    for event in store.queued_asset_events():
        queued[event.dag_id].append(event)
    if not queued:
        return []
    ready = []
    for dag_id, events in queued.items():
        known = dags.get(dag_id)
        if known is None or known.is_paused:
            continue
        condition = getattr(known.dag, "asset_condition", None)
        for key, group in partition_groups(known.dag, events):
            # An event counts for its asset, and for the alias it came through.
            updated = {e.uri for e in group} | {e.alias for e in group if e.alias is not None}
            if condition is not None and condition.evaluate(updated):
                ready.append((known.dag, key, group))
    if not ready:
        return []
    from headwater.store.backfills import active_backfill_runs

    backfill_of = active_backfill_runs(store)
    active = Counter(
        run.dag_id
        for run in store.get_dag_runs_by_state(_ACTIVE)
        if (run.dag_id, run.run_id) not in backfill_of
    )
    created = []
    for dag, key, events in ready:
        if active[dag.dag_id] >= dag.max_active_runs:
            continue  # its events stay queued until a run ends
        run = _create_run(store, xcoms, dag, events, now, key)
        if run is not None:
            active[dag.dag_id] += 1
            created.append(run)
    return created


def _create_run(
    store: Store,
    xcoms: XComs,
    dag: DAG,
    events: list[QueuedAssetEvent],
    now: datetime,
    partition_key: str | None = None,
) -> DagRun | None:
    stamps = [e.timestamp for e in events]
    try:
        # A time partition's run covers the partition; any other, its events' timestamps.
        interval = partition_interval(dag, partition_key) if partition_key is not None else None
        run = new_dag_run(
            dag,
            logical_date=now,
            run_type=ASSET_TRIGGERED,
            data_interval=interval or (min(stamps), max(stamps)),
            partition_key=partition_key,
        )
    except InvalidPartitionKeyError as exc:
        log.warning("%d asset event(s) stay queued: %s", len(events), exc)
        return None
    if store.get_dag_run(dag.dag_id, run.run_id) is not None:
        return None  # a run at this very moment exists: the next pass creates it
    try:
        with store.unit_of_work() as uow:
            DagRunEngine.create(dag, uow, xcoms, run)
            taken = uow.consume_queued_asset_events(
                dag.dag_id, run.run_id, [e.event_id for e in events]
            )
            if taken == 0:
                raise _AlreadyConsumed
    except _AlreadyConsumed:
        return None
    except ValueError:  # another scheduler created a run with this id at the same moment
        if store.get_dag_run(dag.dag_id, run.run_id) is None:
            raise
        return None
    log.info(
        "Created run %s of %s, triggered by %d asset event(s) of %s",
        run.run_id,
        dag.dag_id,
        len(events),
        ", ".join(sorted({e.uri for e in events})),
    )
    return run
