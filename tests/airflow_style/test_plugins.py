"""Airflow plugins beside DAG files (``airflow.plugins_manager.AirflowPlugin``), run unmodified:
a plugin's timetable schedules the DAG (in ``dags test``, and in processes that never import
the DAG file: the scheduler's planning), its macros render, what headwater does not use is
said once; and Airflow's own example DAGs, unpacked from its wheel, import their helpers from
``airflow.example_dags``."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest
from tests.airflow_style.conftest import DAGS, AirflowDagTest, airflow_headwater

from headwater.airflow_compat.plugins import AirflowPlugin, plugin_macros
from headwater.loading.airflow_imports import AirflowNamesFinder


def test_a_plugins_timetable_and_macro_in_dags_test(airflow_dags_test: AirflowDagTest) -> None:
    # A Monday: the manual run's interval is the weekday before it, the Friday.
    done = airflow_dags_test("plugins_workweek.py", "plugins_workweek", "-d", "2024-06-03T12:00Z")
    assert done.returncode == 0, done.stdout + done.stderr
    said = "interval 2024-05-31T00:00:00+00:00 to 2024-06-01T00:00:00+00:00, a Monday"
    assert f"{{INFO}} {said}" in done.stdout
    output = done.stdout + done.stderr
    assert output.count("Airflow plugin workweek (WorkweekPlugin): headwater does not use its") == 1
    assert "does not use its listeners\n" in output


def test_the_scheduler_plans_runs_with_a_plugins_timetable_without_the_dag_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "plugins_workweek.py", folder)
    shutil.copytree(DAGS / "airflow_plugins", folder / "airflow_plugins")
    env = {"HEADWATER_DAGS_FOLDER": str(folder)}
    for args in (("db", "migrate"), ("dag-processor", "--once", "--quiet")):
        done = airflow_headwater(tmp_path / "home", *args, **env)
        assert done.returncode == 0, done.stdout + done.stderr
    # A fresh process that reads the stored DAG imports the plugin's timetable by name (the
    # plugin module imports airflow names: they are answered there too).
    args = ("dags", "next-execution", "plugins_workweek", "--num-executions", "6", "-o", "json")
    done = airflow_headwater(tmp_path / "home", *args, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = json.loads(done.stdout)["runs"]
    starts = [date.fromisoformat(run["data_interval_start"][:10]) for run in runs]
    assert len(starts) == 6
    assert all(day.weekday() < 5 for day in starts), starts
    # Consecutive weekdays: Friday's next run is on Monday.
    for before, after in itertools.pairwise(starts):
        assert (after - before).days == (3 if before.weekday() == 4 else 1), starts
    # Where the names are not answered, the error says which setting answers them.
    done = airflow_headwater(tmp_path / "home", *args, compat=False, **env)
    assert done.returncode != 0
    assert "No module named 'airflow'" in done.stderr
    assert "(an Airflow module: turn on [core] airflow_compat where this runs)" in done.stderr


def test_a_plugin_needs_a_name_and_offers_its_macros(caplog: pytest.LogCaptureFixture) -> None:
    def shout(text: str) -> str:
        return text.upper()

    class Loud(AirflowPlugin):
        name = "loud_test_plugin"
        macros = [shout]

    namespace = plugin_macros("loud_test_plugin")
    assert namespace is not None and namespace.shout("hi") == "HI"
    assert plugin_macros("no_such_plugin") is None
    with pytest.raises(ValueError, match="Airflow plugin Nameless: name must be set"):

        class Nameless(AirflowPlugin):
            macros = [shout]

    caplog.set_level(logging.WARNING, logger="headwater.airflow_compat.plugins")
    for _ in range(2):  # a DAG file imported again defines its plugin again: said once

        class Viewing(AirflowPlugin):
            name = "viewing_test_plugin"
            flask_blueprints = ["a blueprint"]
            fastapi_apps = [{"name": "app"}]

    assert [r.getMessage() for r in caplog.records] == [
        "Airflow plugin viewing_test_plugin (Viewing): headwater does not use its "
        "flask_blueprints, fastapi_apps"
    ]


def _airflow_examples(root: Path, *, package: bool = True) -> Path:
    """Airflow's example folder as its wheel unpacks it under ``root``: the package's
    ``__init__.py``, a plugins package with a helper, and an example DAG that imports it."""
    examples = root / "airflow" / "example_dags"
    (examples / "plugins").mkdir(parents=True)
    if package:
        (examples / "__init__.py").write_text("")
    (examples / "plugins" / "__init__.py").write_text("")
    (examples / "plugins" / "greeting.py").write_text("GREETING = 'hello from the plugins'\n")
    (examples / "example_greeting.py").write_text(
        "import pendulum\n"
        "from airflow.example_dags.plugins.greeting import GREETING\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "from airflow.sdk import DAG\n"
        "with DAG('example_greeting', start_date=pendulum.datetime(2021, 1, 1, tz='UTC'),\n"
        "         schedule=None):\n"
        "    BashOperator(task_id='say', bash_command=f'echo {GREETING}')\n"
    )
    return examples


def test_airflows_example_dags_import_their_helpers_from_their_package(tmp_path: Path) -> None:
    examples = _airflow_examples(tmp_path / "unpacked")
    done = airflow_headwater(
        tmp_path / "home",
        "dags",
        "test",
        "example_greeting",
        "--folder",
        str(examples / "example_greeting.py"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "{INFO} hello from the plugins" in done.stdout


def test_the_example_package_is_found_only_where_airflows_examples_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    finder = AirflowNamesFinder()
    examples = _airflow_examples(tmp_path / "unpacked")
    # A folder that holds it, it, or a folder in it (a helper's, imported as a DAG file).
    for entry in (tmp_path / "unpacked", examples, examples / "plugins"):
        monkeypatch.setattr(sys, "path", [str(entry)])
        spec = finder.find_spec("airflow.example_dags")
        assert spec is not None and spec.origin == str(examples / "__init__.py")
        assert spec.submodule_search_locations == [str(examples)]
        assert finder.find_spec("airflow.example_dags.plugins") is None  # Python finds it
    # A folder without the package's __init__.py is not Airflow's examples.
    elsewhere = _airflow_examples(tmp_path / "other", package=False)
    monkeypatch.setattr(sys, "path", [str(elsewhere.parent.parent)])
    with pytest.raises(ModuleNotFoundError, match=r"airflow\.example_dags"):
        finder.find_spec("airflow.example_dags")
