"""Airflow's authoring surface on headwater: the Airflow ``DAG``/``@dag`` of
``headwater.airflow_compat.dag`` (naive dates, Airflow 2 arguments, ignored UI arguments) and
what every DAG now takes (display names, task params, do_xcom_push, multiple_outputs,
output_processor, pre/post_execute, Param by position, ParamsDict, user-defined macros and
filters, native rendering, pendulum durations), and ``core.default_timezone``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest

from headwater import DAG, task
from headwater.airflow_compat import dag as compat
from headwater.airflow_compat import helpers
from headwater.authoring.params import Param, ParamsDict
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError, ParamValidationError
from headwater.operators import BashOperator, PythonOperator
from headwater.settings import SettingsError, load_settings
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A fresh read of ``core.default_timezone`` (Europe/Paris) for the Airflow DAG."""
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    monkeypatch.setenv("HEADWATER__CORE__DEFAULT_TIMEZONE", "Europe/Paris")
    compat.default_timezone.cache_clear()
    yield
    compat.default_timezone.cache_clear()


# -- settings ----------------------------------------------------------------------------------


def test_default_timezone_defaults_to_utc_and_refuses_a_bad_name(tmp_path: Path) -> None:
    assert load_settings({"HEADWATER_HOME": str(tmp_path)}).core.default_timezone == "UTC"
    env = {"HEADWATER_HOME": str(tmp_path), "HEADWATER__CORE__DEFAULT_TIMEZONE": "Mars/Base"}
    with pytest.raises(SettingsError, match=r"core.default_timezone \(env .*'Mars/Base'.*IANA"):
        load_settings(env)


# -- the Airflow DAG ---------------------------------------------------------------------------


def test_airflow_dag_reads_naive_dates_in_the_default_timezone(zone: None) -> None:
    paris = ZoneInfo("Europe/Paris")
    dag = compat.DAG("naive", start_date=datetime(2024, 1, 1), end_date=datetime(2024, 2, 1))
    assert dag.start_date == datetime(2024, 1, 1, tzinfo=paris)
    assert dag.end_date == datetime(2024, 2, 1, tzinfo=paris)
    from_args = compat.DAG("args", default_args={"start_date": datetime(2024, 3, 1)})
    assert from_args.start_date == datetime(2024, 3, 1, tzinfo=paris)
    assert from_args.default_args["start_date"] == from_args.start_date
    aware = compat.DAG("aware", start_date=START)
    assert aware.start_date == START


def test_headwater_dag_still_refuses_a_naive_start_date() -> None:
    with pytest.raises(DagDefinitionError, match="start_date 2024-01-01T00:00:00 has no timezone"):
        DAG("native", start_date=datetime(2024, 1, 1))


def test_schedule_interval_and_timetable_warn_and_both_schedules_are_an_error() -> None:
    with pytest.warns(compat.AirflowDeprecationWarning, match="schedule_interval.*use schedule"):
        dag = compat.DAG("old", start_date=START, schedule_interval="@daily")
    assert dag.schedule.description == "@daily"
    with pytest.warns(compat.AirflowDeprecationWarning, match="concurrency.*max_active_tasks"):
        assert compat.DAG("c", concurrency=3).max_active_tasks == 3
    with pytest.raises(DagDefinitionError, match="give one of schedule and schedule_interval"):
        compat.DAG("both", start_date=START, schedule="@daily", schedule_interval="@daily")


def test_ui_only_arguments_are_ignored_and_unknown_ones_named() -> None:
    dag = compat.DAG(
        "ui", "a description", default_view="grid", orientation="LR", access_control={}
    )
    assert dag.description == "a description"
    with pytest.raises(DagDefinitionError, match=r"DAG 'bad': unknown argument 'shedule'"):
        compat.DAG("bad", shedule="@daily")


def test_airflow_dag_decorator_builds_the_airflow_dag(zone: None) -> None:
    @compat.dag(start_date=datetime(2024, 1, 1), dag_display_name="Nice name")
    def decorated() -> None:
        PythonOperator(task_id="t", python_callable=lambda: 1)

    built = decorated()
    assert isinstance(built, compat.DAG)
    assert built.start_date == datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    assert built.dag_display_name == "Nice name"
    assert built.fileloc == __file__


# -- every DAG ---------------------------------------------------------------------------------


def test_display_names_default_to_the_ids_and_are_serialized() -> None:
    with DAG("shown", dag_display_name="Shown DAG") as dag:
        BashOperator(task_id="a", bash_command="true", task_display_name="Step A")
        BashOperator(task_id="b", bash_command="true")
    data = serialize_dag(dag)
    assert data["dag"]["dag_display_name"] == "Shown DAG"
    assert [t.get("task_display_name") for t in data["dag"]["tasks"]] == ["Step A", None]
    back = deserialize_dag(data)
    assert back.dag_display_name == "Shown DAG"
    assert [t.task_display_name for t in back.tasks] == ["Step A", "b"]
    assert "dag_display_name" not in serialize_dag(DAG("plain"))["dag"]


def test_task_params_go_over_the_dags_and_the_conf_over_both() -> None:
    with DAG("p", params={"region": "eu", "days": 7}) as dag:

        @task(params={"days": Param(3, type="integer", minimum=1), "own": "x"})
        def show(params: dict | None = None) -> dict:
            return params

        show()

    assert run_dag(dag).xcom("show") == {"region": "eu", "days": 3, "own": "x"}
    assert run_dag(dag, conf={"days": 9}).xcom("show")["days"] == 9
    failed = run_dag(dag, conf={"days": 0})
    assert failed.state_of("show") == "failed"
    assert "task 'show': param 'days'" in failed.log("show")
    with pytest.raises(ParamValidationError, match="task 'bad': param 'n'"):
        BashOperator(task_id="bad", bash_command="true", params={"n": Param(0, minimum=1)})


def test_param_by_position_and_params_dict() -> None:
    param = Param(5, "how many", type="integer")
    assert (param.default, param.description, param.schema) == (5, "how many", {"type": "integer"})
    params = ParamsDict({"n": param, "plain": "v"})
    assert params["n"] == 5 and params.get_param("plain").default == "v"
    assert params.validate() == {"n": 5, "plain": "v"}
    assert DAG("pd", params=params).params["n"] is param


def test_do_xcom_push_multiple_outputs_output_processor_and_hooks() -> None:
    seen: list[object] = []
    with DAG("x") as dag:
        BashOperator(task_id="quiet", bash_command="echo 1", do_xcom_push=False)
        BashOperator(
            task_id="json",
            bash_command='echo \'{"a": 1, "b": 2}\'',
            output_processor=__import__("json").loads,
            multiple_outputs=True,
            pre_execute=lambda context: seen.append(("pre", context["ti"].task_id)),
            post_execute=lambda context, result: seen.append(("post", result)),
        )
    result = run_dag(dag)
    assert result.succeeded
    assert result.xcom("quiet") is None
    assert result.xcom("json") == {"a": 1, "b": 2}
    assert (result.xcom("json", "a"), result.xcom("json", "b")) == (1, 2)
    assert seen == [("pre", "json"), ("post", {"a": 1, "b": 2})]


def test_user_defined_macros_filters_and_native_rendering() -> None:
    with DAG(
        "m",
        user_defined_macros={"project": "hw"},
        user_defined_filters={"shout": lambda s: s.upper() + "!"},
    ) as dag:
        BashOperator(task_id="say", bash_command="echo {{ project | shout }}")
    with DAG("n", render_template_as_native_obj=True, params={"n": [1, 2]}) as native:

        def total(values: list[int]) -> int:
            return sum(values)

        PythonOperator(task_id="sum", python_callable=total, op_args=["{{ params.n }}"])
    assert run_dag(dag).xcom("say") == "HW!"
    assert run_dag(native).xcom("sum") == 3
    with pytest.raises(DagDefinitionError, match=r"user_defined_filters\['x'\] must be"):
        DAG("bad", user_defined_filters={"x": 1})


def test_pendulum_datetimes_and_durations_are_plain_inside() -> None:
    with DAG(
        "pd",
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        schedule=pendulum.duration(hours=6),
        dagrun_timeout=pendulum.duration(hours=1),
    ) as dag:
        op = BashOperator(
            task_id="t",
            bash_command="true",
            retry_delay=pendulum.duration(minutes=2),
            execution_timeout=pendulum.duration(minutes=5),
        )
    assert type(dag.dagrun_timeout) is timedelta and type(op.retry_delay) is timedelta
    assert op.execution_timeout == timedelta(minutes=5)
    assert serialize_dag(dag)["dag"]["schedule"] == {"seconds": 21600.0}
    assert run_dag(dag).succeeded


def test_the_deprecation_warning_is_shown_by_default() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("ignore", DeprecationWarning)  # Python's default for libraries
        helpers._filter_added = False
        compat.DAG("shown", schedule_interval=None)
    assert [str(w.message) for w in caught] == [
        "DAG 'shown': schedule_interval is deprecated (removed in Airflow 3); use schedule"
    ]
    assert caught[0].filename == __file__


def test_a_time_param_takes_a_time_without_an_offset_as_airflow() -> None:
    param = Param("12:13:14", type="string", format="time")
    param.check_default("at")
    assert param.problem("12:13:14Z") is None
    assert param.problem("25:00:00") == ("", "'25:00:00' is not a 'time'")
