"""Templates from inside a task, as Airflow's tutorial_taskflow_templates does: a ``.sql``
argument read from a file next to this one (``templates_exts``), task-level params merged
over the DAG's through ``.override()``, and ``context["task"].render_template(...)``."""

from __future__ import annotations

import pendulum
from airflow.decorators import dag, task
from airflow.operators.python import PythonOperator, get_current_context


@dag(
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"source": "from_dag", "other": "other_from_dag"},
)
def misc_templates():
    @task(templates_exts=[".sql"])
    def show(sql, run_label):
        context = get_current_context()
        print(f"sql: {sql}")
        print(f"run_label: {run_label}")
        rendered = context["task"].render_template(
            "other={{ params.other }} source={{ params.source }}", context
        )
        print(f"rendered: {rendered}")
        nested = context["task"].render_template({"ids": ["{{ run_id }}"]}, context)
        print(f"nested run id matches: {nested['ids'][0] == context['run_id']}")
        from_file = context["task"].render_template("misc_sql/misc_query.sql", context)
        print(f"from file has run id: {context['run_id'] in from_file}")

    show.override(params={"source": "from_task"})(
        sql="misc_sql/misc_query.sql", run_label="run {{ run_id }}"
    )

    def classic(**context):
        task = context["task"]
        print("classic: " + task.render_template("{{ ds }} {{ params.other }}", context))

    PythonOperator(task_id="classic", python_callable=classic)


misc_templates()
