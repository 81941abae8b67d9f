"""The database connection drops while a Celery run goes on: ``headwater scheduler``
(executor = celery) and one ``headwater celery worker --concurrency 2`` on a PostgreSQL test
database, with a Redis broker of this test's own (key prefix and queue), run a DAG of 60
short tasks that write a ledger; meanwhile every backend of that database is terminated three
times, and once the server also refuses new connections to it for 2 s (the faults of
:mod:`test_database_drops`, at a run of 60).

Afterwards the run succeeded, every task's code ran exactly once (the ledger), no task
instance had two attempts at once, neither the scheduler nor the worker (nor its pool
processes) exited, and both said that they lost the database and got it back, in warning
lines (one line each, without a traceback or a statement): the worker tried again the claims
or outcomes of the attempts it was running when the database refused it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import Broker
from celery_harness import Cluster
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

from command_processes import alive
from stored_dags import scan_here

pytestmark = pytest.mark.slow

TASKS = 60
DAG_ID = "celery_drops"
REFUSED_S = 2.0
FAULTS = ((10, "drop"), (22, "drop"), (34, "refuse"), (46, "drop"))
""":data:`fault_harness.FAULTS_AFTER` at a run of 60 tasks."""


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path, redis_broker: Broker) -> Iterator[Cluster]:
    made = Cluster(postgres_url, tmp_path, redis_broker)
    # The Celery tests' 4 s would make a loaded machine's outage (2 s, then the backoff)
    # look like dead workers: this test is about reconnecting, not about finding the dead.
    made.env["HEADWATER__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_S"] = "30"
    yield made
    made.close()


def test_the_scheduler_and_a_celery_worker_carry_on_when_the_database_drops_them(
    cluster: Cluster, postgres_url: str, faults: DatabaseFaults
) -> None:
    ledger = cluster.folder.parent / "ledger"
    write_ledger_dag(cluster.folder, DAG_ID, ledger, TASKS)
    report = scan_here(cluster.store, cluster.folder)
    assert not report.errors, cluster.store.list_import_errors()
    worker = cluster.start_worker("worker", concurrency=2)
    scheduler = cluster.start_scheduler()
    processes = {scheduler.pid, worker.pid} | children(worker.pid)
    run = cluster.trigger(DAG_ID)

    def logs() -> str:
        return "".join(f"--- {n}:\n{cluster.log(n)[-3000:]}" for n in ("scheduler", "worker"))

    wait = waiting(logs)
    observer = Observer(postgres_url)
    try:
        make_faults_as_tasks_end(faults, ledger, wait, REFUSED_S, FAULTS)
        wait_until_finished(observer, postgres_url, DAG_ID, run.run_id, wait)
    finally:
        observer.close()

    ran_in = {pid for _, _, pid in ledger_entries(ledger)}
    assert ran_in <= processes, (ran_in, processes)  # no pool process was replaced
    exited = {pid for pid in processes if not alive(pid)}
    assert not exited, (exited, logs())
    assert_each_task_ran_once(postgres_url, DAG_ID, run.run_id, ledger, TASKS)

    scheduler_log, worker_log = cluster.log("scheduler"), cluster.log("worker")
    assert "Reconnected to the database: the scheduler loop goes on after" in scheduler_log
    # Each pool process was running an attempt through the 2 s outage: its claim or its
    # outcome failed, was tried again, and went through once the database was back.
    tried = re.findall(
        r"The database connection was lost \(.*\): the (?:claim|outcome) of attempt 1 of "
        r"task t_\d+ tries again in [\d.]+ s \(try 2 of 10\)",
        worker_log,
    )
    assert tried, worker_log
    assert re.search(
        r"Reconnected to the database: the (?:claim|outcome) of attempt 1 of task t_\d+ "
        r"goes on after \d+ failed tries",
        worker_log,
    ), worker_log
    assert "Traceback" not in scheduler_log, scheduler_log
    assert "Traceback" not in worker_log, worker_log
    # A heartbeat that met the drop is one line too, not SQLAlchemy's statement and values.
    assert "[SQL:" not in worker_log, worker_log
    # What the scheduler had sent stayed sent: nothing was put back as lost and sent again
    # (the claim would refuse a second delivery, but it is wasted work and a false alarm).
    assert "was lost; it runs again" not in scheduler_log, scheduler_log
    assert "was started elsewhere already" not in worker_log, worker_log
