"""Every JSON input is standard JSON: NaN, Infinity and duplicate keys are refused (exit 2,
naming the option) and nothing is stored, on SQLite and PostgreSQL alike; values a task
makes that JSON cannot hold never reach a JSON column."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from headwater import DAG, task
from headwater.clock import FakeClock
from headwater.exceptions import HeadwaterError
from headwater.operations import add_connection, trigger_run
from headwater.operators import BashOperator, PythonOperator
from headwater.store.base import Connection
from headwater.store.sql import SqlStore
from headwater.strict_json import InvalidJsonError, loads, loads_object
from headwater.testing import run_dag
from stored_dags import JAN_1, invoke

NOT_JSON = [
    ('{"x": NaN}', "NaN is not JSON"),
    ('{"x": Infinity}', "Infinity is not JSON"),
    ('{"x": [-Infinity]}', "-Infinity is not JSON"),
    ('{"x": 1, "x": 2}', "key 'x' is given twice"),
    pytest.param('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply", id="deep"),
    ('{"x": 1e999}', "number '1e999' is too large: it would be infinity, which JSON cannot hold"),
    ('{"x": [-2.5E400]}', "number '-2.5E400' is too large: it would be infinity"),
    pytest.param('{"x": ' + "9" * 5000 + "}", "number too long: 5000 digits", id="long-int"),
    pytest.param('{"x": -' + "9" * 4301 + "}", "number too long: 4301 digits", id="long-neg"),
]


@pytest.mark.parametrize(("text", "problem"), NOT_JSON)
def test_strict_loads_refuses_what_json_cannot_hold(text: str, problem: str) -> None:
    with pytest.raises(InvalidJsonError, match=f"^the file x.json: {problem}"):
        loads(text, "the file x.json")
    assert loads_object('{"x": 1.5, "y": [null, "NaN"]}', "--conf") == {
        "x": 1.5,
        "y": [None, "NaN"],
    }


@pytest.mark.parametrize(("text", "problem"), NOT_JSON)
def test_trigger_refuses_a_conf_that_is_not_standard_json(
    store: SqlStore, text: str, problem: str
) -> None:
    result = invoke("dags", "trigger", "etl", "--conf", text, "-o", "json")
    assert result.exit_code == 2
    assert "Invalid value for --conf" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert store.list_dag_runs("etl") == []


def test_dags_test_refuses_nan_in_conf(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text(
        "from headwater import DAG\nfrom headwater.operators import EmptyOperator\n"
        "with DAG('one'):\n    EmptyOperator(task_id='t')\n"
    )
    for command in (["dags", "test", "one"], ["tasks", "test", "one", "t"]):
        result = invoke(*command, "--folder", str(tmp_path), "--conf", '{"x": NaN}')
        assert result.exit_code == 2
        assert "Invalid value for --conf" in result.stderr and "NaN is not JSON" in result.stderr


def test_connection_extra_is_parsed_strictly(store: SqlStore) -> None:
    result = invoke("connections", "add", "api", "--type", "http", "--extra", '{"v": Infinity}')
    assert result.exit_code == 2
    assert (
        "Invalid value for --conn-extra" in result.stderr
        and "Infinity is not JSON" in result.stderr
    )
    assert store.get_connection("api") is None


def test_operations_refuse_nan_before_storing(store: SqlStore, clock: FakeClock) -> None:
    with pytest.raises(InvalidJsonError, match=r"conf\['x'\]\[1\] is NaN or infinite"):
        trigger_run(store, "etl", conf={"x": [1, math.nan]}, now=clock.now())
    assert store.list_dag_runs("etl") == []
    api = Connection(conn_id="api", conn_type="http", extra={"v": math.inf})
    with pytest.raises(HeadwaterError, match=r"connection 'api': extra\['v'\] is NaN"):
        add_connection(store, api)
    assert store.get_connection("api") is None


def test_nan_made_by_tasks_never_reaches_a_json_column(sql_store: SqlStore) -> None:
    """A task returning NaN fails with a clear message (XComs are JSON); a template field
    rendering NaN is recorded as its repr. Same on SQLite and PostgreSQL."""
    with DAG("nan", start_date=JAN_1) as dag:

        @task
        def returns_nan() -> float:
            return math.nan

        returns_nan()
        PythonOperator(
            task_id="renders_nan",
            python_callable=lambda x: None,
            op_kwargs={"x": math.nan},
        )
        BashOperator(task_id="reads_nan", bash_command="echo {{ var.json.limits.rows }}")
    sql_store.set_variable("limits", '{"rows": NaN}')
    result = run_dag(dag, store=sql_store)
    assert "variable 'limits': NaN is not JSON" in (result.ti("reads_nan").error or "")
    assert result.ti("returns_nan").state.value == "failed"
    assert "cannot pass nan between tasks" in (result.ti("returns_nan").error or "")
    assert result.ti("renders_nan").state.value == "success"
    assert result.rendered("renders_nan")["op_kwargs"] == "{'x': nan}"


def test_json_output_is_standard_even_for_nan_stored_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from headwater.cli._common import emit_json

    emit_json({"conf": {"x": [math.nan, math.inf, -math.inf, 1.5]}, "n": None})
    assert loads(capsys.readouterr().out, "stdout") == {
        "conf": {"x": ["NaN", "Infinity", "-Infinity", 1.5]},
        "n": None,
    }


def test_variables_set_json_checks_the_value(store: SqlStore) -> None:
    result = invoke("variables", "set", "limits", '{"rows": NaN}', "--json")
    assert result.exit_code == 2
    assert "Invalid value for VALUE (--json): NaN is not JSON" in result.stderr
    assert store.get_variable("limits") is None
    assert invoke("variables", "set", "limits", '{"rows": 10}', "--json").exit_code == 0
    assert store.get_variable("limits") == '{"rows": 10}'


def test_numbers_json_can_hold_are_read_and_the_limits_are_said_plainly() -> None:
    assert loads("[1e308, -1e308, 1e-999, " + "9" * 4300 + "]", "x") == [
        1e308,
        -1e308,
        0.0,
        int("9" * 4300),
    ]
    with pytest.raises(InvalidJsonError) as refused:
        loads("[" + "9" * 4301 + "]", "--conf")
    assert str(refused.value) == "--conf: number too long: 4301 digits (at most 4300)"
    huge = "1" * 400 + ".5"  # a float this long is infinity; only its start is shown
    with pytest.raises(InvalidJsonError, match=r"^--conf: number '1{100}…' \(402 characters\)"):
        loads(huge, "--conf")
