"""The Celery broker restarts during a run: ``headwater scheduler`` (executor = celery) and two
``headwater celery worker`` processes on a PostgreSQL test database run a DAG of 40 short
tasks that write a ledger; after 10 tasks ended the broker, a private server of this test
(:mod:`private_brokers`), is killed with SIGKILL and started again on the same port 2.5 s
later.

* Redis (broker and result backend, no persistence): the restart loses every queued and
  unacknowledged message and every result; the scheduler must send again what had not
  started.
* RabbitMQ (results in the shared Redis): the node keeps its data folder, so durable queues
  and their persistent messages come back; unacknowledged ones are delivered again.

Afterwards the run succeeded, every task's code ran exactly once (the ledger), each task
had one attempt, no two attempts of an instance overlapped, no process exited, and the
scheduler said it saw the broker come back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import REDIS_URL, Broker, _require, delete_keys
from celery_harness import Cluster
from fault_harness import assert_each_task_ran_once, ended, write_ledger_dag
from private_brokers import PrivateRabbitMQ, PrivateRedis

from command_processes import alive, wait_for
from stored_dags import scan_here

pytestmark = pytest.mark.slow

TASKS = 40
RESTART_AFTER = 10
DOWN_S = 2.5
DAG_ID = "restarts"


def _redis_broker(tmp_path: Path) -> tuple[PrivateRedis, Broker]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    prefix = f"hwtest-{uuid.uuid4().hex[:12]}"
    # The same server for results: the restart loses them too.
    broker = Broker("redis", f"{server.url}/0", f"{server.url}/1", prefix, f"{prefix}-default")
    return server, broker


def _rabbitmq_broker(tmp_path: Path) -> tuple[PrivateRabbitMQ, Broker]:
    _require(REDIS_URL, "Redis (the result backend)")
    server = PrivateRabbitMQ(tmp_path / "rabbitmq")
    server.start()
    prefix = f"hwtest-{uuid.uuid4().hex[:12]}"
    results = REDIS_URL.rsplit("/", 1)[0] + "/1"
    return server, Broker("rabbitmq", server.url, results, prefix, f"{prefix}-default")


@pytest.fixture(params=["redis", "rabbitmq"])
def restarting(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path
) -> Iterator[tuple[Cluster, PrivateRedis | PrivateRabbitMQ]]:
    """A cluster on a private broker of this test, and that broker's server."""
    server: PrivateRedis | PrivateRabbitMQ
    if request.param == "redis":
        server, broker = _redis_broker(tmp_path)
    else:
        server, broker = _rabbitmq_broker(tmp_path)
    cluster = Cluster(postgres_url, tmp_path, broker)
    try:
        yield cluster, server
    finally:
        cluster.close()
        server.kill()
        if broker.kind == "rabbitmq":
            delete_keys(broker.result_backend, broker.key_prefix)  # RabbitMQ's results


def test_a_broker_restarted_mid_run_loses_no_attempt(
    restarting: tuple[Cluster, PrivateRedis | PrivateRabbitMQ], postgres_url: str
) -> None:
    cluster, server = restarting
    ledger = cluster.folder.parent / "ledger"
    write_ledger_dag(cluster.folder, DAG_ID, ledger, TASKS)
    report = scan_here(cluster.store, cluster.folder)
    assert not report.errors, cluster.store.list_import_errors()
    workers = [cluster.start_worker("one"), cluster.start_worker("two")]
    scheduler = cluster.start_scheduler()
    run = cluster.trigger(DAG_ID)

    wait_for(lambda: ended(ledger) >= RESTART_AFTER, f"{RESTART_AFTER} tasks to end")
    server.restart(DOWN_S)
    assert ended(ledger) < TASKS, "the run ended before the broker came back: no fault made"

    finished = cluster.wait_finished(run, timeout_s=60)
    logs = {name: cluster.log(name) for name in ("scheduler", "one", "two")}
    left = {k: v for k, v in cluster.states(run).items() if v != "success"}
    assert finished == "success", (left, logs["scheduler"][-6000:])
    assert_each_task_ran_once(postgres_url, DAG_ID, run.run_id, ledger, TASKS)
    tries = {t: [a.try_number for a in cluster.attempts(run, t)] for t in cluster.states(run)}
    assert {t: n for t, n in tries.items() if n != [1]} == {}  # one attempt each, none failed
    exited = [p.args for p in [scheduler, *workers] if p.poll() is not None or not alive(p.pid)]
    assert not exited, (exited, logs)
    text = logs["scheduler"]
    again = re.findall(r"connection to it broke: (\d+) attempt\(s\) not started yet", text)
    assert len(again) == 1 and int(again[0]) > 0, text  # some were waiting: sent again
    # Each outage is one warning, however often the scheduler met it.
    assert text.count("Lost the Celery broker") == 1, text
    if cluster.broker.result_backend.startswith(server.url):
        assert text.count("Could not read the Celery result backend") == 1, text
        assert text.count("The Celery result backend answers again") == 1, text
    assert "Traceback" not in text, text
    assert cluster.stop_scheduler(scheduler) == 0


def test_the_broker_watch_tells_a_redis_restart_once_after_the_server_answers_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from headwater.celery_executor.app import build_app
    from headwater.celery_executor.broker_watch import BrokerWatch
    from headwater.settings_scale_out import CelerySettings

    server = PrivateRedis(tmp_path / "redis")
    server.start()
    settings = CelerySettings(broker_url=f"{server.url}/0", result_backend=f"{server.url}/1")
    app = build_app(settings)
    watch = BrokerWatch(app, settings.broker_url, timeout_s=1.0)
    try:
        assert [watch.restarted(), watch.restarted()] == [False, False]  # the same server
        server.kill()
        assert [watch.restarted(), watch.restarted()] == [False, False]  # not answering
        server.start()
        assert [watch.restarted(), watch.restarted()] == [True, False]  # once, when back
        server.restart(down_s=0)
        assert watch.restarted()  # a restart between two calls is seen too
        lost = [
            r.getMessage() for r in caplog.records if "Lost the Celery broker" in r.getMessage()
        ]
        assert len(lost) == 1, lost  # one warning for the outage, however often it was met
        assert "Connection refused" in lost[0], lost
    finally:
        watch.close()
        app.close()
        server.kill()
