"""The SQL store's backfills: the ``backfills`` table and ``dag_runs.backfill_id``.

A backfill is one request to run a DAG over a range of logical dates; its runs carry its id
in ``dag_runs.backfill_id``. The scheduler reads :meth:`SqlBackfills.backfill_limits` and
:meth:`SqlBackfills.active_backfill_runs` to keep each backfill within its
``max_active_runs``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select, update

from headwater.db.backfill_models import BackfillModel
from headwater.db.convert import ACTIVE_RUN_STATES, RUNS
from headwater.db.rows import BackfillRow
from headwater.store.sql.core import SqlCore

BACKFILLS = cast(Table, BackfillModel.__table__)


class SqlBackfills(SqlCore):
    """Backfills on SQL."""

    def create_backfill(
        self,
        dag_id: str,
        start: datetime,
        end: datetime,
        reprocess: str,
        max_active_runs: int,
        created_at: datetime,
        created_by: str | None = None,
        run_backwards: bool = False,
    ) -> BackfillRow:
        """Store a new backfill and return it with its id."""
        params = {
            "dag_id": dag_id,
            "start": start,
            "end": end,
            "reprocess": reprocess,
            "max_active_runs": max_active_runs,
            "created_at": created_at,
            "created_by": created_by,
            "run_backwards": run_backwards,
        }
        with self._write() as conn:
            key = conn.execute(insert(BACKFILLS), params).inserted_primary_key
        assert key is not None
        return BackfillRow(id=int(key[0]), **params)  # type: ignore[arg-type]

    def get_backfill(self, backfill_id: int) -> BackfillRow | None:
        with self._read() as conn:
            row = conn.execute(select(BACKFILLS).where(BACKFILLS.c.id == backfill_id)).first()
        return BackfillRow(**row._mapping) if row is not None else None

    def complete_backfill(self, backfill_id: int, completed_at: datetime) -> bool:
        """Set ``completed_at`` where it is still NULL: of two concurrent cancels, one wins."""
        query = (
            update(BACKFILLS)
            .where(BACKFILLS.c.id == backfill_id, BACKFILLS.c.completed_at.is_(None))
            .values(completed_at=completed_at)
        )
        with self._write() as conn:
            return int(conn.execute(query).rowcount) == 1

    def list_backfills(self, dag_id: str | None = None) -> list[BackfillRow]:
        """Backfills (of ``dag_id``, or all), oldest first."""
        query = select(BACKFILLS).order_by(BACKFILLS.c.id)
        if dag_id is not None:
            query = query.where(BACKFILLS.c.dag_id == dag_id)
        with self._read() as conn:
            return [BackfillRow(**row._mapping) for row in conn.execute(query)]

    def set_runs_backfill(
        self, dag_id: str, run_ids: Iterable[str], backfill_id: int | None
    ) -> int:
        """Mark runs of ``dag_id`` as belonging to backfill ``backfill_id``; returns how many."""
        ids = list(run_ids)
        if not ids:
            return 0
        query = (
            update(RUNS)
            .where(RUNS.c.dag_id == dag_id, RUNS.c.run_id.in_(ids))
            .values(backfill_id=backfill_id)
        )
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    def backfill_limits(self) -> dict[int, int]:
        """Backfill id -> its ``max_active_runs``, for every backfill with a run queued or
        running. The scheduler starts a QUEUED run of backfill ``b`` only while fewer than
        ``backfill_limits()[b]`` of b's runs are RUNNING."""
        has_active_run = (
            select(RUNS.c.backfill_id)
            .where(RUNS.c.backfill_id.is_not(None), RUNS.c.state.in_(ACTIVE_RUN_STATES))
            .distinct()
        )
        query = select(BACKFILLS.c.id, BACKFILLS.c.max_active_runs).where(
            BACKFILLS.c.id.in_(has_active_run)
        )
        with self._read() as conn:
            return {int(backfill_id): int(limit) for backfill_id, limit in conn.execute(query)}

    def active_backfill_runs(self) -> dict[tuple[str, str], int]:
        """(dag_id, run_id) -> backfill id, for every queued or running run of a backfill.

        The engine's :class:`~headwater.engine.records.DagRun` does not carry
        ``backfill_id``; this is how the scheduler tells which runs belong to which backfill.
        """
        query = select(RUNS.c.dag_id, RUNS.c.run_id, RUNS.c.backfill_id).where(
            RUNS.c.backfill_id.is_not(None), RUNS.c.state.in_(ACTIVE_RUN_STATES)
        )
        with self._read() as conn:
            return {(dag_id, run_id): int(b) for dag_id, run_id, b in conn.execute(query)}

    def run_backfill_ids(self, dag_id: str) -> dict[str, int]:
        """run_id -> backfill id, for the runs of ``dag_id`` that belong to a backfill."""
        query = select(RUNS.c.run_id, RUNS.c.backfill_id).where(
            RUNS.c.dag_id == dag_id, RUNS.c.backfill_id.is_not(None)
        )
        with self._read() as conn:
            return {run_id: int(b) for run_id, b in conn.execute(query)}

    def delete_backfills(self, dag_id: str) -> int:
        """Delete every backfill of ``dag_id``; returns how many."""
        with self._write() as conn:
            return int(conn.execute(delete(BACKFILLS).where(BACKFILLS.c.dag_id == dag_id)).rowcount)
