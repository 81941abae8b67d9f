"""A result that comes too late is never applied, whichever executor brings it.

Two guards, tested where they live: the scheduler ignores a report for another try than the
instance is at (``Scheduler.apply_outcomes``), and whoever runs an attempt records its outcome
by compare-and-set on the running attempt row, which refuses a result for an attempt that was
ended elsewhere meanwhile (``run_and_record``; on the memory store, SQLite and PostgreSQL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.authoring.dag import DAG
from headwater.clock import FakeClock
from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    TaskInstance,
)
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.operations import trigger_run
from headwater.operators import PythonOperator
from headwater.runtime.recorded_attempt import run_and_record
from headwater.runtime.task_runner import AttemptRequest
from headwater.scheduler.attempt_recovery import settle_outcome
from headwater.scheduler.scheduler import Scheduler
from headwater.store.ports import Store
from headwater.xcom_serializers import load_serializer
from scripted_executor import ScriptedExecutor, scripted_scheduler

S = TaskInstanceState
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scheduler]:
    scheduler = scripted_scheduler(
        tmp_path,
        monkeypatch,
        "retrying.py",
        """
        from datetime import UTC, datetime, timedelta
        from headwater import DAG
        from headwater.operators import EmptyOperator

        with DAG("retrying", start_date=datetime(2024, 1, 1, tzinfo=UTC)):
            EmptyOperator(task_id="t", retries=1, retry_delay=timedelta(seconds=10))
        """,
    )
    yield scheduler
    scheduler.stop()


def _ti(scheduler: Scheduler, run_id: str) -> TaskInstance:
    [ti] = scheduler.store.get_task_instances("retrying", run_id)
    return ti


def _apply(scheduler: Scheduler) -> None:
    """What the scheduler's loop does with the executor's reports."""
    scheduler.apply_outcomes(scheduler.executor.poll(timeout=0))
    scheduler.schedule_runs(scheduler.clock.now())


def test_a_result_for_an_older_try_is_ignored_and_logged(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    executor = scheduler.executor
    assert isinstance(executor, ScriptedExecutor)
    clock = scheduler.clock
    assert isinstance(clock, FakeClock)
    run = trigger_run(scheduler.store, "retrying", now=clock.now())
    scheduler.tick()
    [first] = executor.queued
    assert first.try_number == 1
    executor.start_attempt(first)
    executor.report(first, AttemptOutcome(S.FAILED, error="flaky", retry=True))
    _apply(scheduler)
    assert _ti(scheduler, run.run_id).state is S.UP_FOR_RETRY
    clock.advance(timedelta(seconds=11))
    scheduler.tick()
    second = executor.queued[-1]
    assert second == first._replace(try_number=2)
    executor.start_attempt(second)
    caplog.set_level(logging.WARNING, logger="headwater.scheduler.scheduler")

    # Try 1 reports again, late (a duplicate delivery, a worker that came back): ignored.
    executor.report(first, AttemptOutcome(S.SUCCESS))
    _apply(scheduler)

    ti = _ti(scheduler, run.run_id)
    assert (ti.state, ti.try_number) == (S.RUNNING, 2)
    attempts = scheduler.store.get_attempts("retrying", run.run_id, "t")
    assert [(a.try_number, a.state) for a in attempts] == [(1, S.UP_FOR_RETRY), (2, S.RUNNING)]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == (
        f"Ignoring the result of task t of run {run.run_id}: it reports on try 1, and the "
        "instance is at try 2"
    )

    # The current try's own result is applied.
    executor.report(second, AttemptOutcome(S.SUCCESS))
    _apply(scheduler)
    assert _ti(scheduler, run.run_id).state is S.SUCCESS
    stored = scheduler.store.get_dag_run("retrying", run.run_id)
    assert stored is not None and stored.state is DagRunState.SUCCESS


def test_a_late_result_of_an_attempt_ended_elsewhere_is_refused(
    any_store: Store, tmp_path: Path
) -> None:
    """The worker's attempt ends after the scheduler ended it (lost, timed out): its outcome
    and the XCom it pushed are refused by the compare-and-set, and its log says so."""
    key = AttemptKey("late", "r1", "t", -1, 1)
    run = DagRun("late", "r1", T0, T0, T0, state=DagRunState.RUNNING)
    ti = TaskInstance("late", "r1", "t", state=S.RUNNING, try_number=1, max_tries=1)
    any_store.create_dag_run(run, [ti])
    log_path = str(tmp_path / "attempt-1.log")
    ended_elsewhere = AttemptOutcome(S.FAILED, error="no heartbeat: the process running it is gone")

    def body() -> str:
        # Meanwhile, the scheduler gives up on the attempt and fails it itself.
        settle_outcome(any_store, ti, ended_elsewhere, T0 + timedelta(minutes=5))
        return "too late"

    with DAG("late", start_date=T0) as dag:
        PythonOperator(task_id="t", python_callable=body)
    xcoms = XComs(any_store, load_serializer(None), 1 << 20)
    request = AttemptRequest(dag, run, ti, any_store, xcoms, log_path)

    outcome = run_and_record(
        request, key, lambda: T0 + timedelta(minutes=6), hostname="worker-host", pid=4242
    )

    assert outcome.state is S.SUCCESS and not outcome.recorded
    stored = any_store.get_attempt(key)
    assert stored is not None and stored.outcome is not None
    assert (stored.state, stored.error) == (S.FAILED, ended_elsewhere.error)
    assert any_store.get_xcom(ti.key, "return_value") is None
    assert (
        "Attempt 1 ended success, but it had already been ended elsewhere (taken for lost, "
        "timed out or removed): this result is not kept"
    ) in Path(log_path).read_text()
