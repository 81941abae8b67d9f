"""PythonVirtualenvOperator and @task.virtualenv: the function runs in a cached virtualenv
(created once per requirement set, reused after), arguments and result cross as JSON, its
output and traceback reach the task log. Most tests use no requirement, so nothing is
downloaded; one installs a real package from the configured index."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater import DAG, task
from headwater.exceptions import DagDefinitionError
from headwater.operators import PythonVirtualenvOperator
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)


def _environments(home: Path) -> list[Path]:
    venvs = home / "venvs"
    return sorted(p for p in venvs.iterdir() if p.is_dir()) if venvs.exists() else []


def where_am_i(a: int, b: int) -> dict[str, Any]:
    import sys

    print(f"adding {a} and {b}")
    return {"sum": a + b, "prefix": sys.prefix, "base": sys.base_prefix}


def test_the_function_runs_in_a_virtualenv_under_home_and_the_result_is_its_xcom(
    headwater_home: Path,
) -> None:
    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(
            task_id="add", python_callable=where_am_i, op_args=[2], op_kwargs={"b": 40}
        )
    result = run_dag(dag, logical_date=START)

    assert result.state_of("add") == "success"
    [env] = _environments(headwater_home)
    value = result.xcom("add")
    assert value["sum"] == 42
    assert value["prefix"] == str(env)
    assert (env / ".headwater-ready").is_file()
    log = result.log("add")
    assert f"Creating a virtual environment in {env}" in log
    assert "adding 2 and 40" in log


def test_the_cached_environment_is_reused_and_other_options_get_another(
    headwater_home: Path,
) -> None:
    def dag_with(task_id: str, **options: Any) -> DAG:
        with DAG("venv", start_date=START, schedule=None) as dag:
            PythonVirtualenvOperator(
                task_id=task_id, python_callable=where_am_i, op_args=[1, 2], **options
            )
        return dag

    first = run_dag(dag_with("first"), logical_date=START)
    [env] = _environments(headwater_home)
    again = run_dag(dag_with("again"), logical_date=START)

    assert again.xcom("again")["prefix"] == first.xcom("first")["prefix"] == str(env)
    assert "Using the cached virtual environment" in again.log("again")
    assert "Creating" not in again.log("again")
    assert _environments(headwater_home) == [env]

    run_dag(dag_with("other", system_site_packages=True), logical_date=START)
    assert len(_environments(headwater_home)) == 2


def test_venv_cache_path_puts_environments_elsewhere(headwater_home: Path, tmp_path: Path) -> None:
    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(
            task_id="add",
            python_callable=where_am_i,
            op_args=[1, 1],
            venv_cache_path=tmp_path / "cache",
        )
    result = run_dag(dag, logical_date=START)

    assert Path(result.xcom("add")["prefix"]).parent == tmp_path / "cache"
    assert _environments(headwater_home) == []


def test_the_environment_does_not_see_this_process_packages(headwater_home: Path) -> None:
    def uses_pandas() -> str:
        import pandas

        return str(pandas.__version__)

    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(task_id="isolated", python_callable=uses_pandas)
    result = run_dag(dag, logical_date=START)

    assert result.state_of("isolated") == "failed"
    assert "uses_pandas() raised ModuleNotFoundError: No module named 'pandas'" in (
        result.ti("isolated").error or ""
    )
    log = result.log("isolated")
    assert f'File "{__file__}"' in log  # the traceback points into this file
    assert "import pandas" in log


def test_task_virtualenv_passes_values_between_tasks(headwater_home: Path) -> None:
    @task
    def numbers() -> list[int]:
        return [3, 4, 5]

    @task.virtualenv(requirements=[])
    def squares(values: list[int], scale: int = 1) -> list[int]:
        return [v * v * scale for v in values]

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    with DAG("venv", start_date=START, schedule=None) as dag:
        total(squares(numbers(), scale=2))
    result = run_dag(dag, logical_date=START)

    assert result.task_states == {"numbers": "success", "squares": "success", "total": "success"}
    assert result.xcom("squares") == [18, 32, 50]
    assert result.xcom("total") == 100
    assert dag.get_task("squares").custom_operator_name == "@task.virtualenv"


def test_a_dict_result_with_multiple_outputs_becomes_several_xcoms(headwater_home: Path) -> None:
    @task.virtualenv(multiple_outputs=True)
    def split() -> dict[str, int]:
        return {"low": 1, "high": 9}

    with DAG("venv", start_date=START, schedule=None) as dag:
        split()
    result = run_dag(dag, logical_date=START)

    assert (result.xcom("split", key="low"), result.xcom("split", key="high")) == (1, 9)


def test_templated_arguments_and_json_context_values_arrive(headwater_home: Path) -> None:
    def describe(
        day: str, templates_dict: dict[str, str], ds: str, run_id: str, params: Any
    ) -> str:
        return f"{day}|{templates_dict['table']}|{ds}|{run_id}|{params['region']}"

    with DAG("venv", start_date=START, schedule=None, params={"region": "eu"}) as dag:
        PythonVirtualenvOperator(
            task_id="describe",
            python_callable=describe,
            op_kwargs={"day": "{{ ds_nodash }}"},
            templates_dict={"table": "sales_{{ params.region }}"},
        )
    result = run_dag(dag, logical_date=START, run_id="r1")

    assert result.xcom("describe") == "20240101|sales_eu|2024-01-01|r1|eu"


def test_templates_dict_reaches_only_a_function_that_asks_for_it(headwater_home: Path) -> None:
    def ignores_it() -> str:
        return "fine"

    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(
            task_id="ignores", python_callable=ignores_it, templates_dict={"a": "{{ ds }}"}
        )
    result = run_dag(dag, logical_date=START)

    assert result.xcom("ignores") == "fine"


def test_a_live_context_object_is_refused_by_name_when_defined() -> None:
    def wants_ti(ti: Any) -> None:
        return None

    def ti_with_default(ti: Any = None) -> bool:
        return ti is None

    match = "parameter 'ti' would get the context's 'ti', which cannot be passed"
    with DAG("venv", start_date=START, schedule=None):
        with pytest.raises(DagDefinitionError, match=match):
            PythonVirtualenvOperator(task_id="live", python_callable=wants_ti)
        PythonVirtualenvOperator(task_id="given", python_callable=wants_ti, op_args=[1])
        PythonVirtualenvOperator(task_id="default", python_callable=ti_with_default)


def test_a_context_value_that_is_not_json_is_refused_when_the_task_runs(
    headwater_home: Path,
) -> None:
    def wants_params(params: Any) -> Any:
        return params

    with DAG("venv", start_date=START, schedule=None, params={"since": START}) as dag:
        PythonVirtualenvOperator(task_id="params", python_callable=wants_params)
    result = run_dag(dag, logical_date=START)

    assert result.state_of("params") == "failed"
    assert "parameter 'params' would get the context's 'params', which cannot be passed" in (
        result.ti("params").error or ""
    )
    assert _environments(headwater_home) == []  # refused before any environment is made


def test_an_argument_that_is_not_json_is_named(headwater_home: Path) -> None:
    def takes(values: Any) -> int:
        return len(values)

    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(
            task_id="takes", python_callable=takes, op_kwargs={"values": {1, 2}}
        )
        PythonVirtualenvOperator(task_id="positional", python_callable=takes, op_args=[b"raw"])
    result = run_dag(dag, logical_date=START)

    assert "argument 'values' cannot be passed to another Python environment: it is not JSON" in (
        result.ti("takes").error or ""
    )
    assert "op_args[0] cannot be passed to another Python environment" in (
        result.ti("positional").error or ""
    )


def test_a_result_that_is_not_json_fails_the_task_saying_so(headwater_home: Path) -> None:
    def gives_a_set() -> Any:
        return {1, 2}

    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(task_id="gives", python_callable=gives_a_set)
    result = run_dag(dag, logical_date=START)

    assert result.state_of("gives") == "failed"
    error = result.ti("gives").error or ""
    assert "gives_a_set() returned a value that is not JSON (builtins.set:" in error


def test_an_exception_fails_the_task_with_the_remote_traceback_in_the_log(
    headwater_home: Path,
) -> None:
    def divide(a: int, b: int) -> float:
        print("about to divide")
        return a / b

    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(task_id="divide", python_callable=divide, op_args=[1, 0])
    result = run_dag(dag, logical_date=START)

    assert result.state_of("divide") == "failed"
    assert "divide() raised ZeroDivisionError: division by zero" in (
        result.ti("divide").error or ""
    )
    log = result.log("divide")
    line = divide.__code__.co_firstlineno + 2
    assert f'File "{__file__}", line {line}, in divide' in log
    assert log.index("about to divide") < log.index("ZeroDivisionError: division by zero")
    assert "runner.py" not in log  # the traceback starts in the function


def test_closures_lambdas_and_other_callables_are_refused_when_defined() -> None:
    factor = 3

    def scaled(x: int) -> int:
        return x * factor

    with DAG("venv", start_date=START, schedule=None):
        with pytest.raises(DagDefinitionError, match=r"uses variables of an enclosing .*factor"):
            PythonVirtualenvOperator(task_id="closure", python_callable=scaled)
        with pytest.raises(DagDefinitionError, match="a lambda cannot run in another Python"):
            PythonVirtualenvOperator(task_id="lambda", python_callable=lambda: 1)
        with pytest.raises(DagDefinitionError, match="must be a plain function"):
            PythonVirtualenvOperator(task_id="builtin", python_callable=print)


def test_bad_requirements_are_refused_naming_the_entry() -> None:
    with DAG("venv", start_date=START, schedule=None):
        with pytest.raises(DagDefinitionError, match=r"requirements\[1\] must be one requirement"):
            PythonVirtualenvOperator(
                task_id="a", python_callable=where_am_i, requirements=["six", ""]
            )
        with pytest.raises(DagDefinitionError, match=r"'--pre' is a pip option"):
            PythonVirtualenvOperator(
                task_id="b", python_callable=where_am_i, requirements=["--pre"]
            )
        with pytest.raises(DagDefinitionError, match="must be a list of strings"):
            PythonVirtualenvOperator(
                task_id="c",
                python_callable=where_am_i,
                requirements="six",  # type: ignore[arg-type]
            )


def test_a_python_version_without_interpreter_is_a_clear_error(headwater_home: Path) -> None:
    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(
            task_id="old", python_callable=where_am_i, op_args=[1, 2], python_version="2.9"
        )
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        PythonVirtualenvOperator(
            task_id="same", python_callable=where_am_i, op_args=[1, 2], python_version=version
        )
    result = run_dag(dag, logical_date=START)

    assert "no interpreter python2.9 on the PATH" in (result.ti("old").error or "")
    assert result.xcom("same")["sum"] == 3


@pytest.mark.slow
def test_a_failed_pip_install_is_an_error_with_pips_output_and_leaves_no_cache(
    headwater_home: Path,
) -> None:
    with DAG("venv", start_date=START, schedule=None) as dag:
        PythonVirtualenvOperator(
            task_id="offline",
            python_callable=where_am_i,
            op_args=[1, 2],
            requirements=["six==1.17.0"],
            pip_install_options=["--no-index"],  # fails here, without the network
        )
    result = run_dag(dag, logical_date=START)

    assert result.state_of("offline") == "failed"
    error = result.ti("offline").error or ""
    assert "pip install six==1.17.0 failed with exit code 1; its last output:" in error
    assert "No matching distribution found for six==1.17.0" in error
    assert _environments(headwater_home) == []


@pytest.mark.slow
def test_a_real_requirement_is_installed_once(headwater_home: Path, package_index: str) -> None:
    def six_version() -> str:
        import six

        return str(six.__version__)

    def dag_with(task_id: str) -> DAG:
        with DAG("venv", start_date=START, schedule=None) as dag:
            PythonVirtualenvOperator(
                task_id=task_id, python_callable=six_version, requirements=[package_index]
            )
        return dag

    first = run_dag(dag_with("first"), logical_date=START)
    assert first.xcom("first") == "1.17.0", first.log("first")
    [env] = _environments(headwater_home)
    marker = json.loads((env / ".headwater-ready").read_text())
    assert marker["requirements"] == [package_index]

    again = run_dag(dag_with("again"), logical_date=START)
    assert again.xcom("again") == "1.17.0"
    assert "Using the cached virtual environment" in again.log("again")
    assert _environments(headwater_home) == [env]
