"""An Airflow 2 DAG as many teams still have them: a timetable= argument, the Postgres
provider's PostgresOperator and the HTTP provider's SimpleHttpOperator (both replaced in
newer providers), and a task reading triggering_dataset/asset events."""

from datetime import datetime

import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.providers.http.operators.http import SimpleHttpOperator
from airflow.providers.postgres.operators.postgres import PostgresOperator
from airflow.timetables.trigger import CronTriggerTimetable

TABLE = "{{ params.table }}"

with DAG(
    dag_id="legacy_providers",
    start_date=datetime(2024, 1, 1),
    timetable=CronTriggerTimetable("0 6 * * *", timezone=pendulum.timezone("UTC")),
    catchup=False,
    params={"table": "legacy_rows"},
) as dag:
    create = PostgresOperator(
        task_id="create",
        postgres_conn_id="warehouse",
        sql=[
            f"DROP TABLE IF EXISTS {TABLE}",
            f"CREATE TABLE {TABLE} (day DATE, source TEXT)",
            f"INSERT INTO {TABLE} VALUES ('{{{{ ds }}}}', 'airflow 2')",
        ],
    )
    count = PostgresOperator(
        task_id="count", postgres_conn_id="warehouse", sql=f"SELECT count(*) FROM {TABLE}"
    )
    ping = SimpleHttpOperator(
        task_id="ping", http_conn_id="api", endpoint="status", method="GET", log_response=True
    )

    @task
    def report(rows, status, triggering_asset_events=None):
        print(f"rows={rows} status={status} events={len(triggering_asset_events or {})}")

    create >> count
    report(count.output, ping.output)
