"""The deadline port in memory (see :mod:`headwater.store.deadlines`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from headwater.store.deadlines import (
    MET,
    MISSED,
    NO_CALLBACK,
    PENDING,
    WAITING,
    DeadlinePlan,
    DeadlineRow,
)
from headwater.store.memory.core import MemoryCore


class MemoryDeadlines(MemoryCore):
    """Deadlines in memory (the lock makes each compare-and-set one at a time)."""

    def plan_deadlines(self, plans: Iterable[DeadlinePlan], now: datetime) -> int:
        new = 0
        with self._lock:
            known = {
                (r.dag_id, r.run_id, r.task_id, r.map_index, r.name)
                for r in self._s.deadlines.values()
            }
            for plan in plans:
                key = (plan.dag_id, plan.run_id, plan.task_id, plan.map_index, plan.name)
                if key in known:
                    continue
                known.add(key)
                deadline_id = self._s.next_id("deadlines")
                self._s.deadlines[deadline_id] = DeadlineRow(
                    id=deadline_id,
                    dag_id=plan.dag_id,
                    run_id=plan.run_id,
                    task_id=plan.task_id,
                    map_index=plan.map_index,
                    name=plan.name,
                    kind=plan.kind,
                    due_at=plan.due_at,
                    planned_at=now,
                    status=WAITING,
                )
                new += 1
        return new

    def due_deadlines(self, now: datetime, limit: int = 500) -> list[DeadlineRow]:
        with self._lock:
            due = [r for r in self._s.deadlines.values() if r.status == WAITING and r.due_at <= now]
        return sorted(due, key=lambda r: (r.due_at, r.id))[:limit]

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
        with self._lock:
            row = self._s.deadlines.get(deadline_id)
            if row is None or row.status != WAITING:
                return False
            self._s.deadlines[deadline_id] = dataclasses.replace(row, **values)
            return True

    def pending_deadline_callbacks(self, limit: int = 100) -> list[DeadlineRow]:
        with self._lock:
            rows = [r for r in self._s.deadlines.values() if r.callback_state == PENDING]
        return sorted(rows, key=lambda r: r.id)[:limit]

    def set_deadline_callback_state(
        self, deadline_id: int, expected: str, state: str, error: str | None = None
    ) -> bool:
        with self._lock:
            row = self._s.deadlines.get(deadline_id)
            if row is None or row.callback_state != expected:
                return False
            self._s.deadlines[deadline_id] = dataclasses.replace(
                row, callback_state=state, callback_error=error
            )
            return True

    def get_deadline(self, deadline_id: int) -> DeadlineRow | None:
        with self._lock:
            return self._s.deadlines.get(deadline_id)

    def list_deadlines(self, dag_id: str, run_id: str | None = None) -> list[DeadlineRow]:
        with self._lock:
            rows = [
                r
                for r in self._s.deadlines.values()
                if r.dag_id == dag_id and (run_id is None or r.run_id == run_id)
            ]
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    def list_deadline_misses(
        self, dag_ids: Iterable[str] | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[DeadlineRow], int]:
        with self._lock:
            wanted = None if dag_ids is None else set(dag_ids)
            rows = [
                r
                for r in self._s.deadlines.values()
                if r.status == MISSED and (wanted is None or r.dag_id in wanted)
            ]
        rows.sort(key=lambda r: (r.missed_at, r.id), reverse=True)
        return rows[offset : offset + limit], len(rows)

    def run_queued_at(self, dag_id: str, run_id: str) -> datetime | None:
        return None
