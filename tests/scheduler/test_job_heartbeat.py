"""JobHeartbeat: a process's jobs row, beaten at most every interval, ended at the end."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

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


def test_a_heartbeat_the_database_refused_is_one_line_of_warning(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore(clock=clock)
    job = JobHeartbeat(store, "dag_processor", interval_s=5.0, clock=clock)

    def dropped(job_id: int, at: datetime) -> None:
        reason = Exception("terminating connection due to administrator command\nSSL detail")
        raise OperationalError(
            "UPDATE jobs SET heartbeat_at=%(at)s\nWHERE jobs.id = %(id)s", {}, reason
        )

    monkeypatch.setattr(store, "heartbeat_job", dropped)
    clock.advance(timedelta(seconds=5))
    with caplog.at_level(logging.WARNING):
        job.beat()  # logged, not raised: the process's work goes on
    [record] = caplog.records
    assert record.getMessage() == (
        f"Could not record the heartbeat of job {job.job_id}: "
        "terminating connection due to administrator command"
    )
