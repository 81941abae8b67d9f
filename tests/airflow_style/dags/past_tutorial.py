"""A daily pipeline written the way Airflow's tutorial teaches: default_args shared by
every task (``depends_on_past`` off), one task that depends on its previous run, and one
that also waits for its downstream task of the previous run."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def report_flags(**context):
    task = context["task"]
    print(
        f"flags of {task.task_id}: depends_on_past={task.depends_on_past} "
        f"wait_for_downstream={task.wait_for_downstream} "
        f"ignore_first_depends_on_past={task.ignore_first_depends_on_past}"
    )


with DAG(
    "past_tutorial",
    default_args={
        "depends_on_past": False,
        "email": ["owner@example.com"],
        "email_on_failure": False,
        "email_on_retry": False,
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
    },
    description="Tasks that wait for their previous run",
    schedule=timedelta(days=1),
    start_date=datetime(2021, 1, 1),
    catchup=False,
    tags=["example"],
) as dag:
    print_date = BashOperator(task_id="print_date", bash_command="date")

    accumulate = PythonOperator(
        task_id="accumulate",
        python_callable=report_flags,
        depends_on_past=True,
    )

    publish = PythonOperator(
        task_id="publish",
        python_callable=report_flags,
        wait_for_downstream=True,
    )

    cleanup = BashOperator(task_id="cleanup", bash_command="echo 'cleaned {{ ds }}'")

    print_date >> accumulate >> publish >> cleanup
