"""Params validated when a run starts; Jinja templates rendered from the attempt's context."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from headwater import DAG, Param, get_current_context, task
from headwater.authoring.params import resolve_params
from headwater.exceptions import HeadwaterError, ParamValidationError
from headwater.operators import BashOperator, PythonOperator
from headwater.store import Connection, MemoryStore
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
WHEN = datetime(2024, 3, 5, 6, 30, tzinfo=UTC)


def make_params_dag() -> DAG:
    with DAG(
        "params",
        start_date=START,
        params={
            "region": Param("eu", enum=["eu", "us"]),
            "days": Param(7, type="integer", minimum=1),
            "label": "plain default",
        },
    ) as dag:

        @task
        def show(params) -> dict:
            return dict(params)

        show()
    return dag


def test_defaults_and_conf_overrides() -> None:
    dag = make_params_dag()
    assert run_dag(dag).xcom("show") == {"region": "eu", "days": 7, "label": "plain default"}
    assert run_dag(dag, conf={"region": "us", "extra": 1}).xcom("show") == {
        "region": "us",
        "days": 7,
        "label": "plain default",
        "extra": 1,
    }


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"region": "mars"}, r"param 'region': 'mars' is not one of \['eu', 'us'\]"),
        ({"days": 0}, r"param 'days': 0 is less than the minimum of 1"),
        ({"days": "seven"}, r"param 'days': 'seven' is not of type 'integer'"),
    ],
)
def test_invalid_conf_is_refused_naming_the_field(conf: dict, message: str) -> None:
    with pytest.raises(ParamValidationError, match=message):
        run_dag(make_params_dag(), conf=conf)


@pytest.mark.parametrize("conf", [[1], "region=us", 3])
def test_conf_that_is_not_an_object_is_a_param_error(conf: object) -> None:
    dag = make_params_dag()
    message = f"conf must be a JSON object (a dict), got {type(conf).__name__}"
    with pytest.raises(ParamValidationError, match=re.escape(message)):
        resolve_params(dag.params, conf)  # type: ignore[arg-type]
    with pytest.raises(ParamValidationError, match=re.escape(message)):
        run_dag(dag, conf=conf)  # type: ignore[arg-type]


def test_required_param_without_default() -> None:
    with DAG("required", start_date=START, params={"token": Param(type="string")}) as dag:
        PythonOperator(task_id="t", python_callable=lambda: None)
    with pytest.raises(ParamValidationError, match="param 'token' is required"):
        run_dag(dag)
    assert run_dag(dag, conf={"token": "abc"}).succeeded


def test_an_invalid_schema_is_an_error_when_defined() -> None:
    with pytest.raises(ParamValidationError, match="invalid Param schema"):
        Param(1, type="no-such-type")


def test_context_values_in_templates_and_callables() -> None:
    with DAG("ctx", start_date=START, schedule="@daily", params={"who": "world"}) as dag:
        BashOperator(
            task_id="bash",
            bash_command=(
                "echo {{ ds }} {{ ds_nodash }} {{ ts }} {{ data_interval_start }} "
                "{{ data_interval_end }} {{ params.who }} {{ macros.ds_add(ds, -5) }} "
                "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }} {{ task.task_id }} {{ run_id }}"
            ),
        )

        @task
        def by_name(ds, logical_date, params, ti, dag_run) -> str:
            ctx = get_current_context()
            assert ctx["ti"] is ti
            return f"{ds} {logical_date.hour} {params['who']} {ti.task_id} {dag_run.run_id}"

        by_name()
    result = run_dag(dag, logical_date=WHEN, run_id="r1")
    assert result.xcom("bash") == (
        "2024-03-05 20240305 2024-03-05T06:30:00+00:00 2024-03-05 00:00:00+00:00 "
        "2024-03-06 00:00:00+00:00 world 2024-02-29 05/03/2024 bash r1"
    )
    assert result.xcom("by_name") == "2024-03-05 6 world by_name r1"


def test_rendered_values_are_kept_per_attempt_and_the_task_is_untouched() -> None:
    with DAG("rendered", start_date=START) as dag:
        op = BashOperator(task_id="b", bash_command="echo {{ ds }}", env={"DAY": "{{ ds_nodash }}"})
    result = run_dag(dag, logical_date=WHEN)
    assert result.rendered("b") == {"bash_command": "echo 2024-03-05", "env": {"DAY": "20240305"}}
    assert op.bash_command == "echo {{ ds }}"


def test_an_undefined_name_is_an_error_naming_task_field_and_name() -> None:
    with DAG("undefined", start_date=START) as dag:
        BashOperator(task_id="b", bash_command="echo {{ dss }}")
    result = run_dag(dag)
    assert result.state_of("b") == "failed"
    assert result.ti("b").error == (
        "TemplateRenderError: task 'b': template field 'bash_command': 'dss' is undefined"
    )


def test_sh_files_are_rendered_from_the_dag_folder(tmp_path) -> None:
    (tmp_path / "report.sh").write_text("echo report for {{ ds }} in {{ params.region }}\n")
    (tmp_path / "pipeline.py").write_text(
        "from datetime import UTC, datetime\n"
        "from headwater import DAG\n"
        "from headwater.operators import BashOperator\n"
        "with DAG('files', start_date=datetime(2024, 1, 1, tzinfo=UTC), params={'region': 'eu'}) as dag:\n"
        "    BashOperator(task_id='report', bash_command='report.sh')\n"
        "    BashOperator(task_id='missing', bash_command='missing.sh')\n"
    )
    from headwater.testing import load_dags

    dag = load_dags(tmp_path).get_dag("files")
    result = run_dag(dag, logical_date=WHEN)
    assert result.xcom("report") == "report for 2024-03-05 in eu"
    assert "template file 'missing.sh' not found" in (result.ti("missing").error or "")


def test_template_syntax_errors_name_the_line() -> None:
    with DAG("syntax", start_date=START) as dag:
        BashOperator(task_id="b", bash_command="echo {{ ds }\n")
    error = run_dag(dag).ti("b").error or ""
    assert "template field 'bash_command': syntax error in template, line 1" in error


def test_var_and_conn_in_templates() -> None:
    store = MemoryStore()
    store.set_variable("bucket", "s3://data")
    store.set_variable("limits", '{"rows": 10}')
    store.set_connection(
        Connection.from_uri("warehouse", "postgresql://ann:s%40cret@db.local:5433/dw")
    )
    with DAG("varconn", start_date=START) as dag:
        BashOperator(
            task_id="b",
            bash_command=(
                "echo {{ var.value.bucket }} {{ var.json.limits.rows }} {{ var.value.get('nope', 'dflt') }} "
                "{{ conn.warehouse.host }}:{{ conn.warehouse.port }} {{ conn.warehouse.login }}"
            ),
        )
        BashOperator(task_id="missing", bash_command="echo {{ var.value.not_set }}")
    result = run_dag(dag, store=store)
    assert result.xcom("b") == "s3://data 10 dflt db.local:5433 ann"
    assert store.get_connection("warehouse").password == "s@cret"
    assert "variable 'not_set' is not set" in (result.ti("missing").error or "")


def test_references_inside_template_fields_are_resolved_not_rendered() -> None:
    with DAG("refs", start_date=START) as dag:

        @task
        def make() -> str:
            return "{{ not rendered }}"

        PythonOperator(
            task_id="use",
            python_callable=lambda value, day: f"{value}|{day}",
            op_kwargs={"value": make(), "day": "{{ ds }}"},
        )
    result = run_dag(dag, logical_date=WHEN)
    assert dag.get_task("use").upstream_task_ids == {"make"}
    assert result.xcom("use") == "{{ not rendered }}|2024-03-05"


def test_get_current_context_outside_a_task_is_an_error() -> None:
    with pytest.raises(HeadwaterError, match="only available while a task runs"):
        get_current_context()


def test_data_interval_of_unscheduled_and_timedelta_dags() -> None:
    with DAG("manual", start_date=START) as manual:
        PythonOperator(
            task_id="t",
            python_callable=lambda data_interval_start, data_interval_end: [
                data_interval_start,
                data_interval_end,
            ],
        )
    assert run_dag(manual, logical_date=WHEN).xcom("t") == [WHEN, WHEN]
    with DAG("every_6h", start_date=START, schedule=timedelta(hours=6)) as delta:
        PythonOperator(
            task_id="t",
            python_callable=lambda data_interval_start, data_interval_end: [
                data_interval_start,
                data_interval_end,
            ],
        )
    # The interval of the start_date grid (every 6 h from START) that contains WHEN (06:30).
    six = datetime(2024, 3, 5, 6, tzinfo=UTC)
    assert run_dag(delta, logical_date=WHEN).xcom("t") == [six, six + timedelta(hours=6)]


def test_a_manual_run_keeps_its_logical_date_inside_the_cron_interval() -> None:
    # As docs/authoring.md and authoring/schedules.py say: D stays the logical date and the
    # data interval is the schedule's interval that contains D (not Airflow's previous one).
    with DAG("daily", start_date=START, schedule="@daily") as daily:
        PythonOperator(
            task_id="t",
            python_callable=lambda logical_date, ds, data_interval_start, data_interval_end: [
                logical_date,
                ds,
                data_interval_start,
                data_interval_end,
            ],
        )
    assert run_dag(daily, logical_date=WHEN).xcom("t") == [
        WHEN,
        "2024-03-05",
        datetime(2024, 3, 5, tzinfo=UTC),
        datetime(2024, 3, 6, tzinfo=UTC),
    ]


def test_sql_files_in_templates_dict(tmp_path) -> None:
    (tmp_path / "daily.sql").write_text("SELECT * FROM events WHERE day = '{{ ds }}'")
    with DAG("sql", start_date=START, template_searchpath=str(tmp_path)) as dag:
        PythonOperator(
            task_id="q",
            python_callable=lambda templates_dict: templates_dict["query"],
            templates_dict={"query": "daily.sql"},
            templates_exts=[".sql"],
        )
    result = run_dag(dag, logical_date=WHEN)
    assert result.xcom("q") == "SELECT * FROM events WHERE day = '2024-03-05'"
    assert result.rendered("q")["templates_dict"] == {"query": result.xcom("q")}
