"""Airflow's ``serializer`` on the Python-environment decorators and operators
(tutorial_taskflow_api_virtualenv uses ``serializer="dill"``): accepted, while the values
travel as JSON."""

from __future__ import annotations

import sys
from datetime import datetime

from airflow.decorators import dag, task
from airflow.operators.python import ExternalPythonOperator


def double(value):
    return {"doubled": value * 2}


@dag(schedule=None, start_date=datetime(2021, 1, 1), catchup=False)
def misc_virtualenv():
    @task.external_python(python=sys.executable, serializer="dill")
    def extract():
        import json

        return json.loads('{"1001": 301.27, "1002": 433.21}')

    @task(multiple_outputs=True)
    def transform(order_data_dict: dict):
        return {"total": round(sum(order_data_dict.values()), 2)}

    @task()
    def load(total: float):
        print(f"Total order value is: {total:.2f}")

    load(transform(extract())["total"])

    ExternalPythonOperator(
        task_id="classic",
        python=sys.executable,
        python_callable=double,
        op_args=[21],
        serializer="cloudpickle",
    )


misc_virtualenv()
