"""The next scheduled run is stored for paused DAGs too (as Airflow's ``next_dagrun``), so
``headwater dags list`` shows what a paused DAG would run once unpaused."""

from __future__ import annotations

import json

from scheduler_harness import Harness, at

from stored_dags import invoke


def test_a_paused_dag_shows_its_next_run_and_gets_no_runs(harness: Harness) -> None:
    harness.write_dag(
        "paused",
        """
        with DAG("paused", schedule="@daily", start_date=START, catchup=True,
                 is_paused_upon_creation=True):
            EmptyOperator(task_id="a")
        """,
    )
    harness.process()
    harness.step()
    assert harness.runs("paused") == []
    row = harness.store.get_dag("paused")
    assert row is not None and row.is_paused
    assert row.next_dagrun_logical_date == at(1)  # catchup: the first interval comes first

    listed = json.loads(invoke("dags", "list", "-o", "json").stdout)
    (dag,) = listed["dags"]
    assert (dag["paused"], dag["next_run"]) == (True, "2024-01-01T00:00:00+00:00")

    harness.store.set_dag_paused("paused", False)
    harness.step()
    assert len(harness.runs("paused")) == 3
    assert harness.store.get_dag("paused").next_dagrun_logical_date == at(4)  # type: ignore[union-attr]
