"""Airflow 3 authoring: display names, task params, Param by position, ParamsDict,
do_xcom_push, output_processor with multiple_outputs, post_execute, user-defined macros and
filters."""

import json

import pendulum
from airflow.models.param import ParamsDict
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Param, task


def shout(text):
    return text.upper() + "!"


def after(context, result):
    print(f"post_execute saw {result}")


with DAG(
    dag_id="authoring_surface",
    dag_display_name="Authoring surface ✓",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    params=ParamsDict({"region": Param("eu", "where to load", type="string"), "days": 7}),
    user_defined_macros={"project": "headwater"},
    user_defined_filters={"shout": shout},
):
    greet = BashOperator(
        task_id="greet",
        task_display_name="Say hello",
        bash_command="echo {{ project | shout }} region={{ params.region }} days={{ params.days }}",
        params={"days": Param(3, type="integer", minimum=1)},
    )
    quiet = BashOperator(task_id="quiet", bash_command="echo not pushed", do_xcom_push=False)
    describe = BashOperator(
        task_id="describe",
        bash_command='echo \'{"files": 2, "folder": "dags"}\'',
        output_processor=json.loads,
        multiple_outputs=True,
        post_execute=after,
    )

    @task
    def check(ti=None):
        files = ti.xcom_pull(task_ids="describe", key="files")
        pushed = ti.xcom_pull(task_ids="quiet")
        print(f"files={files} quiet_pushed={pushed}")
        assert files == 2 and pushed is None

    [greet, quiet, describe] >> check()
