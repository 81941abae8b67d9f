"""Through the real scheduler with the local executor (worker processes), on SQLite and
PostgreSQL: a task reads a connection with a hook and leaks its password every way it can;
the attempt log, the stored error and rendered fields, and what the CLI shows hold ``***``.
The XCom the task pushed is stored whole (a downstream task needs it) and shown redacted.

The secrets are registered inside the worker; the CLI, a process of its own, hides the
XCom's password because it registers the secrets the database holds before showing it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from headwater.clock import SystemClock
from headwater.engine.records import DagRun, TaskAttempt, TaskInstanceKey
from headwater.executors.local import LocalExecutor
from headwater.operations import trigger_run
from headwater.operations.admin import add_connection
from headwater.scheduler.scheduler import Scheduler
from headwater.scheduler.service import build_scheduler
from headwater.secrets import Connection
from headwater.settings import load_settings
from headwater.store.sql import SqlStore
from stored_dags import invoke, scan_here

pytestmark = pytest.mark.slow

PASSWORD = "Wh1te-Rabbit/42"
TOKEN = "tok-8f3a9c71e2"

DAG_FILE = """
from datetime import UTC, datetime
import logging

from headwater import DAG, mask_secret, task
from headwater.hooks.base import BaseHook
from headwater.operators import BashOperator, PythonOperator

with DAG("leaks", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):

    @task(retries=0)
    def leak():
        connection = BaseHook.get_connection("warehouse")
        print("connecting to", connection.get_uri())
        print(connection.password[:4], end="", flush=True)
        print(connection.password[4:], "was split")
        logging.getLogger("user").warning("password %s", connection.password)
        raise ConnectionError(f"login refused for password {connection.password}")

    @task
    def push():
        mask_secret(TOKEN)
        connection = BaseHook.get_connection("warehouse")
        return {"dsn": connection.get_uri(), "api_token": TOKEN, "rows": 3}

    def use(dsn):
        BaseHook.get_connection("warehouse")  # registers the password in this worker
        return len(dsn)

    PythonOperator(
        task_id="render",
        python_callable=use,
        op_kwargs={"dsn": "postgresql://etl:{{ conn.warehouse.password }}@db/x"},
    )

    # The template accessor registers the password as it renders it.
    BashOperator(task_id="echo", bash_command="echo 'pw={{ conn.warehouse.password }}'")

    leak()
    push()
"""


class Run:
    """The DAG file processed, a run of it triggered and driven to its end by a scheduler
    with the local executor, on ``db_url``."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.store = SqlStore.from_url(db_url, clock=SystemClock())
        add_connection(
            self.store,
            Connection("warehouse", "postgresql", host="db", login="etl", password=PASSWORD),
        )
        folder.mkdir()
        (folder / "leaks.py").write_text(DAG_FILE.replace("TOKEN", repr(TOKEN), 2))
        report = scan_here(self.store, folder)
        assert not report.errors, report
        self.run: DagRun = trigger_run(self.store, "leaks", now=SystemClock().now())
        self.scheduler: Scheduler = build_scheduler(load_settings(), store=self.store)
        self.scheduler.start()

    def to_the_end(self) -> None:
        for _ in range(200):
            stored = self.store.get_dag_run("leaks", self.run.run_id)
            assert stored is not None
            if stored.state.value in ("success", "failed"):
                return
            self.scheduler.tick()
            executor = self.scheduler.executor
            finished = executor.poll(timeout=10 if executor.has_work else 0)
            if finished:
                self.scheduler.apply_outcomes(finished)
        raise AssertionError("the run did not end")

    def attempt(self, task_id: str) -> TaskAttempt:
        (attempt,) = self.store.get_attempts("leaks", self.run.run_id, task_id)
        return attempt

    def close(self) -> None:
        self.scheduler.stop()
        self.store.close()


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    folder = tmp_path / "dags"
    monkeypatch.setenv("HEADWATER_DATABASE_URL", db_url)
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__SCHEDULER__EXECUTOR", "local")
    monkeypatch.setenv("HEADWATER__SCHEDULER__PARALLELISM", "2")
    started = Run(db_url, folder)
    try:
        yield started
    finally:
        started.close()


def test_secrets_a_worker_registered_never_reach_logs_errors_or_the_cli(run: Run) -> None:
    assert isinstance(run.scheduler.executor, LocalExecutor)  # attempts run in workers
    run.to_the_end()
    run_id = run.run.run_id
    states = {ti.task_id: ti.state.value for ti in run.store.get_task_instances("leaks", run_id)}
    assert states == {"leak": "failed", "push": "success", "render": "success", "echo": "success"}

    # The attempt log, written by the worker.
    leak = run.attempt("leak")
    assert leak.log_path is not None
    log = Path(leak.log_path).read_text()
    for expected in (
        "connecting to postgresql://etl:***@db",
        "*** was split",
        "password ***",
        "Task failed: ConnectionError: login refused for password ***",
        "Traceback (most recent call last)",
    ):
        assert expected in log, expected
    assert PASSWORD not in log and quote(PASSWORD, safe="") not in log
    assert leak.error == "ConnectionError: login refused for password ***"

    # Rendered fields, stored when the attempt ended.
    assert run.attempt("render").rendered_fields == {
        "op_args": [],
        "op_kwargs": {"dsn": "postgresql://etl:***@db/x"},
    }

    echo = run.attempt("echo")
    assert echo.rendered_fields["bash_command"] == "echo 'pw=***'"
    assert echo.log_path is not None and "pw=***" in Path(echo.log_path).read_text()

    # The XCom is stored whole: a downstream task gets the real value.
    stored = run.store.get_xcom(TaskInstanceKey("leaks", run_id, "push"), "return_value")
    assert stored is not None and quote(PASSWORD, safe="") in stored and TOKEN in stored

    # What the CLI shows.
    logs = invoke("tasks", "logs", "leaks", run_id, "leak")
    assert logs.exit_code == 0, logs.output
    assert "password ***" in logs.stdout and PASSWORD not in logs.stdout

    state = invoke("tasks", "state", "leaks", run_id, "leak", "-o", "json")
    assert json.loads(state.stdout)["error"] == "ConnectionError: login refused for password ***"

    xcom = invoke("tasks", "xcom", "leaks", run_id, "push", "-o", "json")
    assert xcom.exit_code == 0, xcom.output
    assert json.loads(xcom.stdout)["value"] == {
        "dsn": "postgresql://etl:***@db",
        "api_token": "***",
        "rows": 3,
    }
    table = invoke("tasks", "xcom", "leaks", run_id, "push")
    assert '"dsn": "postgresql://etl:***@db"' in table.stdout
    assert PASSWORD not in table.stdout and TOKEN not in table.stdout

    rendered = invoke("tasks", "rendered", "leaks", run_id, "render", "-o", "json")
    assert json.loads(rendered.stdout)["rendered_fields"]["op_kwargs"] == {
        "dsn": "postgresql://etl:***@db/x"
    }
    assert PASSWORD not in rendered.stdout
