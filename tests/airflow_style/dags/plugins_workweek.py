"""An Airflow DAG on a plugin's timetable, rendering a plugin's macro (run unmodified)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from airflow_plugins.workweek import WeekdayTimetable

with DAG(
    dag_id="plugins_workweek",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=WeekdayTimetable(),
    catchup=False,
    tags=["plugins"],
):
    BashOperator(
        task_id="say_day",
        bash_command=(
            "echo 'interval {{ data_interval_start.isoformat() }} to "
            "{{ data_interval_end.isoformat() }}, a {{ macros.workweek.weekday_name(ds) }}'"
        ),
    )
