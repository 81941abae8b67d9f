"""``headwater tasks logs --follow`` on a machine that did not run the attempt: a scheduler
with its workers (the other machine: its own logs folder) runs a task that prints a line,
waits for the test, prints another, waits again and ends; a ``tasks logs --follow`` process
whose logs folder lacks the file shows each line while the task still runs (from the parts
shipped to ``[logging] remote_log_folder``) and ends when the attempt ends, having printed
the whole log. Real processes on the same database: a folder remote on SQLite, a ``file://``
URL through fsspec on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from command_processes import clean_env, kill_session, wait_for
from headwater.operations import trigger_run
from headwater.store.sql import SqlStore
from stored_dags import scan_here

pytestmark = pytest.mark.slow

RELATIVE = Path("dag_id=talking", "run_id=r1", "task_id=talk", "attempt=1.log")

DAG_FILE = """\
import time
from datetime import UTC, datetime
from pathlib import Path

from headwater import DAG
from headwater.operators import PythonOperator


def _wait_for(path):
    deadline = time.monotonic() + 60  # bounded, should the test stop midway
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def talk():
    print("first line", flush=True)
    _wait_for(GO_ON)
    print("second line", flush=True)
    _wait_for(FINISH)
    print("last line")


with DAG("talking", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    PythonOperator(task_id="talk", python_callable=talk, retries=0)
"""


class Machines:
    """The worker's machine (a scheduler with its worker processes) and the reader's (a
    ``tasks logs --follow`` process), sharing the database and the remote log folder."""

    def __init__(self, db_url: str, tmp_path: Path, remote: str) -> None:
        self.tmp = tmp_path
        self.go_on, self.finish = tmp_path / "go-on", tmp_path / "finish"
        dags = tmp_path / "dags"
        dags.mkdir()
        text = DAG_FILE.replace("GO_ON", repr(str(self.go_on)))
        (dags / "talking.py").write_text(text.replace("FINISH", repr(str(self.finish))))
        with SqlStore.from_url(db_url) as store:
            assert not scan_here(store, dags).errors
            trigger_run(store, "talking", run_id="r1", now=datetime.now(UTC))
        self.worker_disk, self.reader_logs = tmp_path / "worker-disk", tmp_path / "reader-logs"
        self.worker_disk.mkdir()
        # The worker's logs folder, as its attempt rows record it: a link the test removes,
        # so that the recorded path leads nowhere here, as on another machine.
        self.worker_logs = tmp_path / "worker-logs"
        self.worker_logs.symlink_to(self.worker_disk)
        self.base = {
            **clean_env(tmp_path / "home"),
            "HEADWATER_DAGS_FOLDER": str(dags),
            "HEADWATER_DATABASE_URL": db_url,
            "HEADWATER__LOGGING__REMOTE_LOG_FOLDER": remote,
            "HEADWATER__LOGGING__REMOTE_LOG_FLUSH_INTERVAL_S": "0.2",
            "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
        }
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, logs_folder: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**self.base, "HEADWATER__LOGGING__LOGS_FOLDER": str(logs_folder)}
        with (
            (self.tmp / f"{name}.out").open("wb") as out,
            (self.tmp / f"{name}.err").open("wb") as err,
        ):
            process = subprocess.Popen(
                [sys.executable, "-m", "headwater", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def output(self, name: str, stream: str = "out") -> str:
        return (self.tmp / f"{name}.{stream}").read_text()

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
            kill_session(process.pid)  # its workers too
            process.wait()


@pytest.fixture
def machines(db_url: str, tmp_path: Path) -> Iterator[Machines]:
    remote = tmp_path / "remote"
    url = str(remote) if "sqlite" in db_url else remote.as_uri()
    both = Machines(db_url, tmp_path, url)
    yield both
    both.close()


def test_follow_shows_a_remote_workers_lines_while_it_runs_and_ends_with_the_attempt(
    machines: Machines, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    machines.start(machines.worker_logs, "scheduler", "scheduler", "--quiet", "--no-dag-processor")
    follow = machines.start(
        machines.reader_logs, "follow", "tasks", "logs", "talking", "r1", "talk", "--follow"
    )

    def shown(text: str) -> bool:
        assert follow.poll() is None, machines.output("follow", "err")
        return text in machines.output("follow")

    live_parts = remote / f"{RELATIVE}.live"

    def shipped(text: str) -> bool:
        return live_parts.is_dir() and any(text in p.read_text() for p in live_parts.iterdir())

    wait_for(lambda: shipped("first line"), "the first line, shipped", timeout_s=30)
    machines.worker_logs.unlink()  # the path the attempt recorded no longer leads to its file
    wait_for(lambda: shown("first line"), "the first line, followed", timeout_s=30)
    assert "second line" not in machines.output("follow")  # the task waits for go-on
    assert not (machines.reader_logs / RELATIVE).exists()  # read from the remote copy
    machines.worker_logs.symlink_to(machines.worker_disk)  # for the complete copy at the end

    machines.go_on.touch()
    wait_for(lambda: shown("second line"), "the second line, followed", timeout_s=30)
    assert "last line" not in machines.output("follow")  # the task waits for finish

    machines.finish.touch()
    assert follow.wait(timeout=30) == 0, machines.output("follow", "err")
    written = (machines.worker_logs / RELATIVE).read_text()
    assert "last line" in written
    assert machines.output("follow") == written  # the whole log, each line once
    assert (remote / RELATIVE).read_text() == written  # the complete copy
    assert not live_parts.exists()  # its parts removed
