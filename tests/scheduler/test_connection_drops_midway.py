"""The database connection drops at the worst moments of a scheduler pass (or a write is
refused as stale, which makes the scheduler forget its runs too), and nothing handed to the
executor is sent twice, nothing committed is left without its consequence, and nothing
queued is left without being sent.

A scheduler on the memory store with an executor that runs nothing (the test starts and
ends each attempt as a worker would); the store raises the error a dropped PostgreSQL
connection raises where the test says. What the run loop does when a pass meets such an
error (``Scheduler.run``: forget the runs, wait, load them again) is called as it would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from headwater.db.reconnect import is_connection_lost
from headwater.engine.records import AttemptKey, AttemptOutcome, DagRun
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.operations import trigger_run
from headwater.scheduler.scheduler import Scheduler
from scripted_executor import scripted, scripted_scheduler

S = TaskInstanceState
T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAG_ID = "three"


def _dropped() -> OperationalError:
    """What SQLAlchemy raises when the server closed the connection under a statement."""
    return OperationalError(
        "SELECT 1",
        None,
        Exception("server closed the connection unexpectedly"),
        connection_invalidated=True,
    )


@pytest.fixture
def scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scheduler]:
    scheduler = scripted_scheduler(
        tmp_path,
        monkeypatch,
        "three.py",
        """
        from datetime import UTC, datetime
        from headwater import DAG
        from headwater.operators import EmptyOperator

        with DAG("three", start_date=datetime(2024, 1, 1, tzinfo=UTC)):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="b")
            EmptyOperator(task_id="c")
        """,
    )
    yield scheduler
    scheduler.stop()


def _pass_meets_a_drop(scheduler: Scheduler, one_pass: Callable[[], object]) -> None:
    """Run ``one_pass``, which meets a dropped connection, and do what the run loop does."""
    with pytest.raises(OperationalError) as raised:
        one_pass()
    assert is_connection_lost(raised.value)
    scheduler._after_lost_connection(0.0, lambda: False)


def _drop_once(monkeypatch: pytest.MonkeyPatch, obj: object, name: str) -> list[str]:
    """Make ``obj.name`` raise a dropped connection the first time it is called, having done
    nothing. Returns a list that gets one item when it did."""
    real = getattr(obj, name)
    dropped: list[str] = []

    def dropping(*args: object, **kwargs: object) -> object:
        if not dropped:
            dropped.append(name)
            raise _dropped()
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, dropping)
    return dropped


def _finish(scheduler: Scheduler, keys: list[AttemptKey]) -> DagRun:
    """Start the attempts not started yet, end each with success, and return the run."""
    executor = scripted(scheduler)
    for key in keys:
        if key not in executor.sent:
            executor.start_attempt(key)
        executor.report(key, AttemptOutcome(S.SUCCESS))
    scheduler.apply_outcomes(executor.poll(timeout=0))
    scheduler.tick()
    [run] = scheduler.store.list_dag_runs(DAG_ID)
    return run


def _lost_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "was lost" in r.getMessage()]


def test_a_drop_while_the_scheduler_looks_at_what_the_last_drop_left_sends_nothing_twice(
    scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="headwater.scheduler.scheduler")
    executor = scripted(scheduler)
    trigger_run(scheduler.store, DAG_ID, now=scheduler.clock.now())
    scheduler.tick()
    sent = list(executor.queued)
    assert sorted(key.task_id for key in sent) == ["a", "b", "c"]
    executor.start_attempt(sent[0])  # one is running on a worker, two wait in the broker
    scheduler.apply_outcomes(executor.poll(timeout=0))

    # The connection drops between passes; the next pass loads the runs again and looks at
    # what is queued or running, and meets a second drop while it does.
    scheduler._after_lost_connection(0.0, lambda: False)
    dropped = _drop_once(monkeypatch, scheduler.store, "get_attempt")
    _pass_meets_a_drop(scheduler, scheduler.tick)
    assert dropped  # it met the drop midway, as a CI run once did with a real database
    scheduler.tick()

    # What the executor holds is still held: nothing put back as lost and sent again.
    assert _lost_warnings(caplog) == []
    assert executor.queued == sent
    run = _finish(scheduler, sent)
    assert run.state is DagRunState.SUCCESS
    assert executor.queued == sent
    for ti in scheduler.store.get_task_instances(DAG_ID, run.run_id):
        assert (ti.state, ti.try_number) == (S.SUCCESS, 1)


def test_attempts_whose_commit_lost_its_reply_are_sent_once_the_database_is_back(
    scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The server committed that the three are queued, and the connection dropped before
    it said so: the scheduler never handed them to the executor, so the next pass finds
    them queued by nobody and puts them back, and they are sent."""
    caplog.set_level(logging.INFO, logger="headwater.scheduler.scheduler")
    executor = scripted(scheduler)
    trigger_run(scheduler.store, DAG_ID, now=scheduler.clock.now())
    real_flush = scheduler._flush
    lost_reply: list[bool] = []

    def flush_then_drop(*args: object) -> None:
        real_flush(*args)  # type: ignore[arg-type]
        if not lost_reply:
            lost_reply.append(True)
            raise _dropped()

    monkeypatch.setattr(scheduler, "_flush", flush_then_drop)
    _pass_meets_a_drop(scheduler, scheduler.tick)
    assert executor.queued == []
    [run] = scheduler.store.list_dag_runs(DAG_ID)
    queued = scheduler.store.get_task_instances(DAG_ID, run.run_id)
    assert {ti.state for ti in queued} == {S.QUEUED}  # committed, though it never heard

    scheduler.tick()

    assert sorted(key.task_id for key in executor.queued) == ["a", "b", "c"]
    assert len(_lost_warnings(caplog)) == 3
    run = _finish(scheduler, list(executor.queued))
    assert run.state is DagRunState.SUCCESS


def test_a_run_ended_before_a_drop_later_in_the_same_pass_is_still_told(
    scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass decides that the run ended, then meets a dropped connection; the end is
    committed on a fresh connection (what was decided before the error stays decided), and
    what waits for a run's end (its callbacks, lineage, the terminal's line) still happens,
    once: the run is never loaded again to find out."""
    executor = scripted(scheduler)
    ended: list[tuple[str, DagRunState]] = []
    scheduler.on_run_finished = lambda run: ended.append((run.run_id, run.state))
    trigger_run(scheduler.store, DAG_ID, now=scheduler.clock.now())
    scheduler.tick()
    for key in list(executor.queued):
        executor.start_attempt(key)
        executor.report(key, AttemptOutcome(S.SUCCESS))
    scheduler.apply_outcomes(executor.poll(timeout=0))
    _drop_once(monkeypatch, scheduler, "_queue_admitted")  # after the run's end is decided

    _pass_meets_a_drop(scheduler, scheduler.tick)
    scheduler.tick()

    [run] = scheduler.store.list_dag_runs(DAG_ID)
    assert run.state is DagRunState.SUCCESS
    assert ended == [(run.run_id, DagRunState.SUCCESS)]


def test_a_stale_write_forgets_the_runs_and_sends_nothing_twice(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    """Another writer changed an instance: the scheduler's write is refused, it forgets its
    runs and loads them again. What it had handed to the executor is still held there."""
    caplog.set_level(logging.INFO, logger="headwater.scheduler.scheduler")
    executor = scripted(scheduler)
    run = trigger_run(scheduler.store, DAG_ID, now=scheduler.clock.now())
    scheduler.tick()
    sent = sorted(executor.queued, key=lambda key: key.task_id)
    [ti_c] = [
        ti for ti in scheduler.store.get_task_instances(DAG_ID, run.run_id) if ti.task_id == "c"
    ]
    scheduler.store.save_task_instances([replace(ti_c, state=S.SUCCESS)])  # a person marks it
    executor.start_attempt(sent[2])  # c's worker claims it; the scheduler's write is stale
    with scheduler._one_transaction():  # as the run loop applies what the executor reports
        scheduler.apply_outcomes(executor.poll(timeout=0))
    assert "the runs are loaded again from the database" in caplog.text

    scheduler.tick()

    assert _lost_warnings(caplog) == []
    assert executor.queued == sorted(sent, key=lambda key: key.task_id)
    run = _finish(scheduler, sent[:2])
    assert run.state is DagRunState.SUCCESS
