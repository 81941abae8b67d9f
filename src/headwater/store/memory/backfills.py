"""The memory store's backfills and run claims: what several runs share."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

from headwater.db.convert import ACTIVE_RUN_STATES
from headwater.db.rows import BackfillRow, RunClaim
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
    ) -> BackfillRow:
        with self._lock:
            backfill_id = self._s.next_id("backfills")
            row = BackfillRow(
                backfill_id, dag_id, start, end, reprocess, max_active_runs, created_at
            )
            self._s.backfills[backfill_id] = row
            return row

    def get_backfill(self, backfill_id: int) -> BackfillRow | None:
        with self._lock:
            return self._s.backfills.get(backfill_id)  # frozen: no copy needed

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


class MemoryClaims(MemoryCore):
    """Run claims in memory (one process: the lock makes every claim one at a time)."""

    def claim_runs(
        self, owner: str, now: datetime, lease: timedelta, limit: int | None = None
    ) -> list[tuple[str, str]]:
        with self._lock:
            claimable = sorted(
                (run for key, run in self._s.runs.items() if self._claimable(key, now)),
                key=lambda r: (r.logical_date, r.dag_id, r.run_id),
            )
            keys = [(run.dag_id, run.run_id) for run in claimable[:limit]]
            for key in keys:
                self._s.claims[key] = RunClaim(*key, owner, now + lease)
            return keys

    def _claimable(self, key: tuple[str, str], now: datetime) -> bool:
        if self._s.runs[key].state.value not in ACTIVE_RUN_STATES:
            return False
        claim = self._s.claims.get(key)
        return claim is None or claim.expires_at <= now

    def renew_run_claims(self, owner: str, now: datetime, lease: timedelta) -> set[tuple[str, str]]:
        with self._lock:
            held = {
                key
                for key, claim in self._s.claims.items()
                if claim.claimed_by == owner and self._s.runs[key].state.value in ACTIVE_RUN_STATES
            }
            for key in held:
                self._s.claims[key] = dataclasses.replace(
                    self._s.claims[key], expires_at=now + lease
                )
            return held

    def release_run_claims(self, owner: str, runs: Iterable[tuple[str, str]] | None = None) -> int:
        with self._lock:
            chosen = set(self._s.claims) if runs is None else set(runs)
            claims = self._s.claims
            mine = [k for k in chosen if k in claims and claims[k].claimed_by == owner]
            for key in mine:
                del self._s.claims[key]
            return len(mine)

    def get_run_claim(self, dag_id: str, run_id: str) -> RunClaim | None:
        with self._lock:
            return self._s.claims.get((dag_id, run_id))
