"""The command line: listing, testing DAGs and tasks, JSON output, errors and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli import cli
from headwater.settings import SettingsError, load_settings

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
    monkeypatch.setenv("HEADWATER__LOGGING__LOGS_FOLDER", "/var/log/hw")
    code, out = invoke("config", "show", "-o", "json")
    assert code == 0
    rows = {r["setting"]: r for r in json.loads(out)}
    assert rows["home"]["source"] == "env HEADWATER_HOME"
    assert rows["xcom.max_size_bytes"]["value"] == 2048
    assert rows["xcom.max_size_bytes"]["source"].endswith("headwater.toml")
    assert rows["logging.logs_folder"] == {
        "setting": "logging.logs_folder",
        "value": "/var/log/hw",
        "source": "env HEADWATER__LOGGING__LOGS_FOLDER",
    }
    assert rows["core.dags_folder"]["source"] == "default"


def test_bad_setting_is_one_clear_line(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__MAX_SIZE_BYTES", "lots")
    code, out = invoke("config", "show")
    assert code == 1
    assert (
        "xcom.max_size_bytes (env HEADWATER__XCOM__MAX_SIZE_BYTES): expected an integer "
        "from 1 to 1_073_741_824, got 'lots'"
    ) in out


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


def test_dags_list_keeps_the_line_with_a_relative_folder(folder: Path, monkeypatch) -> None:
    monkeypatch.chdir(folder.parent)
    code, out = invoke("dags", "list", "--folder", folder.name, "-o", "json")
    assert code == 0
    (error,) = json.loads(out)["import_errors"]
    assert (error["file"], error["line"]) == (str(Path(folder.name, "broken.py")), 2)


TASKFLOW_KINDS = """
from headwater import DAG, task
from headwater.operators import BashOperator, PythonOperator

with DAG("kinds") as dag:
    @task
    def plain() -> list[int]:
        return [1, 2]

    @task.bash
    def shell() -> str:
        return "echo hi"

    @task.branch
    def pick() -> str:
        return "shell"

    @task.short_circuit
    def gate() -> bool:
        return True

    @task
    def each(x: int) -> int:
        return x

    @task
    def pair(x: int, y: int) -> int:
        return x + y

    numbers = plain()
    pick() >> shell()
    gate()
    PythonOperator(task_id="classic", python_callable=lambda: 1)
    BashOperator.partial(task_id="classic_mapped").expand(bash_command=["echo 1", "echo 2"])
    each.expand(x=numbers)
    pair.partial(y=1).expand(x=[10, 20])
"""


@pytest.fixture
def kinds(tmp_path: Path) -> Path:
    path = tmp_path / "kinds.py"
    path.write_text(textwrap.dedent(TASKFLOW_KINDS))
    return path


def test_tasks_list_names_operators_as_users_write_them(kinds: Path) -> None:
    code, out = invoke("tasks", "list", "kinds", "--folder", str(kinds), "-o", "json")
    assert code == 0
    names = {r["task_id"]: r["operator"] for r in json.loads(out)}
    assert names == {
        "plain": "@task",
        "shell": "@task.bash",
        "pick": "@task.branch",
        "gate": "@task.short_circuit",
        "classic": "PythonOperator",
        "classic_mapped": "BashOperator (mapped)",
        "each": "@task (mapped)",
        "pair": "@task (mapped)",
    }
    code, out = invoke("tasks", "list", "kinds", "--folder", str(kinds))
    assert "_Decorated" not in out


def test_tasks_test_of_a_task_mapped_over_an_upstream_is_one_clear_line(kinds: Path) -> None:
    code, out = invoke("tasks", "test", "kinds", "each", "--folder", str(kinds))
    assert code == 1
    assert out.strip() == (
        "Error: task 'each' is mapped over the output of upstream task 'plain', which "
        "`tasks test` does not run; run the whole DAG with `headwater dags test kinds`"
    )


def test_tasks_test_of_a_task_mapped_over_literals_defaults_to_instance_0(kinds: Path) -> None:
    code, out = invoke("tasks", "test", "kinds", "pair", "--folder", str(kinds))
    assert code == 0, out
    assert "pair[0]" in out
    code, out = invoke("tasks", "test", "kinds", "pair", "--map-index", "1", "--folder", str(kinds))
    assert code == 0, out
    assert "pair[1]" in out


def test_dags_test_conf_that_is_not_an_object_is_refused(folder: Path) -> None:
    code, out = invoke("dags", "test", "pipeline", "--folder", str(folder), "--conf", "[1]")
    assert code == 2
    errors = [line for line in out.splitlines() if line.startswith("Error")]
    assert errors == ["Error: Invalid value for --conf: must be a JSON object like '{\"key\": 1}'"]
    assert "Traceback" not in out


def test_config_show_names_the_short_dags_folder_variable(monkeypatch) -> None:
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", "/srv/dags")
    code, out = invoke("config", "show", "-o", "json")
    assert code == 0
    rows = {r["setting"]: r for r in json.loads(out)}
    assert rows["core.dags_folder"] == {
        "setting": "core.dags_folder",
        "value": "/srv/dags",
        "source": "env HEADWATER_DAGS_FOLDER",
    }
    monkeypatch.setenv("HEADWATER__CORE__DAGS_FOLDER", "/opt/dags")  # the long name wins
    rows = {r["setting"]: r for r in json.loads(invoke("config", "show", "-o", "json")[1])}
    assert rows["core.dags_folder"]["value"] == "/opt/dags"
    assert rows["core.dags_folder"]["source"] == "env HEADWATER__CORE__DAGS_FOLDER"
    assert rows["home"]["source"] == "env HEADWATER_HOME"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[core]\ndag_folder = 'x'\n", "[core]: unknown setting 'dag_folder'"),
        ("[cor]\ndags_folder = 'x'\n", "unknown section [cor]; the sections are [core]"),
        ("dags_folder = 'x'\n", "'dags_folder' is outside any section"),
    ],
)
def test_unknown_settings_in_the_file_are_errors(
    headwater_home: Path, toml: str, message: str
) -> None:
    headwater_home.mkdir(parents=True, exist_ok=True)
    config_file = headwater_home / "headwater.toml"
    config_file.write_text(toml)
    code, out = invoke("config", "show")
    assert code == 1
    assert out.startswith(f"Error: {config_file}")
    assert message in out
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings()


def test_unknown_setting_variables_are_errors(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HEADWATER__XCOM__MAX_SIZE", "10")
    code, out = invoke("config", "show")
    assert code == 1
    assert out.startswith("Error: HEADWATER__XCOM__MAX_SIZE: no such setting;")
    assert "HEADWATER__XCOM__MAX_SIZE_BYTES" in out
    code, out = invoke("dags", "list", "--folder", str(tmp_path))  # --folder checks them too
    assert code == 1 and out.startswith("Error: HEADWATER__XCOM__MAX_SIZE: no such setting;")
    with pytest.raises(SettingsError, match="HEADWATER__CORE__LOAD_EXAMPLES: no such setting"):
        load_settings({"HEADWATER__CORE__LOAD_EXAMPLES": "true"})


def test_load_examples_is_not_a_setting() -> None:
    assert "core.load_examples" not in load_settings().sources


@pytest.mark.parametrize(
    "command",
    [["dags", "test", "pipeline"], ["tasks", "test", "pipeline", "report"]],
)
@pytest.mark.parametrize("logical_date", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:30:00+01:00"])
def test_a_logical_date_whose_interval_leaves_the_calendar_is_one_clear_line(
    folder: Path, command: list[str], logical_date: str
) -> None:
    """Its @daily interval would end in year 10000 (or start before year 1, in UTC)."""
    result = CliRunner().invoke(
        cli, [*command, "--folder", str(folder), "--logical-date", logical_date]
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-1] == (
        f"Error: logical date {logical_date} is out of range: it or its data interval under "
        "DAG 'pipeline''s schedule @daily falls outside the dates headwater can represent "
        "(years 1 to 9999, in UTC)"
    )
