"""Sensors whose ``timeout`` is shorter than their ``poke_interval``, as in Airflow's
example_sensors: each gives up at its timeout (skipped with ``soft_fail``), not a poke
interval later; a TimeDeltaSensor-like wait, a sensor that succeeds, and a task after them
that runs when none failed."""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.sensors.bash import BashSensor
from airflow.sensors.python import PythonSensor
from airflow.utils.trigger_rule import TriggerRule


def never():
    return False


def always():
    return True


with DAG(
    dag_id="misc_sensors",
    schedule=None,
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    poke = PythonSensor(
        task_id="poke_gives_up_at_timeout",
        python_callable=never,
        timeout=1,
        poke_interval=600,
        soft_fail=True,
    )
    rescheduled = PythonSensor(
        task_id="reschedule_gives_up_at_timeout",
        python_callable=never,
        timeout=1,
        poke_interval=600,
        mode="reschedule",
        soft_fail=True,
    )
    bash = BashSensor(
        task_id="bash_gives_up_at_timeout",
        bash_command="exit 1",
        timeout=1,
        poke_interval=600,
        soft_fail=True,
    )
    ok = PythonSensor(task_id="succeeds", python_callable=always, timeout=1, poke_interval=600)
    after = BashOperator(
        task_id="after", bash_command="echo all sensors done", trigger_rule=TriggerRule.NONE_FAILED
    )
    [poke, rescheduled, bash, ok] >> after
