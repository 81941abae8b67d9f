"""Several processes writing to one SQLite file at once wait for each other: no
"database is locked". (The scheduler, worker processes writing XComs and the CLI do this.)"""

from __future__ import annotations

import multiprocessing
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from database_fixtures import REVISIONS
from db_records import T0, make_attempt, make_run, make_ti
from headwater.db.engine import create_db_engine
from headwater.db.migrate import check, upgrade
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.sql import SqlStore

WRITERS = 2
RUNS_PER_WRITER = 40
TASKS_PER_RUN = 5


def _write_many(url: str, writer: int, start: Any, results: Any) -> None:
    """One process: create runs and move their instances along, as a scheduler would."""
    try:
        start.wait(timeout=30)
        with SqlStore.from_url(url) as store:
            for n in range(RUNS_PER_WRITER):
                run = make_run(run_id=f"w{writer}-{n}", day=n)
                tis = [make_ti(f"t{i}", run) for i in range(TASKS_PER_RUN)]
                store.create_dag_run(run, tis)
                run.state = DagRunState.RUNNING
                store.save_dag_run(run)
                for ti in tis:
                    ti.state = TaskInstanceState.RUNNING
                    ti.try_number = 1
                store.save_task_instances(tis)
                for ti in tis:
                    store.save_attempt(make_attempt(ti, 1, T0 + timedelta(seconds=n)))
                    store.set_xcom(ti.key, "return_value", str(n))
                    ti.state = TaskInstanceState.SUCCESS
                store.save_task_instances(tis)
                run.state = DagRunState.SUCCESS
                store.save_dag_run(run)
        results.put((writer, "ok"))
    except BaseException:
        results.put((writer, traceback.format_exc()))


def _in_processes(target: Any, args: list[tuple[Any, ...]]) -> dict[int, str]:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, start, results)) for a in args]
    for proc in procs:
        proc.start()
    start.set()
    outcome = dict(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
    return outcome


def test_two_processes_write_to_one_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'headwater.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    outcome = _in_processes(_write_many, [(url, w) for w in range(WRITERS)])
    assert outcome == dict.fromkeys(range(WRITERS), "ok")
    with SqlStore.from_url(url) as store:
        runs = store.list_dag_runs("etl")
        assert len(runs) == WRITERS * RUNS_PER_WRITER
        assert {r.state for r in runs} == {DagRunState.SUCCESS}
        assert store.count_tis_by_dag([TaskInstanceState.SUCCESS]) == {
            "etl": WRITERS * RUNS_PER_WRITER * TASKS_PER_RUN
        }


def _upgrade(url: str, _: int, start: Any, results: Any) -> None:
    try:
        start.wait(timeout=30)
        engine = create_db_engine(url)
        try:
            results.put((_, ",".join(upgrade(engine))))
        finally:
            engine.dispose()
    except BaseException:
        results.put((_, traceback.format_exc()))


@pytest.mark.slow
def test_concurrent_upgrades_apply_the_migrations_once(scratch_db_url: str) -> None:
    outcome = _in_processes(_upgrade, [(scratch_db_url, 0), (scratch_db_url, 1)])
    assert sorted(outcome.values()) == ["", ",".join(REVISIONS)], outcome
    engine = create_db_engine(scratch_db_url)
    try:
        assert check(engine).up_to_date
    finally:
        engine.dispose()
