"""The deadline port on SQL: the ``deadlines`` table (migration 0009).

Planning is ``INSERT ... ON CONFLICT DO NOTHING`` on the deadline's unique key; meeting and
missing are one conditional ``UPDATE`` each (``status = 'waiting'``), so of two schedulers
(or a scheduler and the one before its restart) exactly one records a miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, func, select, update

from headwater.db import dialect
from headwater.db.convert import RUNS
from headwater.db.operations_models import DAG_LEVEL_TASK_ID, DeadlineModel
from headwater.store.deadlines import (
    MET,
    MISSED,
    NO_CALLBACK,
    PENDING,
    WAITING,
    DeadlinePlan,
    DeadlineRow,
)
from headwater.store.sql.core import SqlCore

DEADLINES = cast(Table, DeadlineModel.__table__)
_KEY = ("dag_id", "run_id", "task_id", "map_index", "name")


def to_deadline(row: Row[Any]) -> DeadlineRow:
    v = row._mapping
    return DeadlineRow(
        id=v["id"],
        dag_id=v["dag_id"],
        run_id=v["run_id"],
        task_id=v["task_id"] or None,
        map_index=v["map_index"],
        name=v["name"],
        kind=v["kind"],
        due_at=v["due_at"],
        planned_at=v["planned_at"],
        status=v["status"],
        resolved_at=v["resolved_at"],
        missed_at=v["missed_at"],
        reason=v["reason"],
        callback_state=v["callback_state"],
        callback_error=v["callback_error"],
    )


class SqlDeadlines(SqlCore):
    """Deadlines on SQL."""

    def plan_deadlines(self, plans: Iterable[DeadlinePlan], now: datetime) -> int:
        rows = [
            {
                "dag_id": p.dag_id,
                "run_id": p.run_id,
                "task_id": p.task_id or DAG_LEVEL_TASK_ID,
                "map_index": p.map_index,
                "name": p.name,
                "kind": p.kind,
                "due_at": p.due_at,
                "planned_at": now,
                "status": WAITING,
                "callback_state": NO_CALLBACK,
            }
            for p in plans
        ]
        if not rows:
            return 0
        stmt: Any = dialect.insert(self.engine.dialect.name, DEADLINES)
        stmt = stmt.on_conflict_do_nothing(index_elements=list(_KEY)).returning(DEADLINES.c.id)
        new = 0
        with self._write() as conn:
            for row in rows:  # a few per run: RETURNING tells which were new
                new += len(conn.execute(stmt, row).all())
        return new

    def due_deadlines(self, now: datetime, limit: int = 500) -> list[DeadlineRow]:
        d = DEADLINES.c
        query = (
            select(DEADLINES)
            .where(d.status == WAITING, d.due_at <= now)
            .order_by(d.due_at, d.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [to_deadline(row) for row in conn.execute(query)]

    def resolve_deadline(self, deadline_id: int, now: datetime) -> bool:
        return self._change_waiting(deadline_id, status=MET, resolved_at=now)

    def record_deadline_miss(
        self, deadline_id: int, now: datetime, reason: str, *, has_callback: bool
    ) -> bool:
        return self._change_waiting(
            deadline_id,
            status=MISSED,
            resolved_at=now,
            missed_at=now,
            reason=reason,
            callback_state=PENDING if has_callback else NO_CALLBACK,
        )

    def _change_waiting(self, deadline_id: int, **values: Any) -> bool:
        d = DEADLINES.c
        query = update(DEADLINES).where(d.id == deadline_id, d.status == WAITING).values(**values)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    def pending_deadline_callbacks(self, limit: int = 100) -> list[DeadlineRow]:
        d = DEADLINES.c
        query = select(DEADLINES).where(d.callback_state == PENDING).order_by(d.id).limit(limit)
        with self._read() as conn:
            return [to_deadline(row) for row in conn.execute(query)]

    def set_deadline_callback_state(
        self, deadline_id: int, expected: str, state: str, error: str | None = None
    ) -> bool:
        d = DEADLINES.c
        query = (
            update(DEADLINES)
            .where(d.id == deadline_id, d.callback_state == expected)
            .values(callback_state=state, callback_error=error)
        )
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    def get_deadline(self, deadline_id: int) -> DeadlineRow | None:
        with self._read() as conn:
            row = conn.execute(select(DEADLINES).where(DEADLINES.c.id == deadline_id)).first()
        return None if row is None else to_deadline(row)

    def list_deadlines(self, dag_id: str, run_id: str | None = None) -> list[DeadlineRow]:
        d = DEADLINES.c
        query = select(DEADLINES).where(d.dag_id == dag_id).order_by(d.due_at, d.id)
        if run_id is not None:
            query = query.where(d.run_id == run_id)
        with self._read() as conn:
            return [to_deadline(row) for row in conn.execute(query)]

    def list_deadline_misses(
        self, dag_ids: Iterable[str] | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[DeadlineRow], int]:
        d = DEADLINES.c
        where = [d.status == MISSED]
        if dag_ids is not None:
            where.append(d.dag_id.in_(list(dag_ids)))
        page = (
            select(DEADLINES)
            .where(*where)
            .order_by(d.missed_at.desc(), d.id.desc())
            .offset(offset)
            .limit(limit)
        )
        count = select(func.count()).select_from(DEADLINES).where(*where)
        with self._read() as conn:
            rows = [to_deadline(row) for row in conn.execute(page)]
            total = int(conn.execute(count).scalar_one())
        return rows, total

    def run_queued_at(self, dag_id: str, run_id: str) -> datetime | None:
        query = select(RUNS.c.queued_at).where(RUNS.c.dag_id == dag_id, RUNS.c.run_id == run_id)
        with self._read() as conn:
            value: datetime | None = conn.execute(query).scalar()
        return value
