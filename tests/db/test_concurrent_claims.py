"""Several schedulers on one PostgreSQL database: two units of work (two threads, two
connections) that claim the same task instance, or the same runs, at once: exactly one gets
each. SQLite runs one scheduler (its units of work take the write lock at BEGIN), so these
run on PostgreSQL only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from db_records import T0, make_run, make_ti
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import StaleWriteError
from headwater.store.sql import SqlStore

S = TaskInstanceState
LEASE = timedelta(minutes=1)

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _in_two_threads(work: Callable[[str, threading.Barrier], Any]) -> dict[str, Any]:
    """Run ``work(name, barrier)`` as "one" and "two" at once; what each returned or raised."""
    barrier = threading.Barrier(2, timeout=30)  # a safety net against a hang, not a timing
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            results[name] = work(name, barrier)
        except Exception as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_schedulers_queue_one_instance_exactly_one_succeeds(sql_store: SqlStore) -> None:
    run = make_run(state=DagRunState.RUNNING)
    sql_store.create_dag_run(run, [make_ti("a", run, state=S.SCHEDULED)])

    def claim(name: str, barrier: threading.Barrier) -> str:
        with sql_store.unit_of_work() as uow:
            ti = uow.get_task_instance("etl", "r1", "a")
            assert ti is not None and ti.state is S.SCHEDULED
            barrier.wait()  # both read it scheduled before either writes
            seen = (ti.state, ti.try_number)
            ti.state, ti.error = S.QUEUED, name
            uow.save_task_instances([ti], expected={ti.key: seen})
        return "queued"

    results = _in_two_threads(claim)
    won = [name for name, result in results.items() if result == "queued"]
    lost = [result for result in results.values() if isinstance(result, StaleWriteError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].stored == ("queued", 0)
    stored = sql_store.get_task_instance("etl", "r1", "a")
    assert stored is not None and (stored.state, stored.error) == (S.QUEUED, won[0])


def test_two_schedulers_claim_runs_at_once_each_run_goes_to_one(sql_store: SqlStore) -> None:
    for day in range(6):
        sql_store.create_dag_run(make_run(run_id=f"r{day}", day=day), [])

    def claim(name: str, barrier: threading.Barrier) -> list[tuple[str, str]]:
        with sql_store.unit_of_work() as uow:
            keys = uow.claim_runs(name, T0, LEASE, limit=4)
            # Both hold their claims, uncommitted, before either commits: without SKIP
            # LOCKED the second would wait on the first's rows (and here, never get there).
            barrier.wait()
        return keys

    results = _in_two_threads(claim)
    one, two = results["one"], results["two"]
    assert isinstance(one, list) and isinstance(two, list), results
    assert not set(one) & set(two)
    assert sorted([*one, *two]) == [("etl", f"r{day}") for day in range(6)]
    assert len(one) <= 4 and len(two) <= 4
    for owner, keys in results.items():
        for dag_id, run_id in keys:
            claim = sql_store.get_run_claim(dag_id, run_id)
            assert claim is not None and claim.claimed_by == owner
