"""An Airflow 2 DAG file that `headwater airflow check` finds loading and, with --run,
running to success: a BashOperator, then a PythonOperator that reads its XCom."""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def count_rows(ti):
    rows = int(ti.xcom_pull(task_ids="extract"))
    print(f"rows extracted: {rows}")
    return rows


with DAG(
    dag_id="check_loads",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
    tags=["check"],
) as dag:
    extract = BashOperator(task_id="extract", bash_command="echo 42")
    count = PythonOperator(task_id="count", python_callable=count_rows)
    extract >> count
