"""Airflow DAG files that use names beyond operators, run unmodified: Airflow 2 names that
Airflow 3 removed (each warning with its replacement), Variable/Connection/conf, Airflow 3's
exceptions, datasets, timetables, the standard provider's utils, BashSensor, SubDagOperator
refused."""

from __future__ import annotations

import re
from pathlib import Path

from tests.airflow_style.conftest import AirflowDagTest

ENV = {
    "HEADWATER_CONN_NAMES_API": "http://api.example.com:8080",
    "HEADWATER_VAR_NAMES_REGION": "eu",
    "HEADWATER_VAR_NAMES_SETTINGS": '{"threshold": 3}',
}


def _state(output: str, task_id: str, state: str) -> bool:
    return re.search(rf"\b{task_id}\b\W+{state}\b", output) is not None


def test_airflow_2_names_run_and_warn_with_their_replacement(
    airflow_dags_test: AirflowDagTest, tmp_path: Path
) -> None:
    result = airflow_dags_test(
        "names_airflow2_legacy.py",
        "names_airflow2_legacy",
        env={"HEADWATER_CONN_NAMES_SQLITE": f"sqlite:///{tmp_path}/fruit.db"},
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "DAG names_airflow2_legacy succeeded" in out
    for task_id in ("start", "hello", "create_table", "count_rows", "report"):
        assert _state(out, task_id, "success"), (task_id, out)
    assert "legacy-bash-ran" in out
    assert "rows counted: [[1]]" in out
    warnings = [
        "airflow.operators.bash_operator is deprecated (removed in Airflow 3): import "
        "BashOperator from airflow.operators.bash instead",
        "airflow.operators.python_operator is deprecated (removed in Airflow 3): import "
        "PythonOperator from airflow.operators.python instead",
        "DummyOperator is deprecated (removed in Airflow 3): use EmptyOperator",
        "airflow.utils.dates.days_ago is deprecated (removed in Airflow 3): give a fixed "
        "start_date",
        "SqliteOperator is deprecated (removed from its provider): use SQLExecuteQueryOperator "
        "from airflow.providers.common.sql.operators.sql with conn_id= instead of "
        "sqlite_conn_id=",
    ]
    for warning in warnings:
        assert f"AirflowDeprecationWarning: {warning}" in result.stderr, (warning, out)
    # Each warning points at the DAG file's line, not at headwater's.
    assert re.search(r"names_airflow2_legacy\.py:\d+: AirflowDeprecationWarning: DummyOp", out)


def test_variables_connections_and_conf_as_airflow_code_uses_them(
    airflow_dags_test: AirflowDagTest,
) -> None:
    result = airflow_dags_test("names_variables.py", "names_variables", env=ENV)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "parsed region=eu parallelism=16 namespace=no-kubernetes" in out
    assert "threshold=3 missing=fallback-used" in out
    assert "KeyError caught: variable 'names_missing' is not set" in out
    assert "watermark=41" in out  # Variable.set in one task, read in the next
    assert "connection host=api.example.com port=8080 same=True" in out
    assert "dags_folder=" in out
    assert "DAG names_variables succeeded" in out


def test_airflow_3_modules_datasets_timetables_and_bash_sensor(
    airflow_dags_test: AirflowDagTest,
) -> None:
    result = airflow_dags_test("names_modern_modules.py", "names_modern_modules")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert _state(out, "wait_for_flag", "success"), out
    assert "Command exited with return code 0" in out
    assert "weekday enum=MONDAY alias=names-alias" in out
    assert _state(out, "maybe_skip", "skipped"), out  # airflow.sdk.exceptions' skip
    assert _state(out, "finish", "success"), out
    assert "weight rules: upstream" in out
    assert "AirflowDeprecationWarning" not in out


def test_bash_sensor_fails_on_an_exit_code_that_is_not_the_retry_code(
    airflow_dags_test: AirflowDagTest,
) -> None:
    result = airflow_dags_test("names_modern_modules.py", "names_bash_sensor_fails")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert _state(out, "broken_check", "failed"), out
    assert "bash command exited with code 3 (only 2 means 'not yet')" in out


def test_subdag_operator_is_refused_pointing_to_task_groups(
    airflow_dags_test: AirflowDagTest,
) -> None:
    result = airflow_dags_test("names_subdag.py", "names_subdag")
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "names_subdag.py:12: DagDefinitionError: task 'section': SubDagOperator is not " in out
    assert "put the sub-DAG's tasks in a TaskGroup" in out
