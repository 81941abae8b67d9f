"""Airflow-style DAG: the context keys templates and callables read, Airflow 2 names included."""

from __future__ import annotations

import pendulum
from airflow import Dataset
from airflow.decorators import task
from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

RAW = Dataset("file:///tmp/context_keys/raw.csv")


def print_keys(**context):
    """Reads the keys through **context, as most Airflow 2 callables do."""
    execution_date = context["execution_date"]
    print(f"callable key={context['task_instance_key_str']}")
    print(f"callable minute={execution_date.minute} next_ds={context['next_ds']}")
    print(f"callable prev_success={context['prev_data_interval_start_success']}")
    print(f"callable outlets={[o.uri for o in context['outlets']]}")
    print(f"callable test_mode={context['test_mode']} count={context['expanded_ti_count']}")
    print(f"callable who={context['dag_run'].conf.get('who', 'nobody')}")
    print(f"callable tomorrow={context['macros'].ds_add(context['ds'], 1)}")
    return context["task_instance_key_str"]


with DAG(
    dag_id="context_keys",
    schedule="@daily",
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    echo_keys = BashOperator(
        task_id="echo_keys",
        bash_command=(
            'echo "ti_key={{ task_instance_key_str }} ts={{ ts_nodash }} '
            "tz={{ ts_nodash_with_tz }} exec={{ execution_date }} next={{ next_ds_nodash }} "
            "prev={{ prev_ds }} yesterday={{ yesterday_ds_nodash }} tomorrow={{ tomorrow_ds }} "
            "prev_success={{ prev_start_date_success }} "
            "who={{ dag_run.conf.get('who', 'nobody') }} "
            'days={{ macros.ds_add(ds, 7) }}"'
        ),
    )

    @task
    def run_me(sleep_seconds: int, task_instance_key_str) -> str:
        return f"{task_instance_key_str} slept {sleep_seconds}"

    @task(inlets=[RAW])
    def named(ds, next_execution_date, prev_end_date_success, inlets, test_mode):
        print(f"named next={next_execution_date.isoformat()} prev_end={prev_end_date_success}")
        return {
            "prev_end_is_none": prev_end_date_success is None,
            "inlets": [i.uri for i in inlets],
            "test_mode": test_mode,
            "ds": ds,
        }

    @task
    def mapped(value, expanded_ti_count):
        return f"{value} of {expanded_ti_count}"

    python_keys = PythonOperator(task_id="python_keys", python_callable=print_keys, outlets=[RAW])

    for i in range(2):
        echo_keys >> run_me.override(task_id=f"run_me_{i}")(sleep_seconds=i)
    echo_keys >> named() >> python_keys
    mapped.expand(value=["a", "b", "c"])
