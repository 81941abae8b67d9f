"""The task context Airflow code reads: keys in templates, in ``@task`` parameters and in
``**context`` callables, Airflow 2's deprecated names with their one-time log note."""

from __future__ import annotations

import re

from tests.airflow_style.conftest import AirflowDagTest

DATE = "2024-03-05T06:07:00+00:00"


def _note(key: str) -> str:
    return f"The context key {key!r} is an Airflow 2 name, removed in Airflow 3"


def _task_log(stdout: str, task_id: str) -> str:
    """The log lines ``dags test`` printed under ``task_id``."""
    match = re.search(rf"success {re.escape(task_id)} \(try[^\n]*\n((?:    │[^\n]*\n)*)", stdout)
    assert match, f"no log of {task_id!r} in:\n{stdout}"
    return match.group(1)


def test_context_keys_in_templates_parameters_and_kwargs(
    airflow_dags_test: AirflowDagTest,
) -> None:
    done = airflow_dags_test("context_keys.py", "context_keys", "-d", DATE, "-c", '{"who": "ann"}')
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # A template: the keys, and Airflow 2 names valued as Airflow 2.10 did (a run started by
    # hand: next and previous logical dates are its own).
    echo = _task_log(out, "echo_keys")
    assert (
        "ti_key=context_keys__echo_keys__20240305 ts=20240305T060700 tz=20240305T060700+0000 "
        "exec=2024-03-05 06:07:00+00:00 next=20240305 prev=2024-03-05 yesterday=20240304 "
        "tomorrow=2024-03-06 prev_success=None who=ann days=2024-03-12"
    ) in echo
    for key in ("execution_date", "next_ds_nodash", "prev_ds", "yesterday_ds_nodash"):
        assert echo.count(_note(key)) == 1, key
    assert _note("prev_start_date_success") not in out  # not deprecated
    # @task parameters named like keys, left out of the call (Airflow's run_me example).
    assert "'context_keys__run_me_0__20240305 slept 0'" in _task_log(out, "run_me_0")
    assert "'context_keys__run_me_1__20240305 slept 1'" in _task_log(out, "run_me_1")
    named = _task_log(out, "named")
    assert "named next=2024-03-05T06:07:00+00:00 prev_end=None" in named
    assert "'prev_end_is_none': True" in named
    assert "'inlets': ['file:///tmp/context_keys/raw.csv'], 'test_mode': False" in named
    assert named.count(_note("next_execution_date")) == 1
    assert _note("execution_date") not in named  # only what the task read
    for index, value in enumerate("abc"):
        assert f"'{value} of 3'" in _task_log(out, f"mapped[{index}]")
    # **context in a PythonOperator callable.
    python = _task_log(out, "python_keys")
    for line in (
        "callable key=context_keys__python_keys__20240305",
        "callable minute=7 next_ds=2024-03-05",
        "callable prev_success=None",
        "callable outlets=['file:///tmp/context_keys/raw.csv']",
        "callable test_mode=False count=None",
        "callable who=ann",
        "callable tomorrow=2024-03-06",
    ):
        assert line in python
    assert python.count(_note("execution_date")) == 1  # read twice, noted once


def test_airflow2_idioms_read_context_keys(airflow_dags_test: AirflowDagTest) -> None:
    done = airflow_dags_test("context_airflow2.py", "context_airflow2", "-d", DATE)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "context_airflow2__runme_0__20240305\n" in _task_log(out, "runme_0")
    assert "ti_key=context_airflow2__also_run_this_again__20240305" in out
    condition = _task_log(out, "condition")
    assert "exec dttm = 2024-03-05 06:07:00+00:00 and minute = 7" in condition
    assert condition.count(_note("execution_date")) == 1
    assert "success empty_task_2" in out
    assert "skipped" in out.split("empty_task_1")[-1].splitlines()[0]
    query = _task_log(out, "log_query")
    assert "query: SELECT * FROM t WHERE day = '20240305'" in query
    assert "yesterday: 2024-03-04 tomorrow: 20240306" in query
    assert query.count(_note("prev_ds_nodash")) == 1
