"""Clearing a work task between a setup and its teardown clears them too (Airflow's rule),
on a DAG stored by the DAG processor and run for real (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from headwater.operations import clear_task_instances, task_instances_to_clear
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import run_now, store_dags

NOW = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)

CLUSTER = """
from datetime import UTC, datetime
from headwater import DAG, Label
from headwater.operators import EmptyOperator, PythonOperator

def boom():
    raise RuntimeError("training diverged")

with DAG("cluster", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily"):
    start = EmptyOperator(task_id="start")
    create = EmptyOperator(task_id="create").as_setup()
    train = PythonOperator(task_id="train", python_callable=boom)
    delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
    report = EmptyOperator(task_id="report", trigger_rule="all_done")
    start >> create >> Label("cluster up") >> train >> delete
    train >> report
"""


def _states(store: SqlStore, run_id: str) -> dict[str, str]:
    return {ti.task_id: ti.state.value for ti in store.get_task_instances("cluster", run_id)}


def test_clearing_the_work_clears_its_setup_and_teardown_but_not_the_rest(
    sql_store: SqlStore, tmp_path: Path, settings: Settings
) -> None:
    folder = tmp_path / "dags"
    store_dags(sql_store, folder, CLUSTER)
    result = run_now(sql_store, folder, "cluster", "r1", settings)
    assert result.state == "success"  # its one leaf (teardowns left out), report, succeeded
    assert _states(sql_store, "r1") == {
        "start": "success",
        "create": "success",
        "train": "failed",
        "delete": "success",
        "report": "success",
    }

    planned = task_instances_to_clear(sql_store, "cluster", "r1", ["train"])
    assert sorted(ti.task_id for ti in planned) == ["create", "delete", "train"]
    clear_task_instances(sql_store, "cluster", "r1", ["train"], now=NOW)
    assert _states(sql_store, "r1") == {
        "start": "success",
        "create": "none",
        "train": "none",
        "delete": "none",
        "report": "success",
    }

    # Clearing the setup alone takes its teardown with it, not the work.
    run_now(sql_store, folder, "cluster", "r2", settings, logical_date=NOW)
    clear_task_instances(sql_store, "cluster", "r2", ["create"], now=NOW)
    states = _states(sql_store, "r2")
    assert (states["create"], states["delete"], states["train"]) == ("none", "none", "failed")
