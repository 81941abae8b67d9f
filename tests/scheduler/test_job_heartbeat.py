"""JobHeartbeat: a process's jobs row, beaten at most every interval, ended at the end."""

from __future__ import annotations

import os
from datetime import timedelta

from headwater.clock import FakeClock
from headwater.scheduler.job_heartbeat import JobHeartbeat
from headwater.store.memory import MemoryStore


def test_a_job_is_registered_beaten_at_its_interval_and_ended(clock: FakeClock) -> None:
    store = MemoryStore(clock=clock)
    started = clock.now()
    job = JobHeartbeat(store, "dag_processor", interval_s=5.0, clock=clock)
    [row] = store.list_jobs("dag_processor")
    assert (row.id, row.pid, row.heartbeat_at) == (job.job_id, os.getpid(), started)

    clock.advance(timedelta(seconds=4))
    job.beat()  # too soon: nothing written
    assert store.list_jobs("dag_processor")[0].heartbeat_at == started
    clock.advance(timedelta(seconds=1))
    job.beat()
    assert store.list_jobs("dag_processor")[0].heartbeat_at == started + timedelta(seconds=5)

    job.end()
    assert store.list_jobs("dag_processor")[0].ended_at == clock.now()
    assert store.list_jobs("dag_processor", alive_since=started) == []
