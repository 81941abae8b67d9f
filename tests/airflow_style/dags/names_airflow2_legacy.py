"""An Airflow 2.x DAG file that still uses names Airflow 3 removed: the old operator modules,
DummyOperator, days_ago and a provider's own SQL operator."""

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.python_operator import PythonOperator
from airflow.providers.sqlite.operators.sqlite import SqliteOperator
from airflow.utils.dates import days_ago

default_args = {"owner": "airflow", "start_date": days_ago(2)}


def report(**context):
    rows = context["ti"].xcom_pull(task_ids="count_rows")
    print(f"rows counted: {rows}")
    return rows


with DAG(
    dag_id="names_airflow2_legacy",
    default_args=default_args,
    schedule=None,
    catchup=False,
    tags=["example"],
) as dag:
    start = DummyOperator(task_id="start")
    hello = BashOperator(task_id="hello", bash_command="echo legacy-bash-ran")
    create = SqliteOperator(
        task_id="create_table",
        sqlite_conn_id="names_sqlite",
        sql="CREATE TABLE IF NOT EXISTS fruit (name TEXT); INSERT INTO fruit VALUES ('pear');",
        split_statements=True,
    )
    count = SqliteOperator(
        task_id="count_rows", sqlite_conn_id="names_sqlite", sql="SELECT count(*) FROM fruit"
    )
    done = PythonOperator(task_id="report", python_callable=report)
    start >> hello >> create >> count >> done
