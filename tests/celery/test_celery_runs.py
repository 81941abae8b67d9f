"""A DAG runs through `headwater scheduler` (executor = celery) on real Celery workers."""

from __future__ import annotations

import pytest
from celery_harness import Cluster

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
