"""The memory store's event log and jobs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from headwater.db.rows import EventRow, JobRow
from headwater.store.memory.core import MemoryCore


class MemoryEvents(MemoryCore):
    """The event log and jobs in memory."""

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
        with self._lock:
            event_id = self._s.next_id("events")
            row = EventRow(event_id, at, kind, dag_id, run_id, task_id, map_index, try_number)
            row.state, row.detail, row.actor = state, detail, actor
            self._s.events.append(row)
            return event_id

    def list_events(
        self,
        dag_id: str | None = None,
        run_id: str | None = None,
        kind: str | None = None,
        limit: int | None = 100,
    ) -> list[EventRow]:
        with self._lock:
            found = [
                dataclasses.replace(e)
                for e in self._s.events
                if (dag_id is None or e.dag_id == dag_id)
                and (run_id is None or e.run_id == run_id)
                and (kind is None or e.kind == kind)
            ]
        if limit is not None:
            found = found[max(len(found) - limit, 0) :]
        return found

    def page_events(
        self,
        *,
        dag_ids: Iterable[str] | None = None,
        kind: str | None = None,
        actor: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[EventRow], int]:
        wanted = None if dag_ids is None else set(dag_ids)
        with self._lock:
            found = [
                dataclasses.replace(e)
                for e in reversed(self._s.events)
                if (wanted is None or e.dag_id in wanted)
                and (kind is None or e.kind == kind)
                and (actor is None or e.actor == actor)
            ]
        return found[offset : offset + limit], len(found)

    def start_job(self, kind: str, hostname: str, pid: int, now: datetime) -> int:
        with self._lock:
            job_id = self._s.next_id("jobs")
            self._s.jobs[job_id] = JobRow(job_id, kind, hostname, pid, now, now)
            return job_id

    def heartbeat_job(self, job_id: int, now: datetime) -> bool:
        return self._update_job(job_id, heartbeat_at=now)

    def end_job(self, job_id: int, now: datetime) -> bool:
        return self._update_job(job_id, heartbeat_at=now, ended_at=now)

    def _update_job(self, job_id: int, **values: datetime) -> bool:
        with self._lock:
            job = self._s.jobs.get(job_id)
            if job is None:
                return False
            self._s.jobs[job_id] = dataclasses.replace(job, **values)  # type: ignore[arg-type]
            return True

    def list_jobs(
        self, kind: str | None = None, alive_since: datetime | None = None
    ) -> list[JobRow]:
        with self._lock:
            return [
                dataclasses.replace(job)
                for _, job in sorted(self._s.jobs.items())
                if (kind is None or job.kind == kind)
                and (alive_since is None or _alive(job, alive_since))
            ]


def _alive(job: JobRow, since: datetime) -> bool:
    return job.ended_at is None and job.heartbeat_at >= since
