"""The child that imports a DAG file dies with the DAG processor, together with the
processes the file started, even when the processor is killed with SIGKILL.

The processor runs as a real process in a session of its own; whatever is left is killed
when the test ends, and every wait has a deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from command_processes import alive, wait_for
from headwater.executors.process_tree import descendants

pytestmark = pytest.mark.slow

HANGING_FILE = """
# A headwater DAG file whose import starts a process and hangs.
import subprocess, time
subprocess.Popen(["sleep", "307"])
while True:
    time.sleep(1)
"""


def _command(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def test_killing_the_processor_ends_the_import_and_what_the_file_started(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    template: Path = request.getfixturevalue("sqlite_template")
    database = tmp_path / "headwater.db"
    shutil.copyfile(template, database)
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "hangchild.py").write_text(HANGING_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER")}
    env.update(
        {
            "HEADWATER_HOME": str(tmp_path / "home"),
            "HEADWATER_DAGS_FOLDER": str(folder),
            "HEADWATER_DATABASE_URL": f"sqlite:///{database}",
            "HEADWATER__SCHEDULER__FILE_PARSE_TIMEOUT_S": "300",
        }
    )
    processor = subprocess.Popen(
        [sys.executable, "-m", "headwater", "dag-processor", "--quiet"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    below: list[int] = []
    try:

        def importing() -> bool:
            below[:] = descendants(processor.pid)
            return any(_command(pid)[:2] == [b"sleep", b"307"] for pid in below)

        wait_for(importing, "the file's import to start its process")
        assert any(b"headwater.dag_processing.parse_file" in _command(pid) for pid in below)
        processor.kill()
        processor.wait(timeout=30)
        wait_for(
            lambda: not any(alive(pid) for pid in below),
            "the import and the process it started to end",
        )
    finally:
        for pid in [processor.pid, *below]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        processor.kill()
        processor.wait()
