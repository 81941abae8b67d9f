"""Real processes for the Celery tests: ``headwater scheduler`` with executor = celery and
``headwater celery worker`` processes, over a migrated database and a DAG folder.

Every process is started in a session of its own and killed with everything it started when
the test ends; waits poll with a deadline (real processes, real time).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from brokers import Broker

from command_processes import clean_env, kill_session, wait_for
from headwater.engine.records import DagRun, TaskAttempt, TaskInstanceKey
from headwater.operations import trigger_run
from headwater.store.sql import SqlStore
from stored_dags import scan_here

HEADER = """\
from datetime import UTC, datetime, timedelta
from pathlib import Path

from headwater import DAG, task
from headwater.operators import EmptyOperator, PythonOperator

START = datetime(2024, 1, 1, tzinfo=UTC)
"""

SETTINGS = {
    "HEADWATER__SCHEDULER__EXECUTOR": "celery",
    "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
    "HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S": "0.3",
    "HEADWATER__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_S": "4",
    "HEADWATER__SCHEDULER__KILL_GRACE_S": "1",
}
"""Short heartbeats: a dead worker's attempt is failed within seconds."""


class Cluster:
    """A database, a DAG folder, a broker, and the processes a test starts on them."""

    def __init__(self, db_url: str, tmp_path: Path, broker: Broker) -> None:
        self.folder = tmp_path / "dags"
        self.folder.mkdir()
        self.logs = tmp_path / "process-logs"
        self.logs.mkdir()
        self.broker = broker
        self.env = {
            **clean_env(tmp_path / "home"),
            "HEADWATER_DAGS_FOLDER": str(self.folder),
            "HEADWATER_DATABASE_URL": db_url,
            **SETTINGS,
            **broker.env(),
        }
        self.store = SqlStore.from_url(db_url)
        self._processes: list[subprocess.Popen[bytes]] = []

    def write_dag(self, name: str, body: str) -> None:
        (self.folder / f"{name}.py").write_text(HEADER + textwrap.dedent(body))
        report = scan_here(self.store, self.folder)
        assert not report.errors, self.store.list_import_errors()

    def trigger(self, dag_id: str) -> DagRun:
        return trigger_run(self.store, dag_id, now=datetime.now(UTC))

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "headwater", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._processes.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_worker(
        self, name: str, *queues: str, concurrency: int = 1
    ) -> subprocess.Popen[bytes]:
        """``headwater celery worker`` (one attempt at a time by default), once it is ready."""
        args = ["celery", "worker", "--concurrency", str(concurrency), "--hostname", f"{name}@%h"]
        if queues:
            args += ["--queues", ",".join(queues)]
        process = self._start(name, *args)
        wait_for(
            lambda: " ready." in self.log(name) or process.poll() is not None,
            f"worker {name} to be ready",
            timeout_s=30,
        )
        assert process.poll() is None, self.log(name)
        return process

    def start_scheduler(self) -> subprocess.Popen[bytes]:
        return self._start("scheduler", "scheduler", "--no-dag-processor", "--no-triggerer")

    def wait_finished(self, run: DagRun, timeout_s: float = 30) -> str:
        def state() -> str:
            found = self.store.get_dag_run(run.dag_id, run.run_id)
            assert found is not None
            return found.state.value

        wait_for(
            lambda: state() in ("success", "failed"),
            f"run {run.run_id} to finish; scheduler log:\n{self.log('scheduler')}",
            timeout_s=timeout_s,
        )
        return state()

    def states(self, run: DagRun) -> dict[str, str]:
        tis = self.store.get_task_instances(run.dag_id, run.run_id)
        return {ti.task_id: ti.state.value for ti in tis}

    def attempts(self, run: DagRun, task_id: str) -> list[TaskAttempt]:
        return self.store.get_attempts(run.dag_id, run.run_id, task_id)

    def xcom(self, run: DagRun, task_id: str) -> Any:
        text = self.store.get_xcom(TaskInstanceKey(run.dag_id, run.run_id, task_id), "return_value")
        return None if text is None else json.loads(text)

    def stop_scheduler(self, process: subprocess.Popen[bytes]) -> int:
        """SIGTERM, then its exit code (it must stop within 30 s)."""
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=30)

    def close(self) -> None:
        """Kill what the test left running (each test stops what it checks the stop of)."""
        for process in self._processes:
            kill_session(process.pid)
            process.wait()
        self.store.close()
