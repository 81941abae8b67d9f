"""A logs folder no log can be written to is refused when a command that runs tasks starts,
with one line naming ``logging.logs_folder``; a missing one is created owner-only. (Tests
run as root too, who may write anywhere: "cannot write" is a path under a regular file.)"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A home with one DAG, its database not yet created (``standalone`` creates it)."""
    home = tmp_path / "home"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "logged.py").write_text(DAG_FILE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    return {**clean, "HEADWATER_HOME": str(home)}


def headwater(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` as a process of its own session, killed with whatever it started
    if it is still running after 60 s (a scheduler that did not refuse to start)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        out, err = "", "still running after 60 s"
    finally:
        kill_session(process.pid)
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid``: the DAG processor a scheduler starts is in
    a process group of its own, so killing the command's group would miss it."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == sid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("under_a_file", [False, True], ids=["a file", "under a file"])
def test_a_logs_folder_that_is_or_is_under_a_file_is_refused_at_start(
    env: dict[str, str], tmp_path: Path, command: list[str], under_a_file: bool
) -> None:
    blocker = tmp_path / "logsfile"
    blocker.write_text("")
    logs = blocker / "logs" if under_a_file else blocker
    env["HEADWATER__LOGGING__LOGS_FOLDER"] = str(logs)

    result = headwater(env, *command)

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

    result = headwater(env, "tasks", "test", "logged", "hello")

    assert result.returncode == 0, result.stderr
    for folder in (logs.parent, logs):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
