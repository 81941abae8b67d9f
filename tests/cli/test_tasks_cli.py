"""``headwater tasks clear | state | logs`` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.cli import tasks as tasks_cli
from headwater.engine.records import TaskAttempt, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.runtime.logs import attempt_log_path
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import invoke, run_now


@pytest.fixture
def failed_run(store: SqlStore, folder: Path, settings: Settings) -> str:
    """Run r1 of flaky: start succeeded, boom failed twice, after is upstream_failed."""
    assert run_now(store, folder, "flaky", "r1", settings).state == "failed"
    return "r1"


def test_clear_with_yes_prints_what_it_cleared(store: SqlStore, failed_run: str) -> None:
    result = invoke("tasks", "clear", "flaky", failed_run, "boom", "--downstream", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Cleared 2 task instance(s) of run r1: boom, after. The run is queued again.\n"
    )
    assert result.stderr == ""
    states = {ti.task_id: ti.state for ti in store.get_task_instances("flaky", "r1")}
    assert states == {"start": "success", "boom": "none", "after": "none"}
    boom = store.get_task_instance("flaky", "r1", "boom")
    assert boom is not None and boom.max_tries == 4


def test_clear_lists_the_instances_and_asks(store: SqlStore, failed_run: str) -> None:
    result = invoke("tasks", "clear", "flaky", failed_run, "start", "-d", input="n\n")
    assert result.exit_code == 1
    assert "Clear these 3 task instance(s)?" in result.stderr
    for label in ("start", "boom", "after", "upstream_failed"):
        assert label in result.stderr
    assert store.get_dag_run("flaky", "r1").state == "failed"  # type: ignore[union-attr]
    result = invoke("tasks", "clear", "flaky", failed_run, "start", "-d", "-o", "json", input="y\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "dag_id": "flaky",
        "run_id": "r1",
        "run_state": "queued",
        "cleared": [
            {"task_id": "start", "map_index": -1},
            {"task_id": "boom", "map_index": -1},
            {"task_id": "after", "map_index": -1},
        ],
    }


def test_clear_only_failed_of_a_mapped_task(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "partly", "r1", settings)
    result = invoke(
        "tasks", "clear", "partly", "r1", "half", "total", "--only-failed", "-y", "-o", "json"
    )
    assert json.loads(result.stdout)["cleared"] == [
        {"task_id": "half", "map_index": 1},
        {"task_id": "total", "map_index": -1},
    ]
    result = invoke("tasks", "clear", "partly", "r1", "numbers", "--only-failed", "-y")
    assert result.stdout == "Nothing to clear: no task instance matches.\n"


def test_clear_upstream_and_one_map_index(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "partly", "r1", settings)
    result = invoke(
        "tasks",
        "clear",
        "partly",
        "r1",
        "half",
        "--map-index",
        "1",
        "--upstream",
        "-y",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cleared"] == [
        {"task_id": "numbers", "map_index": -1},
        {"task_id": "half", "map_index": 1},
    ]
    states = {
        (ti.task_id, ti.map_index): ti.state for ti in store.get_task_instances("partly", "r1")
    }
    assert states[("half", 0)] == states[("half", 2)] == "success"
    assert states[("total", -1)] == "upstream_failed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flaky", "r1", "bom"], "Error: DAG 'flaky' has no task 'bom'"),
        (["flaky", "r9", "boom"], "Error: DAG 'flaky' has no run 'r9'"),
        (["nope", "r1", "boom"], "Error: no DAG 'nope' in the database"),
    ],
)
def test_clear_refuses_unknown_ids(
    store: SqlStore, failed_run: str, args: list[str], message: str
) -> None:
    result = invoke("tasks", "clear", *args, "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1


def test_clear_needs_a_task_id(store: SqlStore, failed_run: str) -> None:
    result = invoke("tasks", "clear", "flaky", failed_run)
    assert result.exit_code == 2 and "Missing argument 'TASK_ID...'" in result.stderr


def test_state_of_a_task_instance(store: SqlStore, failed_run: str) -> None:
    data = json.loads(invoke("tasks", "state", "flaky", failed_run, "boom", "-o", "json").stdout)
    assert data["state"] == "failed"
    assert (data["try_number"], data["max_tries"], data["map_index"]) == (2, 2, -1)
    assert "bash command failed: exit code 3" in data["error"]
    result = invoke("tasks", "state", "flaky", failed_run, "boom")
    assert "failed" in result.stdout and "2 of 2" in result.stdout


def test_state_of_a_mapped_task_needs_its_map_index(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    result = invoke("tasks", "state", "etl", "r1", "double")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: task 'double' of run 'r1' has no map index -1; its map indexes: 0, 1, 2 "
        "(use --map-index)\n"
    )
    data = json.loads(
        invoke("tasks", "state", "etl", "r1", "double", "--map-index", "2", "-o", "json").stdout
    )
    assert (data["map_index"], data["state"]) == (2, "success")
    result = invoke("tasks", "state", "etl", "r1", "nope")
    assert result.exit_code == 1 and "has no task 'nope'" in result.stderr


def test_logs_print_the_latest_try_or_the_one_asked_for(store: SqlStore, failed_run: str) -> None:
    latest = invoke("tasks", "logs", "flaky", failed_run, "boom")
    assert latest.exit_code == 0, latest.output
    assert "Starting attempt 2 of 2" in latest.stdout and "going down" in latest.stdout
    first = invoke("tasks", "logs", "flaky", failed_run, "boom", "--try", "1")
    assert "Starting attempt 1 of 2" in first.stdout


def test_logs_of_a_mapped_instance(store: SqlStore, folder: Path, settings: Settings) -> None:
    run_now(store, folder, "etl", "r1", settings)
    result = invoke("tasks", "logs", "etl", "r1", "double", "--map-index", "1")
    assert "doubling 2" in result.stdout


def test_a_missing_log_says_which_tries_exist(
    store: SqlStore, failed_run: str, settings: Settings
) -> None:
    result = invoke("tasks", "logs", "flaky", failed_run, "boom", "--try", "3")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no log for try 3 of task instance 'boom' of run 'r1'; tries: 1, 2\n"
    )
    Path(attempt_log_path(settings.logs_folder, TaskInstanceKey("flaky", "r1", "boom"), 1)).unlink()
    result = invoke("tasks", "logs", "flaky", failed_run, "boom", "--try", "1")
    assert result.exit_code == 1 and "tries: 1, 2" in result.stderr
    result = invoke("tasks", "logs", "flaky", failed_run, "after")
    assert result.exit_code == 1
    assert result.stderr == "Error: task instance 'after' of run 'r1' has no attempts yet\n"


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["flaky", "r1", "../../etc"], "task_id '../../etc'"),
        (["flaky", "../../etc", "boom"], "run_id '../../etc'"),
        (["..", "r1", "boom"], "dag_id '..'"),
        (["flaky", "r1", "a\\b"], "task_id 'a\\\\b'"),
    ],
)
def test_hostile_ids_cannot_escape_the_logs_folder(
    store: SqlStore, failed_run: str, args: list[str], what: str
) -> None:
    result = invoke("tasks", "logs", *args)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {what} cannot name a log folder\n"


def test_follow_on_a_finished_attempt_prints_it_and_returns(
    store: SqlStore, failed_run: str
) -> None:
    started = time.monotonic()
    result = invoke("tasks", "logs", "flaky", failed_run, "boom", "--follow")
    assert result.exit_code == 0
    assert "going down" in result.stdout
    assert time.monotonic() - started < 5


def test_follow_prints_new_lines_until_the_attempt_ends(
    store: SqlStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks_cli, "FOLLOW_POLL_S", 0.02)
    invoke("dags", "trigger", "flaky", "--run-id", "live")
    key = TaskInstanceKey("flaky", "live", "start")
    path = Path(attempt_log_path(settings.logs_folder, key, 1))
    path.parent.mkdir(parents=True)
    path.write_text("first line\n")
    attempt = TaskAttempt(
        "flaky", "live", "start", -1, 1, TaskInstanceState.RUNNING,
        start_date=datetime(2024, 6, 1, tzinfo=UTC), log_path=str(path),
    )  # fmt: skip
    store.save_attempt(attempt)

    def task_writes_then_ends() -> None:
        time.sleep(0.3)
        with path.open("a") as file:
            file.write("second line\n")
        time.sleep(0.2)
        with path.open("a") as file:
            file.write("last line\n")
        attempt.state = TaskInstanceState.SUCCESS
        attempt.end_date = datetime(2024, 6, 1, 0, 1, tzinfo=UTC)
        store.save_attempt(attempt)

    worker = threading.Thread(target=task_writes_then_ends)
    worker.start()
    try:
        result = invoke("tasks", "logs", "flaky", "live", "start", "-F")
    finally:
        worker.join()
    assert result.exit_code == 0
    assert result.stdout == "first line\nsecond line\nlast line\n"
