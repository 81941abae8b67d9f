"""The command line: listing, testing DAGs and tasks, JSON output, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli import cli

PIPELINE = """
from datetime import UTC, datetime
from headwater import DAG, Param, task
from headwater.operators import BashOperator

with DAG("pipeline", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily",
         params={"region": Param("eu", enum=["eu", "us"])}) as dag:
    @task
    def extract(params) -> list[int]:
        print("extracting", params["region"])
        return [1, 2, 3]

    @task
    def double(x: int) -> int:
        return 2 * x

    report = BashOperator(task_id="report", bash_command="echo report for {{ ds }}")
    double.expand(x=extract()) >> report

with DAG("failing", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as failing:
    BashOperator(task_id="boom", bash_command="echo going down; exit 2")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    (folder / "broken.py").write_text(
        "from headwater import DAG\nraise ValueError('broken dag file')\n"
    )
    return folder


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_dags_list_table_and_import_errors(folder: Path) -> None:
    code, out = invoke("dags", "list", "--folder", str(folder))
    assert code == 0
    assert "pipeline" in out and "failing" in out and "@daily" in out
    assert f"Import error {folder / 'broken.py'}:2: ValueError: broken dag file" in out


def test_dags_list_json(folder: Path) -> None:
    code, out = invoke("dags", "list", "--folder", str(folder), "--output", "json")
    assert code == 0
    data = json.loads(out)
    assert [d["dag_id"] for d in data["dags"]] == ["failing", "pipeline"]
    assert data["dags"][1]["tasks"] == 3
    assert data["import_errors"][0]["line"] == 2
    assert data["import_errors"][0]["error"] == "ValueError: broken dag file"


def test_dags_folder_comes_from_the_environment(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    code, out = invoke("dags", "list", "-o", "json")
    assert code == 0
    assert len(json.loads(out)["dags"]) == 2


def test_dags_test_success_prints_logs_and_summary(folder: Path) -> None:
    code, out = invoke(
        "dags",
        "test",
        "pipeline",
        "--folder",
        str(folder),
        "--logical-date",
        "2024-02-03",
        "--conf",
        '{"region": "us"}',
    )
    assert code == 0, out
    assert "extracting us" in out
    assert "report for 2024-02-03" in out
    assert "double[2]" in out
    assert "DAG pipeline succeeded" in out


def test_dags_test_failure_exits_1(folder: Path) -> None:
    code, out = invoke("dags", "test", "failing", "--folder", str(folder))
    assert code == 1
    assert "going down" in out
    assert "bash command failed: exit code 2" in out
    assert "DAG failing failed" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conf", "{not json"], "Invalid value for --conf: not valid JSON"),
        (["--conf", "[1]"], "Invalid value for --conf: must be a JSON object"),
        (
            ["--conf", '{"region": "mars"}'],
            "Error: param 'region': 'mars' is not one of ['eu', 'us']",
        ),
        (["--logical-date", "yesterday"], "'yesterday' is not an ISO date"),
    ],
)
def test_dags_test_bad_input_is_one_clear_line(folder: Path, args: list[str], message: str) -> None:
    code, out = invoke("dags", "test", "pipeline", "--folder", str(folder), *args)
    assert code in (1, 2)
    assert message in out
    assert "Traceback" not in out


def test_unknown_dag_is_one_clear_line(folder: Path) -> None:
    code, out = invoke("dags", "test", "nope", "--folder", str(folder))
    assert code == 1
    assert "Error: no DAG 'nope'" in out


def test_tasks_list_and_test(folder: Path) -> None:
    code, out = invoke("tasks", "list", "pipeline", "--folder", str(folder), "-o", "json")
    assert code == 0
    rows = json.loads(out)
    assert [r["task_id"] for r in rows] == ["extract", "double", "report"]
    assert rows[1]["operator"].endswith("(mapped)")
    code, out = invoke(
        "tasks", "test", "pipeline", "report", "--folder", str(folder), "-d", "2024-05-06"
    )
    assert code == 0
    assert "report for 2024-05-06" in out
    code, out = invoke("tasks", "test", "failing", "boom", "--folder", str(folder))
    assert code == 1
    code, out = invoke("tasks", "test", "pipeline", "nope", "--folder", str(folder))
    assert code == 1
    assert "DAG 'pipeline' has no task 'nope'" in out


def test_config_show_reports_sources(monkeypatch, headwater_home: Path) -> None:
    headwater_home.mkdir(parents=True, exist_ok=True)
    (headwater_home / "headwater.toml").write_text("[xcom]\nmax_size_bytes = 2048\n")
    monkeypatch.setenv("HEADWATER__CORE__LOAD_EXAMPLES", "true")
    code, out = invoke("config", "show", "-o", "json")
    assert code == 0
    rows = {r["setting"]: r for r in json.loads(out)}
    assert rows["xcom.max_size_bytes"]["value"] == 2048
    assert rows["xcom.max_size_bytes"]["source"].endswith("headwater.toml")
    assert rows["core.load_examples"] == {
        "setting": "core.load_examples",
        "value": True,
        "source": "env HEADWATER__CORE__LOAD_EXAMPLES",
    }


def test_bad_setting_is_one_clear_line(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__MAX_SIZE_BYTES", "lots")
    code, out = invoke("config", "show")
    assert code == 1
    assert "HEADWATER__XCOM__MAX_SIZE_BYTES: expected int, got 'lots'" in out


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["dags"],
        ["dags", "list"],
        ["dags", "test"],
        ["tasks"],
        ["tasks", "list"],
        ["tasks", "test"],
        ["config", "show"],
    ],
)
def test_every_command_explains_itself(args: list[str]) -> None:
    code, out = invoke(*args, "--help")
    assert code == 0
    assert "Usage: headwater" in out
    assert len(out.splitlines()) > 4


def test_console_script_runs_as_a_process(folder: Path) -> None:
    script = Path(sys.executable).parent / "headwater"
    done = subprocess.run(
        [str(script), "dags", "test", "failing", "--folder", str(folder), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "DAG failing failed" in done.stdout
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert "headwater, version 0.1.0" in version.stdout
