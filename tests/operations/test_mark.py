"""Marking task instances success or failed: Airflow's semantics, on runs that really ran
(SQLite, PostgreSQL), through the engine's transitions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import TaskInstanceKey
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.exceptions import TaskNotFoundError
from headwater.operations import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    mark_task_instances,
    trigger_run,
)
from headwater.operations._stored import stored_dag, xcoms_for
from headwater.settings import Settings
from headwater.store.sql import SqlStore
from stored_dags import run_now

S = TaskInstanceState
NOW = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)


def _states(store: SqlStore, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti.key.label: ti.state.value for ti in store.get_task_instances(dag_id, run_id)}


def _run_state(store: SqlStore, dag_id: str, run_id: str) -> DagRunState:
    run = store.get_dag_run(dag_id, run_id)
    assert run is not None
    return run.state


def test_marking_a_failed_task_and_its_downstream_success_makes_the_run_succeed(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    assert run_now(store, folder, "flaky", "r1", settings).state == "failed"

    keys = mark_task_instances(store, "flaky", "r1", ["boom"], "success", downstream=True, now=NOW)

    assert keys == [TaskInstanceKey("flaky", "r1", "boom"), TaskInstanceKey("flaky", "r1", "after")]
    assert _states(store, "flaky", "r1") == {
        "start": "success",
        "boom": "success",
        "after": "success",
    }
    boom = store.get_task_instance("flaky", "r1", "boom", -1)
    assert boom is not None
    # Its tries are its own: marking is no attempt.
    assert (boom.try_number, boom.end_date, boom.error) == (2, NOW, None)
    assert [a.try_number for a in store.get_attempts("flaky", "r1", "boom")] == [1, 2]
    run = store.get_dag_run("flaky", "r1")
    assert run is not None
    assert (run.state, run.end_date) == (DagRunState.SUCCESS, NOW)
    [event] = store.list_events(dag_id="flaky", run_id="r1", kind="mark")
    assert (event.at, event.state, event.task_id) == (NOW, "success", None)
    assert event.detail == "marked success boom, after (downstream)"


def test_marking_a_task_failed_fails_a_finished_run(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    assert run_now(store, folder, "etl", "r1", settings).state == "success"
    keys = mark_task_instances(store, "etl", "r1", ["report"], "failed", now=NOW)
    assert [k.label for k in keys] == ["report"]
    assert _states(store, "etl", "r1")["report"] == "failed"
    assert _run_state(store, "etl", "r1") is DagRunState.FAILED
    [event] = store.list_events(dag_id="etl", run_id="r1", kind="mark")
    assert (event.task_id, event.detail) == ("report", "marked failed report")


def test_a_task_marked_success_in_a_queued_run_lets_its_downstream_run_next(
    store: SqlStore,
) -> None:
    trigger_run(store, "flaky", run_id="r1", now=NOW)

    keys = mark_task_instances(store, "flaky", "r1", ["start"], "success", now=NOW)

    assert [k.task_id for k in keys] == ["start"]
    assert _states(store, "flaky", "r1") == {"start": "success", "boom": "none", "after": "none"}
    assert _run_state(store, "flaky", "r1") is DagRunState.QUEUED
    # The scheduler reloads the run: what comes next is start's downstream task.
    _, dag = stored_dag(store, "flaky", action="test")
    engine = DagRunEngine.load(dag, store, xcoms_for(store), "flaky", "r1", now=NOW)
    engine.start(NOW)
    assert [ti.task_id for ti in engine.schedule(NOW)] == ["boom"]


def test_every_instance_of_a_mapped_task_is_marked(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    assert run_now(store, folder, "partly", "r1", settings).state == "failed"
    keys = mark_task_instances(store, "partly", "r1", ["half"], "success", now=NOW)
    assert [k.label for k in keys] == ["half[1]"]  # the others already succeeded
    assert _states(store, "partly", "r1")["total"] == "upstream_failed"  # left as it was
    assert _run_state(store, "partly", "r1") is DagRunState.FAILED


def test_instances_already_in_the_state_change_nothing(
    store: SqlStore, folder: Path, settings: Settings
) -> None:
    run_now(store, folder, "etl", "r1", settings)
    assert mark_task_instances(store, "etl", "r1", ["extract"], S.SUCCESS, now=NOW) == []
    assert store.list_events(dag_id="etl", kind="mark") == []


def test_queued_or_running_instances_are_refused(store: SqlStore) -> None:
    trigger_run(store, "flaky", run_id="r1", now=NOW)
    start = store.get_task_instance("flaky", "r1", "start", -1)
    assert start is not None
    start.state = S.RUNNING
    store.save_task_instances([start])
    with pytest.raises(
        ConflictError, match=r"cannot mark .* queued or running: 'start' \(running\)"
    ):
        mark_task_instances(store, "flaky", "r1", ["start"], "failed", downstream=True, now=NOW)
    assert _states(store, "flaky", "r1") == {"start": "running", "boom": "none", "after": "none"}
    assert store.list_events(dag_id="flaky", kind="mark") == []


@pytest.mark.parametrize(
    ("dag_id", "run_id", "task_ids", "state", "error", "message"),
    [
        ("nope", "r1", ["a"], "success", NotFoundError, "no DAG 'nope'"),
        ("flaky", "nope", ["boom"], "success", NotFoundError, "DAG 'flaky' has no run 'nope'"),
        ("flaky", "r1", ["bom"], "success", TaskNotFoundError, "DAG 'flaky' has no task 'bom'"),
        ("flaky", "r1", [], "success", InvalidRequestError, "name at least one task to mark"),
        ("flaky", "r1", ["boom"], "skipped", InvalidRequestError, "state 'skipped' is not valid"),
    ],
)
def test_bad_input_is_refused_naming_it(
    store: SqlStore,
    dag_id: str,
    run_id: str,
    task_ids: list[str],
    state: str,
    error: type[Exception],
    message: str,
) -> None:
    trigger_run(store, "flaky", run_id="r1", now=NOW)
    with pytest.raises(error, match=message):
        mark_task_instances(store, dag_id, run_id, task_ids, state, now=NOW)
    assert _states(store, "flaky", "r1") == {"start": "none", "boom": "none", "after": "none"}
