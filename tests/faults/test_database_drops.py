"""The database connection drops while a run goes on: ``headwater scheduler`` (its DAG
processor, its triggerer thread and its local workers) on a PostgreSQL test database runs
a DAG of 100 short tasks that write a ledger; meanwhile every backend of that database is
terminated three times, and once the server also refuses new connections to it for 2 s.

Afterwards the run succeeded, every task's code ran exactly once (the ledger), no task
instance had two attempts at once, no process exited, and the scheduler said that it lost
the database and got it back, in warning lines, without a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fault_harness import (
    DatabaseFaults,
    Observer,
    assert_each_task_ran_once,
    children,
    ledger_entries,
    make_faults_as_tasks_end,
    wait_until_finished,
    waiting,
    write_ledger_dag,
)

from command_processes import alive, kill_session
from headwater.clock import SystemClock
from headwater.operations import trigger_run
from headwater.store.sql import SqlStore

pytestmark = pytest.mark.slow

TASKS = 100
DAG_ID = "drops"
REFUSED_S = 2.0


def test_the_scheduler_and_its_workers_carry_on_when_the_database_drops_them(
    postgres_url: str, faults: DatabaseFaults, tmp_path: Path
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    ledger = tmp_path / "ledger"
    write_ledger_dag(folder, DAG_ID, ledger, TASKS)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")},
        "HEADWATER_HOME": str(tmp_path / "home"),
        "HEADWATER_DAGS_FOLDER": str(folder),
        "HEADWATER_DATABASE_URL": postgres_url,
        "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.5",
        "HEADWATER__SCHEDULER__PARALLELISM": "4",
    }
    log = tmp_path / "scheduler.log"
    observer = Observer(postgres_url)
    wait = waiting(log.read_text)
    with log.open("wb") as out:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "headwater", "scheduler"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait(
            lambda: observer.read(lambda store: store.get_dag(DAG_ID)) is not None,
            "the DAG processor to store the DAG",
        )
        with SqlStore.from_url(postgres_url) as store:
            run = trigger_run(store, DAG_ID, now=SystemClock().now())
        processes = {scheduler.pid} | children(scheduler.pid)

        make_faults_as_tasks_end(faults, ledger, wait, REFUSED_S)

        wait_until_finished(observer, postgres_url, DAG_ID, run.run_id, wait)
        text = log.read_text()
        workers = {pid for _, _, pid in ledger_entries(ledger)}
        still = {pid for pid in processes | workers if alive(pid)}
        assert still == processes | workers, f"exited: {(processes | workers) - still}\n{text}"

        assert_each_task_ran_once(postgres_url, DAG_ID, run.run_id, ledger, TASKS)

        # The scheduler's pass, and the workers' outcomes (during the 2 s outage, whatever
        # worker finished a task met it), were tried again; each failure one line.
        assert "the scheduler loop tries again in 0.1 s (try 2 of 10)" in text, text
        assert "Reconnected to the database: the scheduler loop goes on after" in text, text
        assert re.search(
            r"Reconnected to the database: the outcome of attempt 1 of task t_\d+", text
        ), text
        assert "Traceback" not in text, text
        # What the scheduler had handed to its workers stayed handed: none put back as lost.
        assert "was lost; it runs again" not in text, text
    finally:
        observer.close()
        if scheduler.poll() is None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        kill_session(scheduler.pid)
        scheduler.wait()
