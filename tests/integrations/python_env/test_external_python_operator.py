"""ExternalPythonOperator and @task.external_python: the same protocol as the virtualenv
operator, with an interpreter that already exists (here: a venv made by the test, and this
process's own interpreter)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG, task
from headwater.exceptions import DagDefinitionError
from headwater.operators import ExternalPythonOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def other_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a bare venv (no pip: quick) made for these tests."""
    folder = tmp_path_factory.mktemp("external") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder / "bin" / "python"


def report(label: str) -> dict[str, str]:
    import sys

    print(f"label is {label}")
    return {"label": label, "prefix": sys.prefix}


def test_the_function_runs_with_the_given_interpreter(
    other_python: Path, headwater_home: Path
) -> None:
    with DAG("external", start_date=START, schedule=None) as dag:
        ExternalPythonOperator(
            task_id="report",
            python=str(other_python),
            python_callable=report,
            op_args=["{{ ds }}"],
        )
    result = run_dag(dag, logical_date=START)

    assert result.xcom("report") == {
        "label": "2024-01-01",
        "prefix": str(other_python.parent.parent),
    }
    assert "label is 2024-01-01" in result.log("report")
    assert not (headwater_home / "venvs").exists()  # nothing created


def test_the_interpreter_path_is_templated(other_python: Path) -> None:
    with DAG("external", start_date=START, schedule=None, params={"py": str(other_python)}) as dag:
        ExternalPythonOperator(
            task_id="report", python="{{ params.py }}", python_callable=report, op_args=["x"]
        )
    result = run_dag(dag, logical_date=START)

    assert result.xcom("report")["prefix"] == str(other_python.parent.parent)


def test_task_external_python_passes_values_on() -> None:
    @task.external_python(python=sys.executable)
    def double(values: list[int]) -> list[int]:
        return [v * 2 for v in values]

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    with DAG("external", start_date=START, schedule=None) as dag:
        total(double([1, 2, 3]))
    result = run_dag(dag, logical_date=START)

    assert result.xcom("double") == [2, 4, 6]
    assert result.xcom("total") == 12
    assert dag.get_task("double").custom_operator_name == "@task.external_python"


def test_a_missing_interpreter_fails_the_task_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "python"
    with DAG("external", start_date=START, schedule=None) as dag:
        ExternalPythonOperator(
            task_id="report", python=str(missing), python_callable=report, op_args=["x"]
        )
    result = run_dag(dag, logical_date=START)

    assert result.state_of("report") == "failed"
    assert f"python '{missing}' does not exist or is not an executable file" in (
        result.ti("report").error or ""
    )


def test_an_interpreter_that_dies_is_reported_with_its_exit_code(other_python: Path) -> None:
    def leave() -> Any:
        import os

        os._exit(7)

    with DAG("external", start_date=START, schedule=None) as dag:
        ExternalPythonOperator(task_id="leave", python=str(other_python), python_callable=leave)
    result = run_dag(dag, logical_date=START)

    assert f"{other_python} exited with code 7 before leave() returned" in (
        result.ti("leave").error or ""
    )


def test_an_empty_python_is_refused_when_defined() -> None:
    match = "python must be the path of an interpreter"
    with (
        DAG("external", start_date=START, schedule=None),
        pytest.raises(DagDefinitionError, match=match),
    ):
        ExternalPythonOperator(task_id="x", python=" ", python_callable=report)
