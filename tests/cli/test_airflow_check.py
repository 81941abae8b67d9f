"""``headwater airflow check``: each file of a folder of Airflow DAG files loads or is shown
with the line and the construct that stops it; with --run, each DAG's run is reported.

The files that load are Airflow-style files of the suite (tests/airflow_style/dags/check_*);
the broken ones are written here (a syntax error cannot live in the repository as a .py
file). Every command is a real ``headwater`` process, as a user runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.services.airflow_check import explain_error

AIRFLOW_DAGS = Path(__file__).parents[1] / "airflow_style" / "dags"

UNKNOWN_PROVIDER = '''\
"""Imports a provider headwater does not have."""
from datetime import datetime, timezone

from airflow import DAG
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

with DAG("uses_s3", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule=None):
    pass
'''

UNKNOWN_ARGUMENT = '''\
"""Gives BashOperator an argument it does not take."""
from datetime import datetime, timezone

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("bad_argument", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule=None):
    BashOperator(
        task_id="hello",
        bash_command="echo hello",
        foo=1,
    )
'''

SYNTAX_ERROR = '''\
"""An Airflow DAG file with a syntax error."""
from airflow import DAG

with DAG("broken", schedule=None) as dag
    pass
'''

DEPRECATED_NAMES = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.dummy import DummyOperator
from airflow.operators.bash_operator import BashOperator

with DAG("old_style", start_date=datetime(2024, 1, 1), schedule_interval="@daily") as dag:
    DummyOperator(task_id="start") >> BashOperator(task_id="hello", bash_command="echo hi")
"""

RAISES = '''\
"""Raises while imported, after reading a setting Airflow had."""
from airflow import DAG

limits = {"rows": 10}
DAG_ROWS = limits["max_rows"]
'''


def _run(
    *args: str, home: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    environ |= {"HEADWATER_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "headwater", "airflow", "check", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A DAG folder: two files that load (one whose run fails), four that do not, and a
    Python file that is no DAG file (it is not checked)."""
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("check_loads.py", "check_run_fails.py"):
        shutil.copy(AIRFLOW_DAGS / name, dags / name)
    (dags / "unknown_provider.py").write_text(UNKNOWN_PROVIDER)
    (dags / "unknown_argument.py").write_text(UNKNOWN_ARGUMENT)
    (dags / "syntax_error.py").write_text(SYNTAX_ERROR)
    (dags / "raises.py").write_text(RAISES)
    (dags / "helpers.py").write_text("def rows():\n    return 1\n")
    return dags


def _files(data: dict[str, object]) -> dict[str, dict[str, object]]:
    files = data["files"]
    assert isinstance(files, list)
    return {Path(f["file"]).name: f for f in files}


def test_json_names_each_file_its_line_and_what_stops_it(folder: Path, tmp_path: Path) -> None:
    done = _run(str(folder), "--output", "json", home=tmp_path / "home")

    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    files = _files(data)
    assert sorted(files) == [
        "check_loads.py",
        "check_run_fails.py",
        "raises.py",
        "syntax_error.py",
        "unknown_argument.py",
        "unknown_provider.py",
    ]
    assert data["totals"] == {"files": 6, "files_loading": 2, "files_with_notes": 0}
    assert data["summary"] == "2 of 6 files load"
    assert data["ok"] is False
    assert files["check_loads.py"]["loads"] is True
    assert files["check_loads.py"]["dags"] == ["check_loads"]
    assert files["check_loads.py"]["problems"] == []
    assert files["check_loads.py"]["notes"] == []

    (provider,) = files["unknown_provider.py"]["problems"]
    assert provider["kind"] == "airflow_import"
    assert provider["line"] == 5
    assert provider["source"] == "from airflow.providers.amazon.aws.hooks.s3 import S3Hook"
    assert provider["reason"] == (
        "imports airflow.providers.amazon.aws.hooks.s3.S3Hook, which headwater does not provide"
    )

    (argument,) = files["unknown_argument.py"]["problems"]
    assert argument["kind"] == "unknown_argument"
    assert argument["reason"] == "BashOperator: unknown argument 'foo'"
    assert argument["line"] == 8
    assert argument["source"] == "BashOperator("

    (syntax,) = files["syntax_error.py"]["problems"]
    assert syntax["kind"] == "syntax_error"
    assert syntax["line"] == 4
    assert syntax["source"] == 'with DAG("broken", schedule=None) as dag'
    assert syntax["reason"].startswith("syntax error: ")

    (raised,) = files["raises.py"]["problems"]
    assert raised["kind"] == "exception"
    assert raised["line"] == 5
    assert raised["reason"] == "KeyError: 'max_rows' (raised while importing the file)"
    assert "runs" in files["raises.py"] and files["raises.py"]["runs"] == []


def test_names_airflow_deprecated_are_notes_at_their_lines(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "old_style.py").write_text(DEPRECATED_NAMES)
    shutil.copy(AIRFLOW_DAGS / "check_loads.py", dags / "check_loads.py")

    done = _run(str(dags), "--output", "json", home=tmp_path / "home")

    assert done.returncode == 0, done.stdout + done.stderr  # notes never fail the check
    data = json.loads(done.stdout)
    assert data["totals"] == {"files": 2, "files_loading": 2, "files_with_notes": 1}
    assert data["summary"] == (
        "2 of 2 files load; 1 file uses names Airflow deprecated (see the notes)"
    )
    files = _files(data)
    assert files["check_loads.py"]["notes"] == []
    old = files["old_style.py"]
    assert old["loads"] is True and old["problems"] == []
    assert [(n["line"], n["source"]) for n in old["notes"]] == [
        (4, "from airflow.operators.bash_operator import BashOperator"),
        (
            6,
            'with DAG("old_style", start_date=datetime(2024, 1, 1), schedule_interval="@daily") as dag:',
        ),
        (
            7,
            'DummyOperator(task_id="start") >> BashOperator(task_id="hello", bash_command="echo hi")',
        ),
    ]
    messages = [n["message"] for n in old["notes"]]
    assert "import BashOperator from airflow.operators.bash instead" in messages[0]
    assert "schedule_interval is deprecated" in messages[1] and "use schedule" in messages[1]
    assert "use EmptyOperator" in messages[2]

    table = _run(str(dags), home=tmp_path / "home", env={"COLUMNS": "250"})
    assert table.returncode == 0, table.stdout + table.stderr
    notes = [line for line in table.stdout.splitlines() if "│ note " in line]
    assert len(notes) == 3
    assert "│ 6 " in notes[1] and "schedule_interval is deprecated" in notes[1]


def test_table_shows_rows_and_totals(folder: Path, tmp_path: Path) -> None:
    done = _run(str(folder), home=tmp_path / "home")

    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "2 of 6 files load" in out
    provider = next(line for line in out.splitlines() if "unknown_provider.py" in line)
    assert "fails" in provider and "│ 5 " in provider
    assert "airflow.providers.amazon.aws.hooks.s3.S3Hook" in provider
    loads = next(line for line in out.splitlines() if "check_loads.py" in line)
    assert "loads" in loads and "check_loads" in loads
    assert "helpers.py" not in out


def test_a_relative_folder_is_checked_and_shown_relative(folder: Path, tmp_path: Path) -> None:
    done = _run("dags", home=tmp_path / "home", cwd=tmp_path, env={"COLUMNS": "200"})

    assert "2 of 6 files load" in done.stdout, done.stdout + done.stderr
    loads = next(line for line in done.stdout.splitlines() if "check_loads.py" in line)
    assert loads.startswith("│ check_loads.py ") and "loads" in loads


def test_run_reports_each_dag_and_the_first_failed_task(folder: Path, tmp_path: Path) -> None:
    for name in ("unknown_provider.py", "unknown_argument.py", "syntax_error.py", "raises.py"):
        (folder / name).unlink()

    done = _run(str(folder), "--run", "--output", "json", home=tmp_path / "home")

    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    files = _files(data)
    assert data["totals"] == {
        "files": 2,
        "files_loading": 2,
        "files_with_notes": 0,
        "dags_run": 2,
        "dags_succeeded": 1,
    }
    assert data["summary"] == "2 of 2 files load; 1 of 2 DAGs ran to success"
    (good,) = files["check_loads.py"]["runs"]
    assert (good["dag_id"], good["state"], good["failed_task"]) == ("check_loads", "success", None)
    (bad,) = files["check_run_fails.py"]["runs"]
    assert bad["state"] == "failed"
    assert bad["failed_task"] == "validate"
    assert "ValueError: no rows in staging.orders for the day" in bad["error"]


def test_every_file_loading_exits_0(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(AIRFLOW_DAGS / "check_loads.py", dags / "check_loads.py")

    done = _run(str(dags), "--run", home=tmp_path / "home")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 files load; 1 of 1 DAGs ran to success" in done.stdout
    assert "succeeded" in done.stdout


def test_compat_is_on_for_the_check_whatever_the_setting(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(AIRFLOW_DAGS / "check_loads.py", dags / "check_loads.py")

    done = _run(
        str(dags),
        "-o",
        "json",
        home=tmp_path / "home",
        env={"HEADWATER__CORE__AIRFLOW_COMPAT": "false"},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["totals"] == {
        "files": 1,
        "files_loading": 1,
        "files_with_notes": 0,
    }


def test_a_folder_without_dag_files_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.py").write_text("print('no DAG here')\n")

    done = _run(str(empty), home=tmp_path / "home")

    assert done.returncode == 1
    assert "No DAG files found in" in done.stdout
    assert '"dag" and "airflow"' in done.stdout


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = _run(str(tmp_path / "nowhere"), home=tmp_path / "home")

    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_help_has_an_example(tmp_path: Path) -> None:
    done = _run("--help", home=tmp_path / "home")

    assert done.returncode == 0
    assert "headwater airflow check ~/airflow/dags" in done.stdout


@pytest.mark.parametrize(
    ("message", "kind", "reason"),
    [
        (
            "ModuleNotFoundError: No module named 'kubernetes'",
            "missing_module",
            "imports kubernetes, which is not installed here",
        ),
        (
            "ImportError: cannot import name 'S3Hook' from 'airflow.hooks' (unknown location)",
            "airflow_import",
            "imports airflow.hooks.S3Hook, which headwater does not provide",
        ),
        (
            "DagDefinitionError: DAG 'd': start_date 2024-01-01T00:00:00 has no timezone; use "
            "e.g. datetime(2024, 1, 1, tzinfo=timezone.utc)",
            "naive_date",
            "naive start_date 2024-01-01T00:00:00 (no timezone)",
        ),
        (
            "DagDefinitionError: DAG 'd': unknown argument 'dag_display_name'",
            "unknown_argument",
            "DAG: unknown argument 'dag_display_name'",
        ),
        (
            "DagDefinitionError: task 't' (_DecoratedPythonOperator): unknown argument 'params' "
            "(did you mean 'op_args'?)",
            "unknown_argument",
            "@task: unknown argument 'params' (did you mean 'op_args'?)",
        ),
        (
            "ModuleNotFoundError: No module named 'airflow.example_dags': headwater's Airflow "
            "compatibility does not provide it",
            "airflow_import",
            "imports airflow.example_dags, which headwater does not provide (Airflow's own "
            "example package: headwater finds it only as the folder airflow/example_dags, with "
            "its __init__.py, unpacked from Airflow's wheel; elsewhere copy the module next to "
            "the DAG file and import it from there)",
        ),
        (
            "TimeoutError: importing the file took longer than 30 s and was stopped",
            "timeout",
            "importing the file took longer than 30 s and was stopped",
        ),
    ],
)
def test_explain_error(message: str, kind: str, reason: str, tmp_path: Path) -> None:
    problem = explain_error(tmp_path / "missing.py", None, message)

    assert (problem.kind, problem.reason, problem.source) == (kind, reason, None)
