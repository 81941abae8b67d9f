"""SIGTERM stops ``dags test`` and ``tasks test`` as Ctrl-C does: the task's command is
killed with them, and the command ends with one line and 128 + the signal's number.

The commands run as real processes in sessions of their own; whatever is left is killed
when a test ends, and every wait has a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from command_processes import alive, wait_for
from headwater.executors.process_tree import descendants

pytestmark = pytest.mark.slow

DAG_FILE = """
from datetime import UTC, datetime
from headwater import DAG
from headwater.operators.bash import BashOperator

with DAG("sub", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    BashOperator(task_id="b", bash_command="sleep 301; echo done")
"""


def _sleeps_below(pid: int) -> list[int]:
    found = []
    for child in descendants(pid):
        try:
            if Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[:2] == [
                b"sleep",
                b"301",
            ]:
                found.append(child)
        except OSError:
            pass
    return found


@pytest.mark.parametrize(
    ("sig", "arguments"),
    [
        (signal.SIGTERM, ["tasks", "test", "sub", "b"]),
        (signal.SIGTERM, ["dags", "test", "sub"]),
        (signal.SIGINT, ["tasks", "test", "sub", "b"]),
    ],
    ids=["tasks-test-SIGTERM", "dags-test-SIGTERM", "tasks-test-SIGINT"],
)
def test_a_stop_signal_kills_the_running_tasks_command(
    tmp_path: Path, sig: signal.Signals, arguments: list[str]
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "sub.py").write_text(DAG_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    env.update({"HEADWATER_HOME": str(tmp_path / "home"), "HEADWATER_DAGS_FOLDER": str(folder)})
    command = subprocess.Popen(
        [sys.executable, "-m", "headwater", *arguments],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    sleeps: list[int] = []
    try:
        wait_for(lambda: bool(_sleeps_below(command.pid)), "the task's command to start")
        sleeps = _sleeps_below(command.pid)
        command.send_signal(sig)
        _, stderr = command.communicate(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in sleeps), "the task's command to end")
    finally:
        for pid in [command.pid, *sleeps]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        command.kill()
        command.wait()
    assert command.returncode == 128 + sig
    errors = [line for line in stderr.decode().splitlines() if line.strip()]
    assert errors == [
        f"Error: stopped by {sig.name} before the run finished; the running task was stopped"
    ]
