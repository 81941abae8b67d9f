"""A BashOperator's command never outlives the process running its task: when that process
is killed with SIGKILL (``kill -9``, the OOM killer), the command and everything it started
die too, instead of running on beside the task's next try (two copies at once). Real
processes: ``headwater dags test`` runs the task; the test kills it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from command_processes import alive, wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)

DAG_FILE = """
from datetime import UTC, datetime

from headwater import DAG
from headwater.operators import BashOperator

with DAG("holds", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    # A compound command (bash stays its parent) with a background child of its own.
    BashOperator(
        task_id="long",
        bash_command="echo $$ >> {pids}; sleep 300 & echo $! >> {pids}; wait; echo never",
    )
"""


def test_the_command_dies_with_the_process_running_its_task(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "holds.py").write_text(textwrap.dedent(DAG_FILE.format(pids=pids)))
    env = {**os.environ, "HEADWATER_HOME": str(tmp_path / "home")}
    runner = subprocess.Popen(
        [sys.executable, "-m", "headwater", "dags", "test", "holds", "--folder", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2, "the command")
        command = [int(pid) for pid in pids.read_text().split()]
        assert all(alive(pid) for pid in command)

        os.kill(runner.pid, signal.SIGKILL)  # the task's process, not its process group
        runner.wait()

        wait_for(lambda: not any(alive(pid) for pid in command), "the command to die", 10)
    finally:
        left = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
        for pid in [runner.pid, *left]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
