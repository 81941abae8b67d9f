"""The asset events waiting for runs on SQL, and the runs they triggered: the queue of each
DAG scheduled on assets (``asset_dag_run_queue``) and the links from a run to its triggering
events (``dag_run_asset_events``). Part of the asset port (:mod:`headwater.store.assets`);
events are recorded and queued in :mod:`headwater.store.sql.assets`.

Consuming takes the queue rows of one DAG (``FOR UPDATE`` on PostgreSQL, so two schedulers
never both take one) and records them as the run's triggering events, in the caller's unit
of work.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, delete, insert, select

from headwater.store.assets import AssetEventRow, QueuedAssetEvent
from headwater.store.sql.assets import (
    ASSET_EVENTS,
    ASSETS,
    QUEUE,
    RUN_EVENTS,
    select_events,
    to_event,
)
from headwater.store.sql.core import SqlCore

__all__ = ["SqlAssetQueue"]


class SqlAssetQueue(SqlCore):
    """The queues of asset events and the runs' triggering events on SQL."""

    def queued_asset_events(self, dag_id: str | None = None) -> list[QueuedAssetEvent]:
        q, e = QUEUE.c, ASSET_EVENTS.c
        stmt = (
            select(
                q.dag_id,
                q.event_id,
                q.asset_id,
                ASSETS.c.uri,
                e.timestamp,
                e.source_alias,
                e.partition_key,
                ASSETS.c.name,
            )
            .join(ASSET_EVENTS, e.id == q.event_id)
            .join(ASSETS, ASSETS.c.id == q.asset_id)
            .order_by(q.dag_id, q.event_id)
        )
        if dag_id is not None:
            stmt = stmt.where(q.dag_id == dag_id)
        with self._read() as conn:
            return [QueuedAssetEvent(*row) for row in conn.execute(stmt)]

    def consume_queued_asset_events(
        self, dag_id: str, run_id: str, event_ids: Iterable[int]
    ) -> int:
        wanted = sorted(set(event_ids))
        if not wanted:
            return 0
        q = QUEUE.c
        mine = and_(q.dag_id == dag_id, q.event_id.in_(wanted))
        with self._write() as conn:
            taken = list(conn.execute(select(q.event_id).where(mine).with_for_update()).scalars())
            if taken:
                conn.execute(delete(QUEUE).where(q.dag_id == dag_id, q.event_id.in_(taken)))
                conn.execute(
                    insert(RUN_EVENTS),
                    [{"dag_id": dag_id, "run_id": run_id, "event_id": i} for i in taken],
                )
        return len(taken)

    def record_triggering_asset_events(
        self, dag_id: str, run_id: str, event_ids: Iterable[int]
    ) -> None:
        wanted = sorted(set(event_ids))
        if not wanted:
            return
        r = RUN_EVENTS.c
        with self._write() as conn:
            existing = conn.execute(select(ASSET_EVENTS.c.id).where(ASSET_EVENTS.c.id.in_(wanted)))
            there = set(existing.scalars())
            linked = conn.execute(
                select(r.event_id).where(
                    r.dag_id == dag_id, r.run_id == run_id, r.event_id.in_(wanted)
                )
            )
            new = sorted(there - set(linked.scalars()))
            if new:
                conn.execute(
                    insert(RUN_EVENTS),
                    [{"dag_id": dag_id, "run_id": run_id, "event_id": i} for i in new],
                )

    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[AssetEventRow]:
        r = RUN_EVENTS.c
        stmt = (
            select_events()
            .join(RUN_EVENTS, r.event_id == ASSET_EVENTS.c.id)
            .where(r.dag_id == dag_id, r.run_id == run_id)
            .order_by(ASSET_EVENTS.c.id)
        )
        with self._read() as conn:
            return [to_event(row) for row in conn.execute(stmt)]
