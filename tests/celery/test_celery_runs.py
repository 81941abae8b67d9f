"""A DAG runs through `headwater scheduler` (executor = celery) on real Celery workers."""

from __future__ import annotations

import pytest
from celery_harness import Cluster

from command_processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


def test_a_dag_with_an_xcom_runs_to_success_on_one_worker(cluster: Cluster) -> None:
    cluster.write_dag(
        "etl",
        """
        import os

        @task
        def extract():
            return {"rows": 3, "pid": os.getpid()}

        @task
        def transform(data):
            return data["rows"] * 2

        with DAG("etl", start_date=START):
            transform(extract()) >> EmptyOperator(task_id="done")
        """,
    )
    run = cluster.trigger("etl")
    worker = cluster.start_worker("one")
    scheduler = cluster.start_scheduler()
    assert cluster.wait_finished(run) == "success"
    assert cluster.states(run) == {"extract": "success", "transform": "success", "done": "success"}
    assert cluster.xcom(run, "transform") == 6
    extracted = cluster.xcom(run, "extract")
    (attempt,) = cluster.attempts(run, "extract")
    assert attempt.pid == extracted["pid"] != scheduler.pid  # ran in the worker's child
    assert worker.poll() is None
    assert cluster.stop_scheduler(scheduler) == 0


def test_a_task_runs_only_on_a_worker_of_its_queue(redis_cluster: Cluster) -> None:
    special = redis_cluster.broker.queue("special")
    redis_cluster.write_dag(
        "routed",
        f"""
        import os

        with DAG("routed", start_date=START):
            PythonOperator(task_id="anywhere", python_callable=os.getppid)
            PythonOperator(task_id="special", python_callable=os.getppid, queue={special!r})
        """,
    )
    run = redis_cluster.trigger("routed")
    general = redis_cluster.start_worker("general")
    scheduler = redis_cluster.start_scheduler()
    # Only the general worker listens: the special task waits in its queue.
    wait_for(
        lambda: redis_cluster.states(run).get("anywhere") == "success",
        "the task of the default queue to run",
    )
    assert redis_cluster.states(run)["special"] == "queued"
    gpu = redis_cluster.start_worker("special", special)
    assert redis_cluster.wait_finished(run) == "success"
    # os.getppid() in a worker's child process: the `headwater celery worker` process.
    assert redis_cluster.xcom(run, "anywhere") == general.pid
    assert redis_cluster.xcom(run, "special") == gpu.pid
    assert redis_cluster.stop_scheduler(scheduler) == 0


def test_execution_timeout_ends_the_attempt_failed(redis_cluster: Cluster) -> None:
    redis_cluster.write_dag(
        "slow",
        """
        import time

        with DAG("slow", start_date=START):
            PythonOperator(task_id="sleepy", python_callable=lambda: time.sleep(60),
                           execution_timeout=timedelta(seconds=1))
        """,
    )
    run = redis_cluster.trigger("slow")
    redis_cluster.start_worker("one")
    scheduler = redis_cluster.start_scheduler()
    assert redis_cluster.wait_finished(run) == "failed"
    assert redis_cluster.states(run) == {"sleepy": "failed"}
    (attempt,) = redis_cluster.attempts(run, "sleepy")
    assert "timed out" in (attempt.error or ""), attempt.error
    assert attempt.state.value == "failed"
    assert "timed out after 1 seconds (execution_timeout)" in (attempt.error or "")
    assert redis_cluster.stop_scheduler(scheduler) == 0


def test_many_short_tasks_at_once_all_finish(redis_cluster: Cluster) -> None:
    # Their outcomes are often read from the attempt rows (each heartbeat) before the result
    # backend: each instance must still be marked running first, or it stays queued.
    redis_cluster.write_dag(
        "fan",
        """
        with DAG("fan", start_date=START, max_active_tasks=64):
            for i in range(50):
                PythonOperator(task_id=f"t{i}", python_callable=lambda: None)
        """,
    )
    run = redis_cluster.trigger("fan")
    redis_cluster.start_worker("four", concurrency=4)
    scheduler = redis_cluster.start_scheduler()
    assert redis_cluster.wait_finished(run) == "success"
    assert set(redis_cluster.states(run).values()) == {"success"}
    assert redis_cluster.stop_scheduler(scheduler) == 0
