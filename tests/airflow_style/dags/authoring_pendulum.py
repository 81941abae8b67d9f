"""pendulum datetimes and durations wherever Airflow takes a datetime or timedelta."""

import pendulum
from airflow.decorators import dag, task
from airflow.sensors.date_time import DateTimeSensor


@dag(
    schedule=pendulum.duration(hours=6),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2034, 1, 1, tz="Europe/Berlin"),
    dagrun_timeout=pendulum.duration(hours=1),
    default_args={
        "retries": 1,
        "retry_delay": pendulum.duration(seconds=30),
        "execution_timeout": pendulum.duration(minutes=10),
    },
    catchup=False,
)
def authoring_pendulum():
    wait = DateTimeSensor(
        task_id="wait",
        target_time=pendulum.datetime(2020, 1, 1, tz="UTC"),
        timeout=pendulum.duration(minutes=5),
        poke_interval=pendulum.duration(seconds=1),
    )

    @task(retry_delay=pendulum.duration(minutes=1))
    def durations(dag=None, task=None):
        print(f"dagrun_timeout={dag.dagrun_timeout.total_seconds():g}")
        print(f"retry_delay={task.retry_delay.total_seconds():g}")
        print(f"execution_timeout={task.execution_timeout.total_seconds():g}")

    wait >> durations()


authoring_pendulum()
