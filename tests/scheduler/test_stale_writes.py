"""The scheduler writes task instances by compare-and-set: a change another writer made to
an instance it holds (a person, another process) is never overwritten. Its write is refused
and logged, what it had decided is rolled back, and it loads the run again from the
database and goes on from there. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from scheduler_harness import Harness

from headwater.engine.states import TaskInstanceState

S = TaskInstanceState


def test_an_instance_changed_by_another_writer_is_not_overwritten(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.write_dag(
        "guarded",
        """
        with DAG("guarded", start_date=START):
            EmptyOperator(task_id="a", pool="later") >> EmptyOperator(task_id="b")
        """,
    )
    harness.process()
    run = harness.trigger("guarded")
    scheduler = harness.scheduler
    scheduler.tick()  # "a" is scheduled and waits for its pool, which does not exist yet
    assert harness.states("guarded", run.run_id) == {"a": "scheduled", "b": "none"}

    # Another writer ends "a" behind the scheduler's back (compare-and-set, as it reads).
    [a] = [
        ti for ti in harness.store.get_task_instances("guarded", run.run_id) if ti.task_id == "a"
    ]
    a.state = S.SUCCESS
    a.end_date = harness.clock.now()
    harness.store.save_task_instances([a], expected={a.key: (S.SCHEDULED, 0)})

    # The pool appears: the scheduler would queue "a", which is no longer what it read.
    harness.store.set_pool("later", 1)
    caplog.set_level(logging.WARNING, logger="headwater")
    scheduler.tick()
    assert harness.states("guarded", run.run_id)["a"] == "success"  # not overwritten
    [warning] = [
        r.getMessage() for r in caplog.records if "loaded again from the database" in r.getMessage()
    ]
    assert "guarded/" in warning and "expected state 'scheduled' at try 0" in warning
    assert "stored state 'success' at try 0" in warning

    # It goes on from what is stored: "a" never runs, "b" does, and the run succeeds.
    harness.run_until(harness.finished("guarded", run.run_id))
    assert harness.states("guarded", run.run_id) == {"a": "success", "b": "success"}
    assert harness.attempts("guarded", run.run_id, "a") == []
    assert harness.run_state("guarded", run.run_id) == "success"
