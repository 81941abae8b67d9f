"""A scheduler run (local worker processes, a DAG callback process) leaves only files its
owner can read: the logs folder and every folder under it 0700, every log file 0600."""

from __future__ import annotations

from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from file_modes import mode, umask_022  # noqa: F401 - the fixture
from headwater.clock import FakeClock
from stored_dags import invoke

pytestmark = pytest.mark.usefixtures("umask_022")


def test_a_scheduler_run_writes_owner_only_logs(
    headwater_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("db", "migrate").exit_code == 0
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    harness = Harness(f"sqlite:///{headwater_home / 'headwater.db'}", folder, FakeClock(at(4)))
    try:
        harness.write_dag(
            "private",
            """
            def done(context):
                print("run over")

            with DAG("private", start_date=START, on_success_callback=done) as dag:
                BashOperator(task_id="say", bash_command="echo secret output")
            """,
        )
        harness.process()
        run = harness.trigger("private")
        harness.run_until(harness.finished("private", run.run_id))
        assert harness.states("private", run.run_id) == {"say": "success"}
    finally:
        harness.close()  # waits for the DAG callback process
    logs = headwater_home / "logs"
    run_folder = logs / "dag_id=private" / f"run_id={run.run_id}"
    files = {
        run_folder / "task_id=say" / "attempt=1.log",
        run_folder / "dag_callbacks.log",
    }
    assert {p for p in logs.rglob("*") if p.is_file()} == files
    assert "secret output" in (run_folder / "task_id=say" / "attempt=1.log").read_text()
    for path in [logs, *logs.rglob("*")]:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(headwater_home / "headwater.db") == 0o600


def test_an_attempt_whose_log_cannot_be_written_fails_with_one_line(
    headwater_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The logs folder became unusable after the scheduler started (the commands refuse one
    that is unusable at start): each attempt fails with the reason as its error, in the
    worker, instead of the worker raising."""
    assert invoke("db", "migrate").exit_code == 0
    folder = tmp_path / "dags"
    folder.mkdir()
    blocker = tmp_path / "logsfile"
    blocker.write_text("")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(folder))
    monkeypatch.setenv("HEADWATER__LOGGING__LOGS_FOLDER", str(blocker / "logs"))
    harness = Harness(f"sqlite:///{headwater_home / 'headwater.db'}", folder, FakeClock(at(4)))
    try:
        harness.write_dag(
            "unlogged",
            """
            with DAG("unlogged", start_date=START) as dag:
                BashOperator(task_id="say", bash_command="echo hello")
            """,
        )
        harness.process()
        run = harness.trigger("unlogged")
        harness.run_until(harness.finished("unlogged", run.run_id))
        ti = harness.tis("unlogged", run.run_id)["say"]
    finally:
        harness.close()
    assert ti.state.value == "failed"
    assert ti.error is not None
    assert ti.error.startswith(f"cannot write the attempt's log {blocker}/logs/")
    assert ti.error.endswith(": Not a directory")
    assert "\n" not in ti.error
