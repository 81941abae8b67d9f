"""An Airflow 2 DAG file that loads, but whose run fails: its second task raises, so
`headwater airflow check --run` reports that task and its error."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator


def validate():
    raise ValueError("no rows in staging.orders for the day")


with DAG(
    dag_id="check_run_fails",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    schedule=None,
) as dag:
    start = EmptyOperator(task_id="start")
    check_rows = PythonOperator(task_id="validate", python_callable=validate, retries=0)
    start >> check_rows
