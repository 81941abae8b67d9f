"""The whole path in real processes: ``headwater standalone`` logging JSON lines, a task that
fails in a real worker process reported to a Sentry on 127.0.0.1 (its ids as tags, its log
lines as breadcrumbs, its connection's password nowhere), and its log copied to the remote
log folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sentry_receiver import SentryReceiver

from command_processes import clean_env, kill_session, wait_for

pytestmark = pytest.mark.slow

PASSWORD = "Zq8-horse-battery"

DAG_FILE = """\
from datetime import UTC, datetime

from headwater import DAG
from headwater.operators import PythonOperator
from headwater.secrets import get_connection


def load():
    conn = get_connection("warehouse")
    print(f"connecting to {conn.host} as {conn.login}:{conn.password}")
    raise RuntimeError(f"{conn.host} refused {conn.login}:{conn.password}")


with DAG("nightly", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    PythonOperator(task_id="load", python_callable=load)
"""


def test_standalone_logs_json_reports_the_task_to_sentry_and_copies_its_log(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "nightly.py").write_text(DAG_FILE)
    remote = tmp_path / "remote"
    stderr_file = tmp_path / "stderr.txt"
    with SentryReceiver() as sentry:
        env = {
            **clean_env(tmp_path / "home"),
            "HEADWATER_DAGS_FOLDER": str(folder),
            "HEADWATER_CONN_WAREHOUSE": f"postgresql://etl:{PASSWORD}@db.internal:5432/dw",
            "HEADWATER__LOGGING__FORMAT": "json",
            "HEADWATER__LOGGING__REMOTE_LOG_FOLDER": str(remote),
            "HEADWATER__SENTRY__DSN": sentry.dsn,
            "HEADWATER__SENTRY__ENVIRONMENT": "test",
            "HEADWATER__SCHEDULER__LOOP_INTERVAL_S": "0.2",
        }
        with open(stderr_file, "wb") as err:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "headwater",
                    "standalone",
                    "--no-ui",
                    "--trigger",
                    "nightly",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        try:
            wait_for(lambda: "ended: failed" in stderr_file.read_text(), "the run's end")
            (event,) = sentry.wait_for_events(1)
            os.kill(process.pid, signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            kill_session(process.pid)
            process.wait()

    lines = [json.loads(line) for line in stderr_file.read_text().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    (ended,) = [line for line in lines if "ended: failed" in str(line["message"])]
    assert ended["dag_id"] == "nightly"
    run_id = str(ended["run_id"])
    assert ended["message"] == f"Run {run_id} of nightly ended: failed"

    tags = event["tags"]
    assert (tags["dag_id"], tags["task_id"], tags["run_id"]) == ("nightly", "load", run_id)
    assert (tags["try_number"], tags["map_index"], tags["process"]) == (1, -1, "worker")
    assert event["environment"] == "test"
    assert event["exception"]["values"][0]["value"] == "db.internal refused etl:***"
    messages = [crumb["message"] for crumb in event["breadcrumbs"]["values"]]
    assert "connecting to db.internal as etl:***" in messages
    assert all(PASSWORD.encode() not in body for body in sentry.bodies)

    copy = remote / "dag_id=nightly" / f"run_id={run_id}" / "task_id=load" / "attempt=1.log"
    assert "Task failed: RuntimeError: db.internal refused etl:***" in copy.read_text()
