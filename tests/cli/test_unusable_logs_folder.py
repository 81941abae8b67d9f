"""A logs folder no log can be written to is refused when a command that runs tasks starts,
with one line naming ``logging.logs_folder``; a missing one is created owner-only. (Tests
run as root too, who may write anywhere: "cannot write" is a path under a regular file.)"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from command_processes import clean_env, run_headwater
from file_modes import umask_022  # noqa: F401 - the fixture

DAG_FILE = """
from datetime import UTC, datetime
from headwater import DAG, task

with DAG("logged", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None) as dag:
    @task
    def hello() -> None:
        print("hello")

    hello()
"""

COMMANDS = [
    ["dags", "test", "logged"],
    ["tasks", "test", "logged", "hello"],
    ["scheduler"],
    ["standalone"],
]


pytestmark = pytest.mark.usefixtures("umask_022")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A home with one DAG, its database not yet created (``standalone`` creates it)."""
    home = tmp_path / "home"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "logged.py").write_text(DAG_FILE)
    return clean_env(home)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("under_a_file", [False, True], ids=["a file", "under a file"])
def test_a_logs_folder_that_is_or_is_under_a_file_is_refused_at_start(
    env: dict[str, str], tmp_path: Path, command: list[str], under_a_file: bool
) -> None:
    blocker = tmp_path / "logsfile"
    blocker.write_text("")
    logs = blocker / "logs" if under_a_file else blocker
    env["HEADWATER__LOGGING__LOGS_FOLDER"] = str(logs)

    result = run_headwater(env, *command)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    problem = f"under {blocker}, which is a file" if under_a_file else "is a file, not a folder"
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"Error: logging.logs_folder {logs} ")
    assert problem in errors[0]
    assert not (Path(env["HEADWATER_HOME"]) / "headwater.db").exists()  # nothing started


def test_a_missing_logs_folder_is_created_owner_only(env: dict[str, str], tmp_path: Path) -> None:
    logs = tmp_path / "new" / "logs"
    env["HEADWATER__LOGGING__LOGS_FOLDER"] = str(logs)

    result = run_headwater(env, "tasks", "test", "logged", "hello")

    assert result.returncode == 0, result.stderr
    for folder in (logs.parent, logs):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


REMOVER_DAG = """
import shutil
from datetime import UTC, datetime
from pathlib import Path
from headwater import DAG, task

LOGS = Path({logs!r})

with DAG("remover", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None) as dag:
    @task
    def remove_logs() -> None:
        shutil.rmtree(LOGS)
        LOGS.write_text("the logs folder is a file now")

    @task
    def after() -> None:
        print("never runs")

    remove_logs() >> after()
"""


def test_dags_test_fails_an_attempt_whose_log_cannot_be_written(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The folder was fine at start and became a file during the run: the next attempt fails
    with one line as its error, and the run ends failed, without a traceback."""
    logs = tmp_path / "logs"
    env["HEADWATER__LOGGING__LOGS_FOLDER"] = str(logs)
    (Path(env["HEADWATER_HOME"]) / "dags" / "remover.py").write_text(
        REMOVER_DAG.format(logs=str(logs))
    )

    result = run_headwater({**env, "COLUMNS": "250"}, "dags", "test", "remover")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "cannot write the attempt's log" in result.stdout
    assert "never runs" not in result.stdout
