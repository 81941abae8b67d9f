"""An Airflow 2 DAG: naive dates, schedule_interval, concurrency and UI-only arguments."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

default_args = {
    "owner": "airflow",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}


def show_dates(**context):
    dag = context["dag"]
    print(f"start_date={dag.start_date.isoformat()}")
    print(f"end_date={dag.end_date.isoformat()}")


with DAG(
    "authoring_airflow2_dag",
    default_args=default_args,
    description="An Airflow 2 style DAG",
    schedule_interval=timedelta(days=1),
    start_date=datetime(2021, 1, 1),
    end_date=datetime(2031, 1, 1),
    catchup=False,
    concurrency=4,
    default_view="graph",
    orientation="LR",
    access_control={"Viewer": {"can_read"}},
    tags=["example"],
) as dag:
    dates = PythonOperator(task_id="show_dates", python_callable=show_dates)
    concurrency = BashOperator(
        task_id="show_max_active_tasks",
        bash_command="echo max_active_tasks={{ dag.max_active_tasks }}",
    )
    dates >> concurrency
