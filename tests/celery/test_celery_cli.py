"""`headwater celery status|worker` as real processes, and a broker down when attempts go."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery_harness import Cluster

from command_processes import clean_env, run_headwater, wait_for
from headwater.celery_executor.app import task_id_for
from headwater.celery_executor.executor import CeleryExecutor
from headwater.engine.records import AttemptKey, TaskInstance
from headwater.executors.messages import AttemptMessage
from headwater.settings_scale_out import CelerySettings
from headwater.store.memory import MemoryStore

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_status_lists_a_live_worker_with_its_queues(redis_cluster: Cluster) -> None:
    special = redis_cluster.broker.queue("special")
    process = redis_cluster.start_worker("watcher", redis_cluster.broker.default_queue, special)
    done = run_headwater(redis_cluster.env, "celery", "status", "--output", "json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    (worker,) = [w for w in status["workers"] if w["hostname"].startswith("watcher@")]
    assert worker["queues"] == sorted([redis_cluster.broker.default_queue, special])
    assert worker["active"] == []
    lengths = {q["queue"]: q["messages"] for q in status["queues"]}
    assert lengths[redis_cluster.broker.default_queue] == 0
    assert lengths[special] == 0
    process.send_signal(signal.SIGTERM)  # a warm stop: nothing runs, so it exits at once
    assert process.wait(timeout=20) == 0, redis_cluster.log("watcher")


def test_an_unreachable_broker_or_a_bad_url_is_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home")
    down = {**env, "HEADWATER__CELERY__BROKER_URL": f"redis://127.0.0.1:{_free_port()}/0"}
    done = run_headwater(down, "celery", "status")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: the Celery broker redis://127.0.0.1:")
    assert "cannot be reached (celery.broker_url)" in line
    bad = {**env, "HEADWATER__CELERY__BROKER_URL": "http://user:secret@example.com/"}
    done = run_headwater(bad, "celery", "worker")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Error: celery.broker_url 'http://user:***@example.com/' is not a redis:// or amqp:// URL"
    ]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[int, Callable[[], None]]]:
    """A Redis server of this test's own, on a free port, started when the test says."""
    port = _free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
        started.append(subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL))

    yield port, start
    for process in started:
        process.kill()
        process.wait()


def test_an_attempt_sent_while_the_broker_is_down_is_put_back_then_sent(
    private_redis: tuple[int, Callable[[], None]], caplog: pytest.LogCaptureFixture
) -> None:
    port, start_redis = private_redis
    url = f"redis://127.0.0.1:{port}/0"
    settings = CelerySettings(
        broker_url=url, result_backend=url, key_prefix="down-", send_timeout_s=0.5
    )
    key = AttemptKey("etl", "manual__1", "extract", -1, 1)
    ti = TaskInstance("etl", "manual__1", "extract", try_number=0, queue="default")
    prepared: list[AttemptKey] = []

    def prepare(attempt: AttemptKey) -> AttemptMessage:
        prepared.append(attempt)
        return AttemptMessage(attempt, fileloc="/dags/etl.py", log_path="/logs/1.log", ti=ti)

    executor = CeleryExecutor(settings, prepare=prepare, attempts=MemoryStore())
    try:
        executor.queue(key)
        with caplog.at_level(logging.WARNING):
            assert executor.poll(timeout=0) == []
        assert executor.has_work
        assert "did not take task extract try 1" in caplog.text
        start_redis()
        client = redis.Redis(port=port)
        wait_for(lambda: _sent(client, executor), "the attempt to reach the broker", 20)
        (body,) = client.lrange("down-default", 0, -1)
        assert json.loads(body)["headers"]["id"] == task_id_for(key, settings)
        assert set(prepared) == {key}  # the same attempt, asked for again, never lost
        assert "takes attempts again" in caplog.text
    finally:
        executor.stop()


def _sent(client: redis.Redis, executor: CeleryExecutor) -> bool:
    executor.heartbeat()
    try:
        return int(client.llen("down-default")) == 1
    except redis.ConnectionError:
        return False
