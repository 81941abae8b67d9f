"""The SQL store's run claims: ``dag_runs.claimed_by`` and ``claim_expires_at`` (0004).

A scheduler owns a run while its lease is live. :meth:`SqlClaims.claim_runs` selects the
claimable runs and writes the new owner in one transaction. On PostgreSQL the select locks
the rows it returns with ``FOR UPDATE SKIP LOCKED``: two schedulers claiming at once skip
each other's rows instead of waiting, and a row committed by the other in between is seen
in its new version (claimed, so no longer claimable). On SQLite the transaction's ``BEGIN
IMMEDIATE`` already makes claims one at a time (and SQLite runs one scheduler anyway).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, tuple_, update

from headwater.db.convert import ACTIVE_RUN_STATES, RUNS
from headwater.db.rows import RunClaim
from headwater.store.sql.core import SqlCore


def _claimable(now: datetime) -> Any:
    return and_(
        RUNS.c.state.in_(ACTIVE_RUN_STATES),
        or_(RUNS.c.claimed_by.is_(None), RUNS.c.claim_expires_at <= now),
    )


class SqlClaims(SqlCore):
    """Run claims on SQL."""

    def claim_runs(
        self, owner: str, now: datetime, lease: timedelta, limit: int | None = None
    ) -> list[tuple[str, str]]:
        query = (
            select(RUNS.c.dag_id, RUNS.c.run_id)
            .where(_claimable(now))
            .order_by(RUNS.c.logical_date, RUNS.c.dag_id, RUNS.c.run_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as conn:
            keys = [(dag_id, run_id) for dag_id, run_id in conn.execute(query)]
            if keys:
                conn.execute(
                    update(RUNS)
                    .where(tuple_(RUNS.c.dag_id, RUNS.c.run_id).in_(keys))
                    .values(claimed_by=owner, claim_expires_at=now + lease)
                )
        return keys

    def renew_run_claims(self, owner: str, now: datetime, lease: timedelta) -> set[tuple[str, str]]:
        held = and_(RUNS.c.claimed_by == owner, RUNS.c.state.in_(ACTIVE_RUN_STATES))
        with self._write() as conn:
            conn.execute(update(RUNS).where(held).values(claim_expires_at=now + lease))
            rows = conn.execute(select(RUNS.c.dag_id, RUNS.c.run_id).where(held))
            return {(dag_id, run_id) for dag_id, run_id in rows}

    def release_run_claims(self, owner: str, runs: Iterable[tuple[str, str]] | None = None) -> int:
        query = update(RUNS).where(RUNS.c.claimed_by == owner)
        if runs is not None:
            keys = list(runs)
            if not keys:
                return 0
            query = query.where(tuple_(RUNS.c.dag_id, RUNS.c.run_id).in_(keys))
        with self._write() as conn:
            released = conn.execute(query.values(claimed_by=None, claim_expires_at=None))
            return int(released.rowcount)

    def get_run_claim(self, dag_id: str, run_id: str) -> RunClaim | None:
        query = select(RUNS.c.claimed_by, RUNS.c.claim_expires_at).where(
            RUNS.c.dag_id == dag_id, RUNS.c.run_id == run_id, RUNS.c.claimed_by.is_not(None)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return RunClaim(dag_id, run_id, row.claimed_by, row.claim_expires_at)
