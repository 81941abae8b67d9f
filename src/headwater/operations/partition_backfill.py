"""Backfills over partitions: ``headwater dags backfill DAG --partitions 2024-01-01..2024-01-31``
(a range of time partitions) or ``--partitions eu,us`` (keys), for a DAG declared with
``partitions=`` (see :mod:`headwater.authoring.partitions`).

Each key gets one item, decided as a backfill over dates decides a logical date
(:mod:`headwater.operations.backfill`): ``create`` when no run works on that partition,
``rerun``/``skip`` by ``reprocess`` when one does; a time partition that has not ended by
``now`` is skipped. A created run is ``backfill__<key>__<logical date>``, its logical date
the partition's start (a static partition's: ``now``) and its data interval the partition's.

Planning is one read of the DAG's runs and one pass over the keys; the runs are stored with
:meth:`~headwater.store.ports.RunQueries.create_dag_runs`, a few statements per
:data:`~headwater.store.ports.RUN_BATCH` runs, in the backfill's one unit of work: a backfill
of 100,000 partitions costs O(partitions) work and about a hundred statements
(``benchmarks/partition_backfill.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.records import DagRun
from headwater.engine.run_factory import new_dag_run, new_task_instances
from headwater.exceptions import InvalidPartitionKeyError
from headwater.operations._stored import stored_dag
from headwater.operations.errors import ConflictError, InvalidRequestError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.operations.backfill import Backfill, BackfillItem, BackfillPlan
    from headwater.store.ports import Store

MAX_BACKFILL_PARTITIONS = 1_000_000
"""Most partitions one backfill covers: a range reaching year 9999 of hourly keys is refused
as soon as it passes this many, before anything is stored."""


def plan_partition_backfill(
    store: Store,
    dag_id: str,
    partitions: str,
    reprocess: str = "failed",
    *,
    now: datetime | None = None,
) -> BackfillPlan:
    """What a backfill of ``dag_id`` over ``partitions`` (``FIRST..LAST`` or ``KEY,KEY``)
    would do; changes nothing. Raises for an unknown DAG, a DAG without partitions, a key
    (or range) its partitions lack, more than :data:`MAX_BACKFILL_PARTITIONS` keys, or an
    unknown ``reprocess``."""
    from headwater.operations.backfill import REPROCESS, BackfillItem, BackfillPlan, _decide

    if reprocess not in REPROCESS:
        raise InvalidRequestError(f"reprocess {reprocess!r} is not one of {', '.join(REPROCESS)}")
    _, dag = stored_dag(store, dag_id, action="backfill")
    if dag.partitions is None:
        raise InvalidRequestError(
            f"DAG {dag_id!r} has no partitions: backfill it by logical dates (--start/--end)"
        )
    now = now or datetime.now(UTC)
    runs: dict[str, list[DagRun]] = {}
    for run in store.list_dag_runs(dag_id):
        if run.partition_key is not None:
            runs.setdefault(run.partition_key, []).append(run)
    items: list[BackfillItem] = []
    for key in _keys(dag, partitions):
        if len(items) == MAX_BACKFILL_PARTITIONS:
            raise InvalidRequestError(
                f"backfill of DAG {dag_id!r} over partitions {partitions} would need more than "
                f"{MAX_BACKFILL_PARTITIONS:,} runs: narrow the range"
            )
        interval = dag.partitions.interval(key)
        start, end = interval if interval is not None else (now, now)
        new_id = f"backfill__{key}__{start.isoformat()}"
        if end > now:
            action, found, reason = "skip", None, f"the partition ends at {end.isoformat()}"
        else:
            action, found, reason = _decide(runs.get(key, []), reprocess)
        items.append(
            BackfillItem(
                logical_date=start,
                data_interval_start=start,
                data_interval_end=end,
                action=action,
                run_id=found.run_id if found is not None else new_id,
                state=found.state.value if found is not None else None,
                reason=reason,
                partition_key=key,
            )
        )
    first = items[0].data_interval_start if items else now
    last = items[-1].data_interval_end if items else now
    return BackfillPlan(
        items, dag_id=dag_id, start=first, end=last, reprocess=reprocess, partitions=partitions
    )


def _keys(dag: DAG, spec: str) -> Iterator[str]:
    """The keys ``spec`` names, lazily; an error names the DAG and the bad key."""
    assert dag.partitions is not None
    try:
        yield from dag.partitions.iter_spec(spec)
    except InvalidPartitionKeyError as exc:
        raise InvalidRequestError(f"DAG {dag.dag_id!r}: {exc}") from None


def create_partition_runs(
    uow: Store,
    dag: DAG,
    plan: BackfillPlan,
    backfill_id: int,
    conf: Mapping[str, Any] | None,
    result: Backfill,
) -> None:
    """Store the plan's ``create`` items as runs of backfill ``backfill_id``, batched, inside
    ``uow``; a partition that got a run since it was planned is skipped. Raises a conflict
    (the unit of work then stores nothing) when a run id was taken meanwhile."""
    creates = plan.with_action("create")
    if not creates:
        return
    taken = {r.partition_key for r in uow.list_dag_runs(dag.dag_id)} - {None}
    batch = []
    for item in creates:
        if item.partition_key in taken:
            result.skipped.append(item.run_id)  # created meanwhile
            continue
        run = new_dag_run(
            dag,
            logical_date=item.logical_date,
            run_id=item.run_id,
            run_type="backfill",
            conf=conf,
            data_interval=(item.data_interval_start, item.data_interval_end),
            partition_key=item.partition_key,
        )
        # Stored with its backfill id: no scheduler sees it outside max_active_runs.
        run.backfill_id = backfill_id
        batch.append((run, new_task_instances(dag, run)))
        result.created.append(run.run_id)
    dag.validate()
    try:
        uow.create_dag_runs(batch)
    except ValueError as exc:
        raise ConflictError(
            f"backfill of DAG {dag.dag_id!r}: {exc} (created meanwhile); nothing was stored: "
            "run the backfill again"
        ) from None
