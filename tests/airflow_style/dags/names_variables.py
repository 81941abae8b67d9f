"""Variable, Connection, BaseHook and conf, as Airflow DAG files use them: at parse time and
inside tasks."""

import pendulum
from airflow.configuration import conf
from airflow.decorators import dag, task
from airflow.hooks.base import BaseHook
from airflow.models import Connection, Variable

# Read while the file is parsed, as many Airflow files do.
REGION = Variable.get("names_region", default_var="nowhere")
PARALLELISM = conf.getint("core", "parallelism")
NAMESPACE = conf.get("kubernetes_executor", "namespace", fallback="no-kubernetes")


@dag(
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["names"],
)
def names_variables():
    @task
    def read_at_parse_time():
        print(f"parsed region={REGION} parallelism={PARALLELISM} namespace={NAMESPACE}")

    @task
    def read_in_task():
        settings = Variable.get("names_settings", deserialize_json=True)
        missing = Variable.get("names_missing", default_var="fallback-used")
        print(f"threshold={settings['threshold']} missing={missing}")
        try:
            Variable.get("names_missing")
        except KeyError as error:
            print(f"KeyError caught: {error}")
        return settings["threshold"]

    @task
    def write_watermark():
        Variable.set("names_watermark", {"last": 41}, serialize_json=True)

    @task
    def read_watermark():
        watermark = Variable.get("names_watermark", deserialize_json=True)["last"]
        print(f"watermark={watermark}")
        return watermark + 1

    @task
    def read_connection():
        conn = Connection.get_connection_from_secrets("names_api")
        same = BaseHook.get_connection("names_api")
        print(f"connection host={conn.host} port={conn.port} same={same.host == conn.host}")

    @task
    def dags_folder():
        print(f"dags_folder={conf.get('core', 'dags_folder')}")

    read_at_parse_time() >> read_in_task() >> write_watermark() >> read_watermark()
    read_connection() >> dags_folder()


names_variables()
