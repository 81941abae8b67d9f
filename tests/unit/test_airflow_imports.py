"""Airflow DAG files, unchanged, under ``[core] airflow_compat``: their ``airflow`` imports
(Airflow 2's modules and Airflow 3's ``airflow.sdk``) are headwater's objects, in a real
``headwater dags test`` process; without the setting such files are not scanned; a module
headwater does not provide is refused naming it; a real Airflow is never shadowed."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.airflow_style.conftest import airflow_headwater

from headwater.airflow_compat.helpers import (
    AirflowDeprecationWarning,
    airflow_deprecations_silenced,
)
from headwater.loading.airflow_imports import AirflowNamesFinder, turn_on_for_airflow_folder
from headwater.loading.airflow_names import MODULES
from headwater.operators import BashOperator
from headwater.settings import load_settings

AIRFLOW_2 = """
from datetime import datetime, timedelta, timezone

from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.trigger_rule import TriggerRule

def greet(**context):
    from airflow.operators.python import get_current_context  # imported as the task runs
    return f"hello {get_current_context()['ti'].task_id}"

with DAG("classic", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule=None) as dag:
    start = BashOperator(task_id="start", bash_command="echo started")
    hello = PythonOperator(task_id="hello", python_callable=greet,
                           retry_delay=timedelta(seconds=1))

    @task
    def double(x: int) -> int:
        return 2 * x

    end = EmptyOperator(task_id="end", trigger_rule=TriggerRule.ALL_DONE)
    start >> hello >> double(21) >> end
"""

AIRFLOW_3 = """
from datetime import datetime, timezone

from airflow.sdk import DAG, chain, dag, task

@dag(start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule=None)
def modern():
    @task
    def one() -> int:
        return 1

    @task
    def plus(x: int) -> int:
        return x + 1

    plus(one())

modern()
"""


def _headwater(
    tmp_path: Path, *args: str, compat: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return airflow_headwater(tmp_path / "home", *args, compat=compat, **env)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "dags"
    made.mkdir()
    (made / "classic.py").write_text(textwrap.dedent(AIRFLOW_2))
    (made / "modern.py").write_text(textwrap.dedent(AIRFLOW_3))
    return made


@pytest.mark.parametrize(
    ("dag_id", "tasks"),
    [("classic", ["double", "end", "hello", "start"]), ("modern", ["one", "plus"])],
)
def test_an_airflow_dag_file_runs_unchanged(
    tmp_path: Path, folder: Path, dag_id: str, tasks: list[str]
) -> None:
    result = _headwater(tmp_path, "dags", "test", dag_id, "--folder", str(folder), "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout
    assert f"DAG {dag_id} succeeded" in summary, summary
    for task_id in tasks:  # the summary table's row of each task
        assert re.search(rf"\b{task_id}\b\W+success\b", summary), (task_id, summary)


def test_without_the_setting_airflow_files_are_not_scanned(tmp_path: Path, folder: Path) -> None:
    listed = _headwater(tmp_path, "dags", "list", "--folder", str(folder), "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert {d["dag_id"] for d in json.loads(listed.stdout)["dags"]} == {"classic", "modern"}
    off = _headwater(tmp_path, "dags", "list", "--folder", str(folder), "-o", "json", compat=False)
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout) == {"dags": [], "import_errors": []}
    said = _headwater(tmp_path, "dags", "list", "--folder", str(folder), compat=False).stdout
    assert "No DAGs found." in said
    assert "2 file(s) look like Airflow DAG files" in said
    assert "set core.airflow_compat = true" in said


def test_a_module_headwater_does_not_provide_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "cloud.py").write_text(
        "from airflow import DAG\n"
        "from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator\n"
    )
    result = _headwater(tmp_path, "dags", "list", "--folder", str(folder))
    assert "cloud.py" in result.stdout + result.stderr
    assert (
        "No module named 'airflow.providers.amazon': headwater's Airflow compatibility does "
        "not provide it" in result.stdout + result.stderr
    )


def _list_with_site_packages(tmp_path: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    """``dags list --folder FOLDER -o json`` with ``tmp_path/site`` on the Python path."""
    site = str(tmp_path / "site")
    return _headwater(
        tmp_path, "dags", "list", "--folder", str(folder), "-o", "json", PYTHONPATH=site
    )


def test_a_real_airflow_in_the_environment_is_left_alone(tmp_path: Path) -> None:
    real = tmp_path / "site" / "airflow"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("REAL = True\n")
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "uses_real.py").write_text(
        "import airflow\n"
        "from headwater import DAG\n"
        "from datetime import datetime, UTC\n"
        "assert airflow.REAL\n"
        "DAG('real_airflow_seen', start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None)\n"
    )
    result = _list_with_site_packages(tmp_path, folder)
    assert result.returncode == 0, result.stderr
    assert [d["dag_id"] for d in json.loads(result.stdout)["dags"]] == ["real_airflow_seen"]
    assert "A real Airflow is installed in this environment" in result.stderr


def test_a_folder_named_airflow_is_no_airflow_installation(tmp_path: Path) -> None:
    # Airflow's examples unpacked into the working folder: airflow/example_dags/, no
    # __init__.py. `import airflow` would find a namespace package; it is not an Airflow.
    (tmp_path / "site" / "airflow" / "example_dags").mkdir(parents=True)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "classic.py").write_text(AIRFLOW_2)
    result = _list_with_site_packages(tmp_path, folder)
    assert result.returncode == 0, result.stderr
    assert [d["dag_id"] for d in json.loads(result.stdout)["dags"]] == ["classic"]
    assert "A real Airflow is installed" not in result.stderr


def test_names_are_headwaters_objects_and_unknown_ones_are_named() -> None:
    finder = AirflowNamesFinder()
    spec = finder.find_spec("airflow.operators.bash")
    assert spec is not None and spec.loader is finder
    module = type(sys)("airflow.operators.bash")
    finder.exec_module(module)
    assert module.BashOperator is BashOperator
    with pytest.raises(AttributeError, match="has no attribute 'SSHOperator' in headwater's"):
        module.SSHOperator  # noqa: B018
    assert finder.find_spec("airflow.providers") is not None  # a package above a known one
    with pytest.raises(ModuleNotFoundError, match=r"airflow\.contrib"):
        finder.find_spec("airflow.contrib")
    assert finder.find_spec("airflowish") is None


def test_standalone_turns_it_on_for_a_folder_of_airflow_files(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HEADWATER__CORE__AIRFLOW_COMPAT", raising=False)
    headwater_only = tmp_path / "own"
    headwater_only.mkdir()
    (headwater_only / "mine.py").write_text("from headwater import DAG  # a dag\n")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(headwater_only))
    assert turn_on_for_airflow_folder(load_settings()) == []
    assert "HEADWATER__CORE__AIRFLOW_COMPAT" not in os.environ

    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    found = turn_on_for_airflow_folder(load_settings())
    assert [path.name for path in found] == ["classic.py", "modern.py"]
    assert load_settings().core.airflow_compat is True  # and the processes it starts
    assert turn_on_for_airflow_folder(load_settings()) == []  # on already: nothing to do


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_every_name_of_the_table_is_a_real_headwater_object(module_name: str) -> None:
    finder = AirflowNamesFinder()
    assert finder.find_spec(module_name) is not None
    module = type(sys)(module_name)
    finder.exec_module(module)
    for name, target in MODULES[module_name].items():
        where, _, attribute = target.partition(":")
        if not attribute:  # a module: another stand-in of the table (imported through it)
            assert where in MODULES, target
            continue
        with airflow_deprecations_silenced():  # the deprecated names are tested elsewhere
            assert getattr(module, name) is getattr(importlib.import_module(where), attribute)
        assert not attribute.startswith("_"), target  # the public API only


def test_names_of_a_deprecated_module_warn_each_time_naming_the_replacement() -> None:
    finder = AirflowNamesFinder()
    module = type(sys)("airflow.operators.bash_operator")
    finder.exec_module(module)
    for _ in range(2):  # not kept on the module: every importing file is told
        with pytest.warns(AirflowDeprecationWarning, match="import BashOperator from airflow"):
            assert module.BashOperator is BashOperator


def test_the_migration_guide_lists_every_module_and_name_of_the_table() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "migrating-from-airflow.md").read_text()
    rows = [line for line in guide.splitlines() if line.startswith("| `airflow")]
    listed = {
        module: row
        for row in rows
        # the first cell, less its "(deprecated: use `airflow...`)" notes
        for module in re.findall(r"`(airflow[\w.]*)`", re.sub(r"\(.*?\)", "", row.split(" | ")[0]))
    }
    assert sorted(set(MODULES) - set(listed)) == []
    assert sorted(set(listed) - set(MODULES)) == []
    for module, names in MODULES.items():
        cell = listed[module].split(" | ")[1]
        assert sorted(names) == sorted(re.findall(r"`(\w+)`", cell)), module
