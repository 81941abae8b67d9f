"""The SQL store's jobs: schedulers, DAG processors and workers, with their heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from headwater.db.convert import JOBS
from headwater.db.rows import JobRow
from headwater.store.sql.core import SqlCore


class SqlJobs(SqlCore):
    """Jobs on SQL."""

    def start_job(self, kind: str, hostname: str, pid: int, now: datetime) -> int:
        """Register a running scheduler, DAG processor or worker; returns its job id."""
        params = {
            "kind": kind,
            "hostname": hostname,
            "pid": pid,
            "started_at": now,
            "heartbeat_at": now,
        }
        with self._write() as conn:
            key = conn.execute(insert(JOBS), params).inserted_primary_key
        assert key is not None
        return int(key[0])

    def heartbeat_job(self, job_id: int, now: datetime) -> bool:
        return self._update_job(job_id, heartbeat_at=now)

    def end_job(self, job_id: int, now: datetime) -> bool:
        return self._update_job(job_id, heartbeat_at=now, ended_at=now)

    def _update_job(self, job_id: int, **values: datetime) -> bool:
        with self._write() as conn:
            query = update(JOBS).where(JOBS.c.id == job_id).values(**values)
            return bool(conn.execute(query).rowcount)

    def list_jobs(
        self, kind: str | None = None, alive_since: datetime | None = None
    ) -> list[JobRow]:
        """Jobs, oldest first; with ``alive_since``, only those not ended that heartbeat since."""
        query = select(JOBS).order_by(JOBS.c.id)
        if kind is not None:
            query = query.where(JOBS.c.kind == kind)
        if alive_since is not None:
            query = query.where(JOBS.c.ended_at.is_(None), JOBS.c.heartbeat_at >= alive_since)
        with self._read() as conn:
            return [JobRow(**row._mapping) for row in conn.execute(query)]
