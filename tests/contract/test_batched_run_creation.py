"""Batched run creation (``create_dag_runs``), on every store (memory, SQLite, PostgreSQL):
every run and instance stored as one by one would, all or nothing when an id is taken, and
on SQL a bounded number of statements however many runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from db_records import T0, make_run, make_ti
from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.ports import RUN_BATCH, Store
from headwater.store.sql import SqlStore


def _runs(count: int, *, first: int = 0) -> list[tuple[DagRun, list]]:  # type: ignore[type-arg]
    made = []
    for n in range(first, first + count):
        run = make_run(run_id=f"backfill__p{n}", day=n, partition_key=f"p{n}", backfill_id=7)
        made.append((run, [make_ti("extract", run), make_ti("load", run)]))
    return made


def test_runs_and_their_instances_are_stored_as_one_by_one_would(any_store: Store) -> None:
    assert any_store.create_dag_runs(_runs(3)) == 3
    runs = any_store.list_dag_runs("etl")
    assert [(r.run_id, r.partition_key, r.backfill_id, r.state) for r in runs] == [
        (f"backfill__p{n}", f"p{n}", 7, DagRunState.QUEUED) for n in range(3)
    ]
    assert runs[2].logical_date == T0 + timedelta(days=2)
    tis = any_store.get_task_instances("etl", "backfill__p1")
    assert sorted((t.task_id, t.state) for t in tis) == [
        ("extract", TaskInstanceState.NONE),
        ("load", TaskInstanceState.NONE),
    ]
    assert any_store.create_dag_runs([]) == 0


def test_a_taken_run_id_stores_none_of_the_batch_inside_a_unit_of_work(any_store: Store) -> None:
    any_store.create_dag_runs(_runs(1, first=2))
    with pytest.raises(ValueError, match="already has"), any_store.unit_of_work() as uow:
        uow.create_dag_runs(_runs(4))  # p2 is taken
    assert [r.run_id for r in any_store.list_dag_runs("etl")] == ["backfill__p2"]
    assert any_store.get_task_instances("etl", "backfill__p0") == []


def test_statements_stay_few_however_many_runs(sql_store: SqlStore) -> None:
    """About two statements per RUN_BATCH runs (runs, then their instances), never one per
    run: what keeps a backfill of 100,000 partitions fast (timed in benchmarks/)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    count_runs = RUN_BATCH + 10  # two batches
    event.listen(sql_store.engine, "before_cursor_execute", count)
    try:
        sql_store.create_dag_runs(_runs(count_runs))
    finally:
        event.remove(sql_store.engine, "before_cursor_execute", count)
    assert len(sql_store.list_dag_runs("etl")) == count_runs
    # Per batch: the runs, then their instances (one executemany each).
    assert len(statements) == 4, statements
