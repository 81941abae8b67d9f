"""The memory store's backfills."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from headwater.db.convert import ACTIVE_RUN_STATES
from headwater.db.rows import BackfillRow
from headwater.store.memory.core import MemoryCore


class MemoryBackfills(MemoryCore):
    """Backfills in memory; a run's backfill is its record's ``backfill_id``."""

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
        with self._lock:
            backfill_id = self._s.next_id("backfills")
            row = BackfillRow(
                backfill_id,
                dag_id,
                start,
                end,
                reprocess,
                max_active_runs,
                created_at,
                created_by=created_by,
                run_backwards=run_backwards,
            )
            self._s.backfills[backfill_id] = row
            return row

    def get_backfill(self, backfill_id: int) -> BackfillRow | None:
        with self._lock:
            return self._s.backfills.get(backfill_id)  # frozen: no copy needed

    def complete_backfill(self, backfill_id: int, completed_at: datetime) -> bool:
        with self._lock:
            row = self._s.backfills.get(backfill_id)
            if row is None or row.completed_at is not None:
                return False
            self._s.backfills[backfill_id] = replace(row, completed_at=completed_at)
            return True

    def list_backfills(self, dag_id: str | None = None) -> list[BackfillRow]:
        with self._lock:
            return [
                row
                for _, row in sorted(self._s.backfills.items())
                if dag_id is None or row.dag_id == dag_id
            ]

    def set_runs_backfill(
        self, dag_id: str, run_ids: Iterable[str], backfill_id: int | None
    ) -> int:
        with self._lock:
            runs = [self._s.runs[(dag_id, r)] for r in set(run_ids) if (dag_id, r) in self._s.runs]
            for run in runs:
                run.backfill_id = backfill_id
            return len(runs)

    def backfill_limits(self) -> dict[int, int]:
        with self._lock:
            active = set(self.active_backfill_runs().values())
            return {b: self._s.backfills[b].max_active_runs for b in active}

    def active_backfill_runs(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return {
                key: run.backfill_id
                for key, run in self._s.runs.items()
                if run.backfill_id is not None and run.state.value in ACTIVE_RUN_STATES
            }

    def run_backfill_ids(self, dag_id: str) -> dict[str, int]:
        with self._lock:
            return {
                run_id: run.backfill_id
                for (d, run_id), run in self._s.runs.items()
                if d == dag_id and run.backfill_id is not None
            }

    def delete_backfills(self, dag_id: str) -> int:
        with self._lock:
            ids = [b for b, row in self._s.backfills.items() if row.dag_id == dag_id]
            for backfill_id in ids:
                del self._s.backfills[backfill_id]
            return len(ids)
