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

Airflow 3.3's partitioned assets (a DAG on a ``PartitionedAssetTimetable``): the groups are
by the keys the assets' mappers give, and a rollup asset counts once its window is in
(:mod:`headwater.scheduler.partition_groups`). A fan-out event counts for several keys: the
runs it triggers are created together, once each of them is ready, in one unit of work that
consumes it once and records it with each of them.
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
from headwater.scheduler.partition_groups import partition_groups, updated_assets
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
    ready: list[tuple[DAG, list[_Group]]] = []
    for dag_id, events in queued.items():
        known = dags.get(dag_id)
        if known is None or known.is_paused:
            continue
        condition = getattr(known.dag, "asset_condition", None)
        if condition is None:
            continue
        groups = partition_groups(known.dag, events)
        met = [
            (key, group)
            for key, group in groups
            if condition.evaluate(updated_assets(known.dag, key, group))
        ]
        ready.extend((known.dag, batch) for batch in _batches(groups, met))
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
    for dag, batch in ready:
        if active[dag.dag_id] >= dag.max_active_runs:
            continue  # its events stay queued until a run ends
        runs = _create_runs(store, xcoms, dag, batch, now)
        active[dag.dag_id] += len(runs)
        created.extend(runs)
    return created


_Group = tuple[str | None, list[QueuedAssetEvent]]


def _batches(groups: list[_Group], met: list[_Group]) -> list[list[_Group]]:
    """The met groups in batches created together: groups that share an event (a fan-out
    event counts for several keys) form one batch, created only when every group its events
    are in is met (an event is consumed once, by all the runs it triggers)."""
    by_key = dict(groups)
    keys_of: dict[int, list[str | None]] = defaultdict(list)
    for key, group in groups:
        for event in group:
            keys_of[event.event_id].append(key)
    met_keys = {key for key, _ in met}
    done: set[str | None] = set()
    batches = []
    for key, _ in met:
        if key in done:
            continue
        members, pending = [key], [key]
        while pending:
            for event in by_key[pending.pop()]:
                for other in keys_of[event.event_id]:
                    if other not in members:
                        members.append(other)
                        pending.append(other)
        done.update(members)
        if all(member in met_keys for member in members):
            batches.append([(member, by_key[member]) for member in members])
    return batches


def _create_runs(
    store: Store, xcoms: XComs, dag: DAG, batch: list[_Group], now: datetime
) -> list[DagRun]:
    """The runs of one batch, created with the events they consume in one unit of work
    (none when one of them cannot be)."""
    planned = []
    for key, events in batch:
        stamps = [e.timestamp for e in events]
        try:
            # A time partition's run covers it; any other, its events' timestamps.
            interval = partition_interval(dag, key) if key is not None else None
            run = new_dag_run(
                dag,
                logical_date=now,
                run_type=ASSET_TRIGGERED,
                data_interval=interval or (min(stamps), max(stamps)),
                partition_key=key,
            )
        except InvalidPartitionKeyError as exc:
            log.warning("%d asset event(s) stay queued: %s", len(events), exc)
            return []
        if store.get_dag_run(dag.dag_id, run.run_id) is not None:
            return []  # a run at this very moment exists: the next pass creates it
        planned.append((run, events))
    try:
        with store.unit_of_work() as uow:
            consumed: set[int] = set()
            for run, events in planned:
                DagRunEngine.create(dag, uow, xcoms, run)
                ids = [e.event_id for e in events]
                fresh = [i for i in ids if i not in consumed]
                if fresh:
                    if uow.consume_queued_asset_events(dag.dag_id, run.run_id, fresh) == 0:
                        raise _AlreadyConsumed
                    consumed.update(fresh)
                if len(fresh) < len(ids):  # a fan-out event another run of the batch took
                    uow.record_triggering_asset_events(
                        dag.dag_id, run.run_id, [i for i in ids if i not in fresh]
                    )
    except _AlreadyConsumed:
        return []
    except ValueError:  # another scheduler created a run with this id at the same moment
        if all(store.get_dag_run(dag.dag_id, run.run_id) is None for run, _ in planned):
            raise
        return []
    for run, events in planned:
        log.info(
            "Created run %s of %s, triggered by %d asset event(s) of %s",
            run.run_id,
            dag.dag_id,
            len(events),
            ", ".join(sorted({e.uri for e in events})),
        )
    return [run for run, _ in planned]
