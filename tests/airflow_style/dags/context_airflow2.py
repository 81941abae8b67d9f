"""Airflow-style DAG in Airflow 2 idioms: @task.bash functions that name context keys, a
branch on kwargs["execution_date"], and a templates_dict read through **kwargs."""

from __future__ import annotations

import datetime

import pendulum
from airflow.decorators import task
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator, PythonOperator


def should_run(**kwargs):
    """As Airflow's example_branch_python_dop_operator_3."""
    print(f"exec dttm = {kwargs['execution_date']} and minute = {kwargs['execution_date'].minute}")
    if kwargs["execution_date"].minute % 2 == 0:
        return "empty_task_1"
    return "empty_task_2"


def log_query(**kwargs):
    print(f"query: {kwargs['templates_dict']['query']}")
    print(f"yesterday: {kwargs['yesterday_ds']} tomorrow: {kwargs['tomorrow_ds_nodash']}")


with DAG(
    dag_id="context_airflow2",
    schedule=None,
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    dagrun_timeout=datetime.timedelta(minutes=60),
    tags=["example"],
) as dag:

    @task.bash
    def run_me(sleep_seconds: int, task_instance_key_str: str) -> str:
        return f"echo {task_instance_key_str} && sleep {sleep_seconds}"

    @task.bash
    def also_run_this_again(task_instance_key_str) -> str:
        return f'echo "ti_key={task_instance_key_str}"'

    run_this_last = EmptyOperator(task_id="run_this_last")
    for i in range(2):
        run_me.override(task_id=f"runme_{i}")(sleep_seconds=0) >> run_this_last
    also_run_this_again() >> run_this_last

    cond = BranchPythonOperator(task_id="condition", python_callable=should_run)
    cond >> [EmptyOperator(task_id="empty_task_1"), EmptyOperator(task_id="empty_task_2")]

    PythonOperator(
        task_id="log_query",
        python_callable=log_query,
        templates_dict={"query": "SELECT * FROM t WHERE day = '{{ prev_ds_nodash }}'"},
    )
