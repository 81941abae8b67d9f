"""Modules real Airflow files import that are neither operators nor the SDK's core: Airflow 3's
exceptions, datasets, timetables, the standard provider's utils and its common.compat names,
airflow.utils.timezone and helpers, weight rules (Airflow 2's and 3's modules), and
BashSensor."""

from airflow.datasets import Dataset, DatasetAlias
from airflow.models.xcom_arg import XComArg
from airflow.providers.common.compat.sdk import TriggerRule, timezone
from airflow.providers.standard.utils.weekday import WeekDay
from airflow.sdk import DAG, Asset, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.sensors.bash import BashSensor
from airflow.task.weight_rule import WeightRule
from airflow.timetables.trigger import CronTriggerTimetable
from airflow.utils.helpers import chain
from airflow.utils.state import TaskInstanceState
from airflow.utils.weight_rule import WeightRule as Airflow2WeightRule

with DAG(
    dag_id="names_modern_modules",
    start_date=timezone.datetime(2024, 1, 1),
    schedule=CronTriggerTimetable("0 6 * * 1-5", timezone="UTC"),
    catchup=False,
) as dag:
    wait = BashSensor(
        task_id="wait_for_flag",
        bash_command='test -n "$FLAG"',
        env={"FLAG": "up"},
        poke_interval=1,
        timeout=60,
    )

    @task(outlets=[Asset(name="names_report"), Dataset("s3://bucket/names")])
    def produce():
        print(f"weekday enum={WeekDay.MONDAY.name} alias={DatasetAlias('names-alias').name}")
        return 7

    @task
    def maybe_skip(value):
        if value > 5:
            raise AirflowSkipException(f"value {value} is big: skipping")

    @task(trigger_rule=TriggerRule.ALL_DONE, weight_rule=WeightRule.ABSOLUTE)
    def finish():
        print(f"finished; states include {TaskInstanceState.SKIPPED.value}")
        print(f"weight rules: {Airflow2WeightRule.UPSTREAM.value}")

    produced = produce()
    assert isinstance(produced, XComArg)
    chain(wait, produced, maybe_skip(produced), finish())

with DAG(dag_id="names_bash_sensor_fails", start_date=timezone.datetime(2024, 1, 1), schedule=None):
    BashSensor(task_id="broken_check", bash_command="exit 3", retry_exit_code=2, timeout=60)
