"""``tasks test`` on a task with retries: one attempt, and its state, log, callbacks and exit
code agree, because one rule (the engine's) decides whether a failed attempt is retried."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli import cli

FLAKY = """
import json
import os
from datetime import UTC, datetime
from headwater import DAG
from headwater.exceptions import TaskFailedNoRetry
from headwater.operators import PythonOperator

CALLS = os.environ["CALLBACKS_FILE"]


def record(kind):
    def callback(context):
        with open(CALLS, "a") as file:
            file.write(json.dumps([kind, context["ti"].try_number]) + "\\n")
    return callback


def boom():
    raise RuntimeError("boom")


def refuse():
    raise TaskFailedNoRetry("bad input")


callbacks = dict(
    on_retry_callback=record("retry"),
    on_failure_callback=record("failure"),
    on_success_callback=record("success"),
)

with DAG("flaky", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
    PythonOperator(task_id="boom", python_callable=boom, retries=2, retry_delay=0, **callbacks)
    PythonOperator(task_id="once", python_callable=boom, **callbacks)
    PythonOperator(task_id="refuse", python_callable=refuse, retries=2, **callbacks)
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "flaky.py").write_text(textwrap.dedent(FLAKY))
    monkeypatch.setenv("CALLBACKS_FILE", str(tmp_path / "callbacks.jsonl"))
    monkeypatch.setenv("COLUMNS", "200")
    return folder


def _callbacks(folder: Path) -> list[list[object]]:
    path = folder.parent / "callbacks.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _log(headwater_home: Path, task_id: str) -> str:
    logs = list((headwater_home / "logs" / "dag_id=flaky").rglob(f"task_id={task_id}/*.log"))
    assert [p.name for p in logs] == ["attempt=1.log"]
    return logs[0].read_text()


def test_a_failing_task_with_retries_left_ends_up_for_retry_after_one_attempt(
    folder: Path, headwater_home: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["tasks", "test", "flaky", "boom", "--folder", str(folder)], catch_exceptions=False
    )
    assert result.exit_code == 1
    # One attempt, as the log, the callbacks and the printed state all say.
    log = _log(headwater_home, "boom")
    assert "Marking for retry (attempt 1 of 3)" in log
    assert "Marking as failed" not in log
    assert _callbacks(folder) == [["retry", 1]]
    assert "↻ up_for_retry boom (try 1/3), not retried: `tasks test` runs one attempt" in (
        result.output
    )
    assert "retrying in" not in result.output
    assert "DAG flaky failed" in result.output


def test_a_failing_task_without_retries_left_ends_failed(
    folder: Path, headwater_home: Path
) -> None:
    for task_id in ("once", "refuse"):
        result = CliRunner().invoke(
            cli, ["tasks", "test", "flaky", task_id, "--folder", str(folder)]
        )
        assert result.exit_code == 1
        log = _log(headwater_home, task_id)
        assert "Marking as failed (attempt 1 of" in log
        assert "Marking for retry" not in log
        assert f"✘ failed {task_id} (try 1/" in result.output
    assert _callbacks(folder) == [["failure", 1], ["failure", 1]]


def test_dags_test_still_retries_through_the_engine(folder: Path, headwater_home: Path) -> None:
    result = CliRunner().invoke(cli, ["dags", "test", "flaky", "--folder", str(folder)])
    assert result.exit_code == 1
    boom = sorted((headwater_home / "logs" / "dag_id=flaky").rglob("task_id=boom/*.log"))
    assert [p.name for p in boom] == ["attempt=1.log", "attempt=2.log", "attempt=3.log"]
    assert "Marking for retry (attempt 2 of 3)" in boom[1].read_text()
    assert "Marking as failed (attempt 3 of 3)" in boom[2].read_text()
    retries_of_boom = [c for c in _callbacks(folder) if c[0] == "retry"]
    assert retries_of_boom == [["retry", 1], ["retry", 2]]
    assert ["failure", 3] in _callbacks(folder)
    assert "✘ failed boom (try 3/3)" in result.output


def test_run_task_reports_the_same_state_as_the_log(clock) -> None:
    from datetime import UTC, datetime

    from headwater import DAG
    from headwater.operators import PythonOperator
    from headwater.testing import run_task

    def boom() -> None:
        raise RuntimeError("boom")

    with DAG("flaky", start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        PythonOperator(task_id="boom", python_callable=boom, retries=1)
    result = run_task(dag, "boom", clock=clock)
    assert result.task_states == {"boom": "up_for_retry"}
    assert [a.state.value for a in result.attempts("boom")] == ["up_for_retry"]
    assert "Marking for retry (attempt 1 of 2)" in result.log("boom")
    assert result.state.value == "failed"
