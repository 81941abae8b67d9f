"""The metrics port on SQL (see :mod:`headwater.store.metrics`): grouped counts, each one
statement over an index (``ix_dag_runs_state``, ``ix_task_instances_state``, the events'
primary key)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from headwater.db.convert import EVENTS, IMPORT_ERRORS, RUNS, TIS
from headwater.store.metrics import EventCounts
from headwater.store.sql.core import SqlCore


class SqlMetrics(SqlCore):
    """The counts ``/metrics`` reports, on SQL."""

    def count_runs_by_state(self) -> dict[str, int]:
        query = select(RUNS.c.state, func.count()).group_by(RUNS.c.state)
        with self._read() as conn:
            return {state: int(count) for state, count in conn.execute(query)}

    def count_tis_by_state(self) -> dict[str, int]:
        query = select(TIS.c.state, func.count()).group_by(TIS.c.state)
        with self._read() as conn:
            return {state: int(count) for state, count in conn.execute(query)}

    def count_import_error_files(self) -> int:
        query = select(func.count(func.distinct(IMPORT_ERRORS.c.filename)))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def count_events_after(self, kind: str, after_id: int) -> EventCounts:
        newer = EVENTS.c.id > after_id
        counts = (
            select(EVENTS.c.dag_id, func.count())
            .where(newer, EVENTS.c.kind == kind)
            .group_by(EVENTS.c.dag_id)
        )
        with self._read() as conn:
            # The highest id first: events recorded between the two statements are counted
            # by the next call, never twice and never lost.
            last_id = conn.execute(select(func.max(EVENTS.c.id)).where(newer)).scalar_one()
            if last_id is None:
                return EventCounts({}, after_id)
            by_dag: Counter[str] = Counter()
            for dag_id, count in conn.execute(counts.where(EVENTS.c.id <= last_id)):
                by_dag[dag_id or ""] += int(count)
        return EventCounts(dict(by_dag), int(last_id))
