"""The memory store's run claims (one process: its lock makes every claim one at a time)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

from headwater.db.convert import ACTIVE_RUN_STATES
from headwater.db.rows import RunClaim
from headwater.store.memory.core import MemoryCore


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
