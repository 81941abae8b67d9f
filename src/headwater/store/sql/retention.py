"""The SQL store's data retention (:class:`~headwater.store.retention.RetentionStore`).

Each method is one statement or one short transaction: :func:`removable_runs_query` is the
one definition of a removable run, used to pick runs and to keep the asset events a kept run
consumed. Rows of a run are deleted explicitly, table by table (:data:`RUN_TABLE_OBJECTS`),
before the run itself, so a table without ``ON DELETE CASCADE`` is covered too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    delete,
    exists,
    func,
    not_,
    or_,
    select,
    tuple_,
)

from headwater.db.backfill_models import BackfillModel
from headwater.db.convert import ATTEMPTS, EVENTS, RUNS, TIS, XCOMS
from headwater.db.data_aware_models import (
    AssetDagRunQueueModel,
    AssetEventModel,
    DagRunAssetEventModel,
    TriggerModel,
)
from headwater.db.operations_models import DeadlineModel
from headwater.db.state_store_models import TaskStateModel
from headwater.engine.states import FINISHED_RUN_STATES
from headwater.store.retention import (
    BACKFILLS_TABLE,
    RUN_TABLES,
    RUNS_TABLE,
    RetentionStore,
    RunKey,
)
from headwater.store.sql.core import SqlCore

ASSET_EVENTS = cast(Table, AssetEventModel.__table__)
ASSET_QUEUE = cast(Table, AssetDagRunQueueModel.__table__)
RUN_ASSET_EVENTS = cast(Table, DagRunAssetEventModel.__table__)
BACKFILLS = cast(Table, BackfillModel.__table__)

RUN_TABLE_OBJECTS: dict[str, Table] = {
    table.name: table
    for table in (
        XCOMS,
        ATTEMPTS,
        cast(Table, TriggerModel.__table__),
        RUN_ASSET_EVENTS,
        cast(Table, DeadlineModel.__table__),
        cast(Table, TaskStateModel.__table__),
        TIS,
        EVENTS,
    )
}
assert tuple(RUN_TABLE_OBJECTS) == RUN_TABLES, "store.retention.RUN_TABLES lists these"

_FINISHED = sorted(state.value for state in FINISHED_RUN_STATES)


def removable_runs_query(cutoff: datetime, dag_id: str | None) -> Select[tuple[str, str]]:
    """``(dag_id, run_id)`` of every removable run: the one definition (see
    :mod:`headwater.store.retention`). The newest dates are found once per query, grouped by
    DAG (a join, not a subquery per run), so a batch costs one pass over the runs."""
    newest = select(RUNS.c.dag_id, func.max(RUNS.c.logical_date).label("logical_date"))
    scheduled = select(
        RUNS.c.dag_id, func.max(RUNS.c.data_interval_start).label("interval_start")
    ).where(RUNS.c.run_type == "scheduled")
    conditions = [
        RUNS.c.state.in_(_FINISHED),
        func.coalesce(RUNS.c.end_date, RUNS.c.logical_date) < cutoff,
    ]
    if dag_id is not None:
        newest = newest.where(RUNS.c.dag_id == dag_id)
        scheduled = scheduled.where(RUNS.c.dag_id == dag_id)
        conditions.append(RUNS.c.dag_id == dag_id)
    newest_of = newest.group_by(RUNS.c.dag_id).subquery("newest")
    scheduled_of = scheduled.group_by(RUNS.c.dag_id).subquery("newest_scheduled")
    return (
        select(RUNS.c.dag_id, RUNS.c.run_id)
        .join(newest_of, newest_of.c.dag_id == RUNS.c.dag_id)
        .outerjoin(scheduled_of, scheduled_of.c.dag_id == RUNS.c.dag_id)
        .where(
            *conditions,
            RUNS.c.logical_date < newest_of.c.logical_date,
            or_(
                RUNS.c.run_type != "scheduled",
                RUNS.c.data_interval_start < scheduled_of.c.interval_start,
            ),
        )
    )


def _of_runs(table: Table, runs: Sequence[RunKey]) -> ColumnElement[bool]:
    return tuple_(table.c.dag_id, table.c.run_id).in_(list(runs))


class SqlRetention(SqlCore, RetentionStore):
    """Data retention on SQL."""

    def removable_runs(
        self, cutoff: datetime, *, dag_id: str | None, after: RunKey | None, limit: int
    ) -> list[RunKey]:
        query = removable_runs_query(cutoff, dag_id)
        if after is not None:
            query = query.where(tuple_(RUNS.c.dag_id, RUNS.c.run_id) > tuple_(*after))
        query = query.order_by(RUNS.c.dag_id, RUNS.c.run_id).limit(limit)
        with self._read() as conn:
            return [(row.dag_id, row.run_id) for row in conn.execute(query)]

    def count_run_rows(self, runs: Sequence[RunKey]) -> dict[str, int]:
        tables = {RUNS_TABLE: RUNS, **RUN_TABLE_OBJECTS}
        if not runs:
            return dict.fromkeys(tables, 0)
        with self._read() as conn:
            return {
                name: int(
                    conn.execute(
                        select(func.count()).select_from(table).where(_of_runs(table, runs))
                    ).scalar_one()
                )
                for name, table in tables.items()
            }

    def delete_runs(self, runs: Sequence[RunKey]) -> dict[str, int]:
        counts = dict.fromkeys((*RUN_TABLE_OBJECTS, RUNS_TABLE, BACKFILLS_TABLE), 0)
        if not runs:
            return counts
        with self._write() as conn:
            backfill_ids = {
                backfill_id
                for (backfill_id,) in conn.execute(
                    select(RUNS.c.backfill_id).where(
                        _of_runs(RUNS, runs), RUNS.c.backfill_id.is_not(None)
                    )
                )
            }
            for name, table in (*RUN_TABLE_OBJECTS.items(), (RUNS_TABLE, RUNS)):
                counts[name] = conn.execute(delete(table).where(_of_runs(table, runs))).rowcount
            if backfill_ids:
                has_runs = exists().where(RUNS.c.backfill_id == BACKFILLS.c.id)
                counts[BACKFILLS_TABLE] = conn.execute(
                    delete(BACKFILLS).where(BACKFILLS.c.id.in_(backfill_ids), not_(has_runs))
                ).rowcount
        return counts

    def old_event_ids(
        self, cutoff: datetime, *, dag_id: str | None, after: int, limit: int
    ) -> list[int]:
        run_exists = exists().where(
            RUNS.c.dag_id == EVENTS.c.dag_id, RUNS.c.run_id == EVENTS.c.run_id
        )
        query = select(EVENTS.c.id).where(
            EVENTS.c.at < cutoff,
            EVENTS.c.id > after,
            or_(EVENTS.c.run_id.is_(None), not_(run_exists)),
        )
        if dag_id is not None:
            query = query.where(EVENTS.c.dag_id == dag_id)
        with self._read() as conn:
            return list(conn.execute(query.order_by(EVENTS.c.id).limit(limit)).scalars())

    def delete_events(self, event_ids: Sequence[int]) -> int:
        if not event_ids:
            return 0
        with self._write() as conn:
            return int(conn.execute(delete(EVENTS).where(EVENTS.c.id.in_(event_ids))).rowcount)

    def old_asset_event_ids(
        self, cutoff: datetime, *, dag_id: str | None, after: int, limit: int
    ) -> list[int]:
        events = ASSET_EVENTS
        newer = ASSET_EVENTS.alias("newer")
        # A link's run exists (links go with their runs): kept unless it is removable.
        kept_consumer = exists().where(
            RUN_ASSET_EVENTS.c.event_id == events.c.id,
            tuple_(RUN_ASSET_EVENTS.c.dag_id, RUN_ASSET_EVENTS.c.run_id).not_in(
                removable_runs_query(cutoff, dag_id)
            ),
        )
        queued = exists().where(ASSET_QUEUE.c.event_id == events.c.id)
        has_newer = exists().where(newer.c.asset_id == events.c.asset_id, newer.c.id > events.c.id)
        query = select(events.c.id).where(
            events.c.timestamp < cutoff,
            events.c.id > after,
            not_(kept_consumer),
            not_(queued),
            has_newer,
        )
        if dag_id is not None:
            query = query.where(events.c.source_dag_id == dag_id)
        with self._read() as conn:
            return list(conn.execute(query.order_by(events.c.id).limit(limit)).scalars())

    def delete_asset_events(self, event_ids: Sequence[int]) -> int:
        if not event_ids:
            return 0
        with self._write() as conn:
            # Links of runs that were removed went with their runs; a link left (a run kept
            # since) would keep the event out of old_asset_event_ids.
            return int(
                conn.execute(delete(ASSET_EVENTS).where(ASSET_EVENTS.c.id.in_(event_ids))).rowcount
            )
