"""Definition-time checks: a wrong DAG or task argument is a HeadwaterError when it is created,
naming the DAG or task and the argument (schedules, params, timeouts, callbacks, tags, ids)."""

from __future__ import annotations

import re
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG, BaseOperator, Param, TaskGroup, chain, dag, task
from headwater.authoring.params import checked_formats
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import (
    DagDefinitionError,
    HeadwaterError,
    InvalidScheduleError,
    ParamValidationError,
)
from headwater.loading.dagbag import DagBag
from headwater.operators import BashOperator, EmptyOperator, PythonOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def _notify(context: dict[str, Any]) -> None:
    pass


# -- schedules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "15 10 31 2,4,6,9,11 *"])
@pytest.mark.parametrize("start_date", [START, None])
def test_a_cron_that_never_fires_is_refused_when_the_dag_is_created(
    cron: str, start_date: datetime | None
) -> None:
    with pytest.raises(InvalidScheduleError) as info:
        DAG("feb_30", schedule=cron, start_date=start_date)
    message = str(info.value)
    assert "DAG 'feb_30'" in message
    assert repr(cron) in message
    assert "never fires" in message
    assert isinstance(info.value, HeadwaterError)


@pytest.mark.parametrize("cron", ["0 0 29 2 *", "0 0 30 2 1", "0 0 31 * *", "@yearly"])
def test_rare_but_real_fire_times_are_accepted(cron: str) -> None:
    assert DAG("rare", schedule=cron, start_date=START).schedule.description == cron


def test_a_dag_file_with_a_cron_that_never_fires_is_an_import_error(tmp_path: Path) -> None:
    (tmp_path / "feb.py").write_text(
        textwrap.dedent(
            """
            from datetime import UTC, datetime
            from headwater import DAG
            from headwater.operators import EmptyOperator

            with DAG("feb30", schedule="0 0 30 2 *", start_date=datetime(2024, 1, 1, tzinfo=UTC)):
                EmptyOperator(task_id="a")
            """
        )
    )
    bag = DagBag(tmp_path)
    assert not bag.dags
    [error] = bag.import_errors
    assert "InvalidScheduleError" in error.message
    assert "DAG 'feb30'" in error.message
    assert "'0 0 30 2 *' never fires" in error.message


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("61 * * * *", r"the minute field '61' is not valid \(minute: 0-59\).*out of range"),
        ("*/0 * * * *", r"the minute field '\*/0' is not valid.*step '0'"),
        ("0 24 * * *", r"the hour field '24' is not valid \(hour: 0-23\)"),
        ("0 0 1-40 * *", r"the day-of-month field '1-40' is not valid"),
        ("0 0 * 13 *", r"the month field '13' is not valid"),
        ("0 0 * * 8", r"the day-of-week field '8' is not valid"),
    ],
)
def test_an_invalid_cron_field_is_named(cron: str, expected: str) -> None:
    with pytest.raises(InvalidScheduleError, match=expected) as info:
        DAG("bad_cron", schedule=cron)
    message = str(info.value)
    assert "DAG 'bad_cron'" in message
    assert repr(cron) in message
    assert "expected 5 fields" not in message


@pytest.mark.parametrize(("cron", "count"), [("0 6 * * * *", 6), ("0 6 * * * * 2024", 7)])
def test_only_five_field_crons_are_accepted(cron: str, count: int) -> None:
    with pytest.raises(InvalidScheduleError) as info:
        DAG("seconds", schedule=cron)
    message = str(info.value)
    assert "DAG 'seconds'" in message
    assert repr(cron) in message
    assert "expected 5 fields 'minute hour day-of-month month day-of-week'" in message
    assert f"got {count}" in message


@pytest.mark.parametrize(
    "schedule", ["@daily", "@hourly", "@once", "0 6 * * 1-5", " 0 6 * * * ", timedelta(hours=1)]
)
def test_valid_schedules_still_load(schedule: Any) -> None:
    DAG("fine", schedule=schedule, start_date=START)


# -- params ------------------------------------------------------------------------------------


def test_a_param_default_that_fails_its_schema_is_refused_when_the_dag_is_created() -> None:
    with pytest.raises(ParamValidationError) as info:
        DAG("regions", params={"region": Param("mars", enum=["eu", "us"])})
    message = str(info.value)
    assert "DAG 'regions'" in message
    assert "param 'region'" in message
    assert "'mars' is not one of ['eu', 'us']" in message


def test_the_default_check_names_the_path_inside_the_param() -> None:
    schema = {
        "type": "object",
        "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
    }
    with pytest.raises(ParamValidationError, match=r"param 'cfg'.*\['ids'\]\[1\]: 'x' is not of"):
        DAG("nested", params={"cfg": Param({"ids": [1, "x"]}, **schema)})


def test_a_param_default_is_checked_in_dag_decorator_too() -> None:
    @dag(params={"days": Param(0, type="integer", minimum=1)})
    def windowed() -> None:
        EmptyOperator(task_id="a")

    with pytest.raises(ParamValidationError, match=r"DAG 'windowed': param 'days'"):
        windowed()


def test_required_params_and_plain_values_stay_valid() -> None:
    built = DAG(
        "inputs",
        params={
            "token": Param(type="string"),
            "region": Param("eu", enum=["eu", "us"]),
            "label": "plain",
            "anything": None,
        },
    )
    assert not built.params["token"].has_default


def test_a_param_format_is_checked_at_run_start_naming_the_field() -> None:
    with DAG("dated", start_date=START, params={"d": Param("2024-01-01", format="date")}) as d:
        EmptyOperator(task_id="a")
    with pytest.raises(ParamValidationError, match=r"param 'd': 'notadate' is not a 'date'"):
        run_dag(d, conf={"d": "notadate"})
    with pytest.raises(ParamValidationError, match=r"param 'd': '2024-02-30' is not a 'date'"):
        run_dag(d, conf={"d": "2024-02-30"})
    assert run_dag(d, conf={"d": "2024-02-29"}).succeeded


def test_a_param_default_with_a_bad_format_is_refused_when_the_dag_is_created() -> None:
    with pytest.raises(ParamValidationError, match=r"DAG 'dated': param 'd'.*is not a 'date'"):
        DAG("dated", params={"d": Param("31/01/2024", type="string", format="date")})


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date", "2024-01-31", "2024-1-31"),
        ("date-time", "2024-01-31T06:00:00Z", "2024-01-31"),
        ("date-time", "2024-01-31T06:00:00.5+01:00", "2024-01-31T25:00:00Z"),
        ("date-time", "2024-12-31T23:59:59Z", "2024-01-31T06:00:00"),
        ("email", "ops@example.com", "not an address"),
        ("uuid", "12345678-1234-5678-1234-567812345678", "1234"),
    ],
)
def test_formats_are_checked(fmt: str, good: str, bad: str) -> None:
    assert fmt in checked_formats()
    param = Param(good, type="string", format=fmt)
    assert param.resolve("p", good) == good
    with pytest.raises(ParamValidationError, match=rf"param 'p': '{re.escape(bad)}' is not a"):
        param.resolve("p", bad)


def test_unknown_formats_are_not_checked() -> None:
    assert Param("anything", type="string", format="no-such-format").resolve("p") == "anything"


def test_params_that_pass_survive_serialization() -> None:
    with DAG(
        "round_trip",
        schedule="0 6 * * 1-5",
        start_date=START,
        params={"d": Param("2024-01-01", format="date"), "token": Param(type="string")},
    ) as built:
        EmptyOperator(task_id="a")
    again = deserialize_dag(serialize_dag(built))
    assert again.params["d"].schema == {"format": "date"}
    assert again.schedule.description == "0 6 * * 1-5"


# -- operator arguments ------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -5, timedelta(0), timedelta(seconds=-1)])
def test_a_non_positive_execution_timeout_is_refused_naming_the_task(timeout: Any) -> None:
    with DAG("timeouts"), pytest.raises(DagDefinitionError) as info:
        EmptyOperator(task_id="quick", execution_timeout=timeout)
    assert "task 'quick'" in str(info.value)
    assert "execution_timeout must be positive" in str(info.value)


def test_a_non_positive_execution_timeout_from_default_args_names_the_task() -> None:
    with (
        DAG("timeouts", default_args={"execution_timeout": timedelta(0)}),
        pytest.raises(DagDefinitionError, match=r"task 'first': execution_timeout"),
    ):
        EmptyOperator(task_id="first")


@pytest.mark.parametrize("name", ["retry_delay", "max_retry_delay"])
def test_negative_retry_delays_are_refused_naming_the_task(name: str) -> None:
    with DAG("delays"), pytest.raises(DagDefinitionError, match=rf"task 'slow': {name} must be"):
        EmptyOperator(task_id="slow", **{name: -1})


@pytest.mark.parametrize("value", ["5 minutes", float("nan"), float("inf"), True])
def test_timedelta_type_errors_name_the_task(value: Any) -> None:
    with DAG("delays"), pytest.raises(DagDefinitionError, match=r"task 'slow': retry_delay must"):
        EmptyOperator(task_id="slow", retry_delay=value)


def test_a_priority_weight_that_is_not_a_number_names_the_task() -> None:
    with DAG("weights"), pytest.raises(DagDefinitionError, match=r"task 'w': priority_weight"):
        EmptyOperator(task_id="w", priority_weight="high")


@pytest.mark.parametrize(
    "name", ["on_success_callback", "on_failure_callback", "on_retry_callback"]
)
@pytest.mark.parametrize("value", ["notify", 42, [_notify, "notify"], {"a": _notify}])
def test_a_task_callback_that_is_not_callable_is_refused(name: str, value: Any) -> None:
    with DAG("callbacks"), pytest.raises(DagDefinitionError) as info:
        EmptyOperator(task_id="cb", **{name: value})
    assert "task 'cb'" in str(info.value)
    assert name in str(info.value)


def test_task_callbacks_from_default_args_are_checked_too() -> None:
    with (
        DAG("callbacks", default_args={"on_failure_callback": "page_me"}),
        pytest.raises(DagDefinitionError, match=r"task 'cb': on_failure_callback"),
    ):
        EmptyOperator(task_id="cb")


@pytest.mark.parametrize("value", [None, _notify, [_notify, print], (_notify,), []])
def test_valid_callbacks_are_accepted(value: Any) -> None:
    with DAG("callbacks", on_success_callback=value, on_failure_callback=value):
        task_ = EmptyOperator(task_id="cb", on_retry_callback=value)
    assert task_.on_retry_callback is value


@pytest.mark.parametrize("name", ["on_success_callback", "on_failure_callback"])
def test_a_dag_callback_that_is_not_callable_is_refused(name: str) -> None:
    with pytest.raises(DagDefinitionError) as info:
        DAG("dag_callbacks", **{name: [_notify, None]})
    assert "DAG 'dag_callbacks'" in str(info.value)
    assert name in str(info.value)


def test_an_unknown_operator_argument_names_the_class_task_and_argument() -> None:
    with DAG("typos"), pytest.raises(DagDefinitionError) as info:
        EmptyOperator(task_id="t", retires=3)
    message = str(info.value)
    assert "EmptyOperator" in message
    assert "task 't'" in message
    assert "'retires'" in message
    assert "did you mean 'retries'" in message


def test_several_unknown_arguments_are_all_named() -> None:
    with DAG("typos"), pytest.raises(DagDefinitionError) as info:
        PythonOperator(task_id="p", python_callable=_notify, foo=1, bar=2)
    assert re.search(
        r"task 'p' \(PythonOperator\): unknown arguments 'foo', 'bar'", str(info.value)
    )


def test_a_misspelt_required_operator_argument_is_named() -> None:
    with DAG("typos"), pytest.raises(DagDefinitionError) as info:
        BashOperator(task_id="b", bash_comand="echo hi")  # type: ignore[call-arg]
    message = str(info.value)
    assert "task 'b' (BashOperator)" in message
    assert "'bash_comand' (did you mean 'bash_command'?)" in message
    assert "missing 1 required keyword-only argument: 'bash_command'" in message


def test_an_operator_with_a_closed_signature_names_the_task() -> None:
    class Greet(BaseOperator):
        def __init__(self, *, task_id: str, name: str) -> None:
            super().__init__(task_id=task_id)
            self.name = name

    with DAG("typos"), pytest.raises(DagDefinitionError) as info:
        Greet(task_id="hello", name="x", nmae="y")  # type: ignore[call-arg]
    assert "task 'hello' (Greet)" in str(info.value)
    assert "'nmae'" in str(info.value)


def test_an_unknown_task_decorator_argument_names_the_task() -> None:
    with DAG("typos"), pytest.raises(DagDefinitionError) as info:

        @task(retires=2)
        def load() -> None:
            pass

        load()
    assert "task 'load'" in str(info.value)
    assert "'retires'" in str(info.value)


def test_a_type_error_raised_inside_an_operator_init_is_left_alone() -> None:
    class Picky(BaseOperator):
        def __init__(self, *, size: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.size = int(size) + "x"  # a bug in the operator, not in its arguments

    with DAG("bugs"), pytest.raises(TypeError, match="unsupported operand"):
        Picky(task_id="p", size=1)


# -- DAG arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [timedelta(minutes=-1), timedelta(0)])
def test_a_non_positive_dagrun_timeout_is_refused(timeout: timedelta) -> None:
    with pytest.raises(DagDefinitionError, match=r"DAG 'runs': dagrun_timeout must be positive"):
        DAG("runs", dagrun_timeout=timeout)


def test_tags_given_as_a_string_are_refused() -> None:
    with pytest.raises(DagDefinitionError) as info:
        DAG("tagged", tags="sales")  # type: ignore[arg-type]
    message = str(info.value)
    assert "DAG 'tagged'" in message
    assert "tags must be a list of strings" in message
    assert "tags=['sales']" in message


@pytest.mark.parametrize("tags", [["sales", 1], [None], {"a": 1}, 5])
def test_tags_must_be_strings(tags: Any) -> None:
    with pytest.raises(DagDefinitionError, match=r"DAG 'tagged': tags must be a list of strings"):
        DAG("tagged", tags=tags)


@pytest.mark.parametrize("tags", [["b", "a", "b"], ("a", "b"), {"a", "b"}, frozenset({"a", "b"})])
def test_tags_as_a_list_tuple_or_set_are_sorted(tags: Any) -> None:
    assert DAG("tagged", tags=tags).tags == ["a", "b"]


def test_an_invalid_dag_id_says_dag_id() -> None:
    with pytest.raises(DagDefinitionError) as info:
        DAG("my dag")
    assert str(info.value).startswith("dag_id 'my dag' contains ' '")
    assert "task_id" not in str(info.value)


def test_an_invalid_task_id_still_says_task_id() -> None:
    with DAG("ids"), pytest.raises(DagDefinitionError, match=r"^task_id 'my task' contains ' '"):
        EmptyOperator(task_id="my task")


def test_an_unknown_dag_argument_names_the_dag() -> None:
    with pytest.raises(DagDefinitionError) as info:
        DAG("airflowish", schedule_interval="@daily")  # type: ignore[call-arg]
    assert "DAG 'airflowish'" in str(info.value)
    assert "'schedule_interval' (did you mean 'schedule'?)" in str(info.value)

    @dag(shedule="@daily")
    def decorated() -> None:
        pass

    with pytest.raises(DagDefinitionError, match=r"DAG 'decorated': unknown argument 'shedule'"):
        decorated()


@pytest.mark.parametrize(("name", "value"), [("params", [1, 2]), ("default_args", ["retries"])])
def test_params_and_default_args_must_be_dicts(name: str, value: Any) -> None:
    with pytest.raises(DagDefinitionError, match=rf"DAG 'shapes': {name} must be a dict"):
        DAG("shapes", **{name: value})


# -- chain ----------------------------------------------------------------------------------


def test_chain_with_lists_of_unequal_length_is_a_headwater_error() -> None:
    with DAG("chains"):
        a, b, c = (EmptyOperator(task_id=n) for n in "abc")
        with pytest.raises(DagDefinitionError, match="lengths 2 and 1"):
            chain([a, b], [c])
        with pytest.raises(DagDefinitionError, match="not a task or task group"):
            a >> 1  # type: ignore[operator]


# -- cost --------------------------------------------------------------------------------------


def test_checks_keep_a_thousand_task_dag_cheap() -> None:
    def build() -> DAG:
        with DAG(
            "big",
            schedule="0 6 * * 1-5",
            start_date=START,
            params={"region": Param("eu", enum=["eu", "us"])},
            default_args={"retries": 1, "on_failure_callback": _notify},
            tags=["a", "b"],
        ) as built:
            for i in range(1000):
                EmptyOperator(task_id=f"t{i}", execution_timeout=timedelta(minutes=5))
        return built

    build()
    best = min(_timed(build) for _ in range(3))
    assert best < 0.5, f"building 1000 tasks took {best:.3f} s"


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_an_invalid_group_id_is_named_as_a_group_id() -> None:
    with DAG("groups"), pytest.raises(DagDefinitionError, match="group_id 'my group'"):
        TaskGroup("my group")


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("pool_slots", 1_000_001, "pool_slots must be from 0 to 1,000,000, got 1,000,001"),
        ("priority_weight", 2**31, "priority_weight must be from -2,147,483,648 to"),
        ("priority_weight", -(2**40), "got -1,099,511,627,776"),
    ],
)
def test_pool_slots_and_priority_weight_fit_their_columns(
    argument: str, value: int, message: str
) -> None:
    with pytest.raises(DagDefinitionError, match=re.escape(message)):
        EmptyOperator(task_id="t", **{argument: value})
