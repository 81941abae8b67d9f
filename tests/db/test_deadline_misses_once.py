"""Two schedulers on one PostgreSQL database see the same deadline due at once: both read it
``waiting``, both try to record the miss, exactly one does (the compare-and-set on
``status``). SQLite serializes writers at ``BEGIN IMMEDIATE``, so this runs on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from db_records import T0, make_run
from headwater.store.deadlines import DEADLINE, MISSED, DeadlinePlan
from headwater.store.sql import SqlStore

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def test_two_recorders_of_one_miss_one_wins(db_url: str, sql_store: SqlStore) -> None:
    sql_store.create_dag_run(make_run(), [])
    sql_store.plan_deadlines([DeadlinePlan("etl", "r1", "soon", DEADLINE, T0)], T0)
    at = T0 + timedelta(minutes=1)
    barrier = threading.Barrier(2, timeout=30)  # a safety net against a hang, not a timing
    results: dict[str, bool | BaseException] = {}

    def record(name: str) -> None:
        with SqlStore.from_url(db_url, clock=sql_store.clock) as store:
            try:
                with store.unit_of_work() as uow:
                    [row] = uow.due_deadlines(at)
                    barrier.wait()  # both saw it waiting before either writes
                    results[name] = uow.record_deadline_miss(
                        row.id, at, f"seen by {name}", has_callback=True
                    )
            except BaseException as exc:
                results[name] = exc

    threads = [threading.Thread(target=record, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values(), key=str) == [False, True], results
    [winner] = [name for name, won in results.items() if won is True]
    [row] = sql_store.list_deadlines("etl")
    assert (row.status, row.reason, row.missed_at) == (MISSED, f"seen by {winner}", at)
