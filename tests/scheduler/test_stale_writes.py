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


def test_a_run_cleared_behind_the_schedulers_back_is_not_finalized_over_the_clear(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler is about to end the run (every instance it holds is done) when a person
    clears one of them and queues the run: the scheduler's write of the run, by
    compare-and-set on the run's state, is refused; it loads the run again, runs the cleared
    task, and only then ends the run."""
    from headwater.operations import clear_task_instances

    harness.write_dag(
        "cleared",
        """
        with DAG("cleared", start_date=START):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="b", pool="later")
        """,
    )
    harness.process()
    run = harness.trigger("cleared")
    harness.run_until(lambda: harness.states("cleared", run.run_id)["a"] == "success")
    assert harness.states("cleared", run.run_id)["b"] == "scheduled"  # waits for its pool

    # The pool appears and "b" runs; its outcome arrives...
    harness.store.set_pool("later", 1)
    scheduler = harness.scheduler
    scheduler.tick()
    finished = []
    while not finished:
        finished = scheduler.executor.poll(timeout=10)
    # ...and before the scheduler applies it, a person clears "a" (the run is queued again).
    clear_task_instances(harness.store, "cleared", run.run_id, ["a"], now=harness.clock.now())
    assert harness.run_state("cleared", run.run_id) == "queued"

    caplog.set_level(logging.WARNING, logger="headwater")
    with scheduler._one_transaction():  # as the scheduler's loop applies what ended
        scheduler.apply_outcomes(finished)
        scheduler.schedule_runs(harness.clock.now())  # would end the run: not "running" now
    assert harness.run_state("cleared", run.run_id) == "queued"
    assert harness.states("cleared", run.run_id)["a"] == "none"
    [warning] = [
        r.getMessage() for r in caplog.records if "loaded again from the database" in r.getMessage()
    ]
    assert "run cleared/" in warning
    assert "expected state 'running', stored state 'queued'" in warning

    harness.run_until(harness.finished("cleared", run.run_id))
    assert harness.states("cleared", run.run_id) == {"a": "success", "b": "success"}
    assert [a.try_number for a in harness.attempts("cleared", run.run_id, "a")] == [1, 2]
    assert harness.run_state("cleared", run.run_id) == "success"
