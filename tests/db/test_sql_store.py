"""What only the SQL store does: the columns the records do not carry (``queued_at``,
``updated_at``, ``duration``), foreign keys, timestamps in UTC. Every test runs on SQLite and
PostgreSQL; what every store does is in ``tests/contract``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from db_records import T0, make_attempt, make_run, make_ti
from headwater.clock import FakeClock
from headwater.db.convert import ATTEMPTS, RUNS, TIS
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.sql import SqlStore

S = TaskInstanceState


def _run_with(store: SqlStore, *task_ids: str, run_id: str = "r1", dag_id: str = "etl", day=0):
    run = make_run(dag_id=dag_id, run_id=run_id, day=day)
    tis = [make_ti(t, run) for t in task_ids]
    store.create_dag_run(run, tis)
    return run, tis


# -- the event log ---------------------------------------------------------------------------


def test_writing_runs_and_instances_logs_no_event(sql_store: SqlStore) -> None:
    run, (a,) = _run_with(sql_store, "a")
    a.state = S.QUEUED
    sql_store.save_task_instances([a])
    run.state = DagRunState.SUCCESS
    sql_store.save_dag_run(run)
    assert sql_store.list_events(limit=None) == []


def test_save_dag_run_keeps_the_queued_at_of_an_existing_run(
    sql_store: SqlStore, clock: FakeClock
) -> None:
    first = clock.now()
    run, _ = _run_with(sql_store)
    clock.advance(timedelta(minutes=1))
    run.state = DagRunState.RUNNING
    sql_store.save_dag_run(run)
    sql_store.save_dag_run(make_run(run_id="new"))  # a run saved, not created: inserted
    with sql_store.engine.connect() as conn:
        queued = dict(conn.execute(select(RUNS.c.run_id, RUNS.c.queued_at)).all())
    assert queued == {"r1": first, "new": clock.now()}


# -- runs --------------------------------------------------------------------------------------


def test_rows_of_a_run_that_does_not_exist_are_refused(sql_store: SqlStore) -> None:
    with pytest.raises(IntegrityError):
        sql_store.save_task_instances([make_ti("a", make_run(run_id="ghost"))])


# -- task instances and attempts --------------------------------------------------------------


def test_queued_at_and_updated_at_come_from_the_store_clock(
    sql_store: SqlStore, clock: FakeClock
) -> None:
    _, (a,) = _run_with(sql_store, "a")
    queued_at = clock.now() + timedelta(seconds=1)
    clock.advance(timedelta(seconds=1))
    a.state = S.QUEUED
    sql_store.save_task_instances([a])
    clock.advance(timedelta(seconds=1))
    a.state = S.RUNNING
    sql_store.save_task_instances([a])
    with sql_store.engine.connect() as conn:
        row = conn.execute(select(TIS.c.queued_at, TIS.c.updated_at)).one()
    assert row.queued_at == queued_at
    assert row.updated_at == clock.now()


# -- attempts ----------------------------------------------------------------------------------


def test_an_attempt_row_stores_its_duration(sql_store: SqlStore) -> None:
    _, (a, b) = _run_with(sql_store, "a", "b")
    sql_store.save_attempt(make_attempt(a, 1, T0))
    sql_store.save_attempt(
        make_attempt(b, 1, T0, state=S.SUCCESS, end_date=T0 + timedelta(seconds=2))
    )
    with sql_store.engine.connect() as conn:
        durations = dict(conn.execute(select(ATTEMPTS.c.task_id, ATTEMPTS.c.duration)).all())
    assert durations == {"a": None, "b": 2.0}


# -- timestamps --------------------------------------------------------------------------------


def test_timestamps_come_back_as_the_same_instant_in_utc(sql_store: SqlStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2024, 3, 10, 14, 30, 15, 123456, tzinfo=plus_two)
    run = make_run()
    run.logical_date = local
    run.start_date = local
    sql_store.create_dag_run(run, [])
    stored = sql_store.get_dag_run("etl", "r1")
    assert stored is not None
    assert stored.logical_date == local
    assert stored.logical_date.tzinfo is UTC
    assert stored.logical_date.hour == 12 and stored.logical_date.microsecond == 123456
    assert stored.start_date is not None and stored.start_date.utcoffset() == timedelta(0)
    # Comparisons in SQL are by instant too.
    assert [r.run_id for r in sql_store.find_dag_run("etl", local.astimezone(UTC))] == ["r1"]


def test_naive_timestamps_are_refused(sql_store: SqlStore) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        sql_store.start_job("scheduler", "h", 1, datetime(2024, 1, 1))
