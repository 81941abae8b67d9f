"""The SQL store's event log: what people (and, today, state changes) did, oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, func, insert, select, true

from headwater.db.convert import EVENTS, event
from headwater.db.rows import EventRow
from headwater.store.sql.core import SqlCore


class SqlEvents(SqlCore):
    """The event log on SQL."""

    def record_event(
        self,
        kind: str,
        *,
        at: datetime,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        map_index: int | None = None,
        try_number: int | None = None,
        state: str | None = None,
        detail: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Append an entry to the event log ('trigger', 'clear', ...); returns its id."""
        params = event(
            kind,
            at,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            try_number=try_number,
            state=state,
            detail=detail,
            actor=actor,
        )
        with self._write() as conn:
            key = conn.execute(insert(EVENTS), params).inserted_primary_key
        assert key is not None
        return int(key[0])

    def list_events(
        self,
        dag_id: str | None = None,
        run_id: str | None = None,
        kind: str | None = None,
        limit: int | None = 100,
    ) -> list[EventRow]:
        """The newest ``limit`` events (all with None) matching the filters, oldest first."""
        query = select(EVENTS)
        for column, value in (("dag_id", dag_id), ("run_id", run_id), ("kind", kind)):
            if value is not None:
                query = query.where(EVENTS.c[column] == value)
        query = query.order_by(EVENTS.c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [EventRow(**row._mapping) for row in reversed(rows)]

    def page_events(
        self,
        *,
        dag_ids: Iterable[str] | None = None,
        kind: str | None = None,
        actor: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[EventRow], int]:
        """One page of the matching events, newest first, and how many match in all."""
        conditions: list[ColumnElement[bool]] = [true()]
        if dag_ids is not None:
            conditions.append(EVENTS.c.dag_id.in_(sorted(set(dag_ids))))
        if kind is not None:
            conditions.append(EVENTS.c.kind == kind)
        if actor is not None:
            conditions.append(EVENTS.c.actor == actor)
        query = select(EVENTS).where(*conditions).order_by(EVENTS.c.id.desc())
        counted = select(func.count()).select_from(EVENTS).where(*conditions)
        with self._read() as conn:
            total = int(conn.execute(counted).scalar_one())
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [EventRow(**row._mapping) for row in rows], total
