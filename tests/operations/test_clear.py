"""Clearing task instances: Airflow's semantics, on runs that really ran (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.engine.records import TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import TaskNotFoundError
from headwater.operations import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    clear_task_instances,
    task_instances_to_clear,
    trigger_run,
)
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import run_now

S = TaskInstanceState
NOW = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)


def _states(store: SqlStore, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti.key.label: ti.state.value for ti in store.get_task_instances(dag_id, run_id)}


def _ti(store: SqlStore, dag_id: str, run_id: str, task_id: str, map_index: int = -1):
    ti = store.get_task_instance(dag_id, run_id, task_id, map_index)
    assert ti is not None
    return ti


def test_clearing_a_failed_task_resets_its_retries_and_queues_the_run(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    assert run_now(store, folder, "flaky", "r1", settings).state == "failed"
    boom = _ti(store, "flaky", "r1", "boom")
    assert (boom.state, boom.try_number, boom.max_tries) == (S.FAILED, 2, 2)

    keys = clear_task_instances(store, "flaky", "r1", ["boom"], now=NOW)

    assert keys == [TaskInstanceKey("flaky", "r1", "boom")]
    assert _states(store, "flaky", "r1") == {
        "start": "success",
        "boom": "none",
        "after": "upstream_failed",  # not downstream=True: left as it was
    }
    boom = _ti(store, "flaky", "r1", "boom")
    # Tries so far are kept; it gets all its retries again: 2 + retries (1) + 1.
    assert (boom.try_number, boom.max_tries) == (2, 4)
    assert boom.end_date is None and boom.error is None and boom.next_retry_at is None
    assert store.get_xcom(boom.key, "return_value") is None
    # Attempt history stays.
    assert [a.try_number for a in store.get_attempts("flaky", "r1", "boom")] == [1, 2]
    run = store.get_dag_run("flaky", "r1")
    assert run is not None
    assert run.state is DagRunState.QUEUED
    assert run.end_date is None and run.start_date is None
    [event] = store.list_events(dag_id="flaky", run_id="r1", kind="clear")
    assert (event.at, event.task_id, event.detail) == (NOW, "boom", "cleared boom")


def test_downstream_clears_every_task_below(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "r1", settings)
    keys = clear_task_instances(store, "flaky", "r1", ["boom"], downstream=True, now=NOW)
    assert [k.task_id for k in keys] == ["boom", "after"]
    assert _states(store, "flaky", "r1") == {"start": "success", "boom": "none", "after": "none"}
    assert _ti(store, "flaky", "r1", "after").max_tries == 1  # never tried: 0 + 0 + 1
    [event] = store.list_events(dag_id="flaky", run_id="r1", kind="clear")
    assert event.detail == "cleared boom, after (downstream)" and event.task_id is None


def test_clearing_a_mapped_task_replaces_its_instances_by_a_placeholder(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    assert run_now(store, folder, "etl", "r1", settings).state == "success"
    assert store.get_mapped_xcoms("etl", "r1", "double", "return_value") == ["2", "4", "6"]

    keys = clear_task_instances(store, "etl", "r1", ["extract"], downstream=True, now=NOW)

    assert [k.label for k in keys] == [
        "extract",
        "double[0]",
        "double[1]",
        "double[2]",
        "load",
        "report",
    ]
    assert _states(store, "etl", "r1") == {
        "double": "none",
        "extract": "none",
        "load": "none",
        "report": "none",
    }
    placeholder = _ti(store, "etl", "r1", "double")
    # The most tries any instance had (1), and all its retries again: 1 + retries (2) + 1.
    assert (placeholder.map_index, placeholder.try_number, placeholder.max_tries) == (-1, 1, 4)
    # Every XCom of the cleared instances is gone.
    for task_id in ("extract", "load", "report"):
        assert store.get_xcom(TaskInstanceKey("etl", "r1", task_id), "return_value") is None
    assert store.get_mapped_xcoms("etl", "r1", "double", "return_value") == []
    assert store.get_dag_run("etl", "r1").state is DagRunState.QUEUED  # type: ignore[union-attr]


def test_clearing_below_a_mapped_task_keeps_it(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    keys = clear_task_instances(store, "etl", "r1", ["load"], now=NOW)
    assert [k.label for k in keys] == ["load"]
    states = _states(store, "etl", "r1")
    assert states["load"] == "none" and states["report"] == "success"
    assert states["double[0]"] == states["double[2]"] == "success"
    assert store.get_mapped_xcoms("etl", "r1", "double", "return_value") == ["2", "4", "6"]
    assert store.get_xcom(TaskInstanceKey("etl", "r1", "report"), "return_value") is not None


def test_only_failed_clears_the_failed_instances_of_a_mapped_task(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    assert run_now(store, folder, "partly", "r1", settings).state == "failed"
    assert _states(store, "partly", "r1") == {
        "numbers": "success",
        "half[0]": "success",
        "half[1]": "failed",
        "half[2]": "success",
        "total": "upstream_failed",
    }
    keys = clear_task_instances(
        store, "partly", "r1", ["numbers"], downstream=True, only_failed=True, now=NOW
    )
    assert [k.label for k in keys] == ["half[1]", "total"]
    # Only half[1] runs again, without expanding: its siblings and their XComs stay.
    assert _states(store, "partly", "r1") == {
        "numbers": "success",
        "half[0]": "success",
        "half[1]": "none",
        "half[2]": "success",
        "total": "none",
    }
    assert _ti(store, "partly", "r1", "half", 1).max_tries == 2
    assert store.get_mapped_xcoms("partly", "r1", "half", "return_value") == ["0.5", "1.5"]


def test_only_failed_with_nothing_failed_changes_nothing(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    assert clear_task_instances(store, "etl", "r1", ["extract"], only_failed=True, now=NOW) == []
    assert store.get_dag_run("etl", "r1").state is DagRunState.SUCCESS  # type: ignore[union-attr]
    assert store.list_events(dag_id="etl", kind="clear") == []


def test_the_preview_lists_what_would_be_cleared_and_changes_nothing(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "flaky", "r1", settings)
    tis = task_instances_to_clear(store, "flaky", "r1", ["start"], downstream=True)
    assert [(ti.task_id, ti.state) for ti in tis] == [
        ("start", S.SUCCESS),
        ("boom", S.FAILED),
        ("after", S.UPSTREAM_FAILED),
    ]
    assert _states(store, "flaky", "r1")["boom"] == "failed"


def test_queued_or_running_instances_are_refused(store: SqlStore) -> None:
    run = trigger_run(store, "flaky", run_id="r1", now=NOW)
    start = _ti(store, "flaky", run.run_id, "start")
    start.state = S.RUNNING
    store.save_task_instances([start])
    with pytest.raises(ConflictError, match=r"queued or running: 'start' \(running\)"):
        clear_task_instances(store, "flaky", "r1", ["start"], downstream=True, now=NOW)
    assert _states(store, "flaky", "r1")["start"] == "running"
    # A task that is not running can be cleared meanwhile.
    assert [k.task_id for k in clear_task_instances(store, "flaky", "r1", ["boom"], now=NOW)] == [
        "boom"
    ]


@pytest.mark.parametrize(
    ("dag_id", "run_id", "task_ids", "error", "message"),
    [
        ("nope", "r1", ["a"], NotFoundError, "no DAG 'nope'"),
        ("flaky", "nope", ["boom"], NotFoundError, "DAG 'flaky' has no run 'nope'"),
        ("flaky", "r1", ["bom"], TaskNotFoundError, "DAG 'flaky' has no task 'bom'"),
        ("flaky", "r1", [], InvalidRequestError, "name at least one task"),
    ],
)
def test_bad_ids_are_refused_naming_them(
    store: SqlStore, dag_id: str, run_id: str, task_ids: list[str], error, message: str
) -> None:
    trigger_run(store, "flaky", run_id="r1", now=NOW)
    with pytest.raises(error, match=message):
        clear_task_instances(store, dag_id, run_id, task_ids, now=NOW)
