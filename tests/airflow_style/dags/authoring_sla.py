"""An Airflow 2 DAG with sla_miss_callback and a task sla."""

from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator


def sla_callback(dag, task_list, blocking_task_list, slas, blocking_tis):
    print("SLA was missed on", task_list)


def check_callback(**context):
    kept = context["dag"].sla_miss_callback is sla_callback
    print(f"sla_miss_callback kept: {kept}")
    print(f"task sla: {context['dag'].get_task('with_sla').sla}")
    assert kept


with DAG(
    dag_id="authoring_sla",
    schedule="*/2 * * * *",
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    catchup=False,
    sla_miss_callback=sla_callback,
):
    PythonOperator(task_id="with_sla", python_callable=check_callback, sla=timedelta(seconds=10))
