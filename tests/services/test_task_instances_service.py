"""Task instances and their logs through the services, on runs that really ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.engine.states import TaskInstanceState
from headwater.services.context import ServiceContext
from headwater.services.errors import ConflictError, NoAttemptYetError, NotFoundError
from headwater.services.logs import (
    AttemptLogOut,
    attempt_ended,
    attempt_may_start,
    find_attempt_log,
)
from headwater.services.runs import TriggerRunRequest, trigger_run
from headwater.services.task_instances import (
    ClearRequest,
    ClearResult,
    NothingCleared,
    TaskInstanceOut,
    clear_task_instances,
    get_task_instance,
    task_instances_to_clear,
)
from stored_dags import run_now


def test_get_task_instance_as_json(ctx: ServiceContext, folder: Path) -> None:
    run_now(ctx.store, folder, "flaky", "r1", ctx.settings)
    ti = get_task_instance(ctx, "flaky", "r1", "boom")
    assert isinstance(ti, TaskInstanceOut)
    data = ti.to_json()
    assert data["start_date"].endswith("+00:00")  # as the CLI always wrote times
    assert {k: data[k] for k in ("task_id", "map_index", "state", "try_number", "max_tries")} == {
        "task_id": "boom",
        "map_index": -1,
        "state": "failed",
        "try_number": 2,
        "max_tries": 2,
    }
    assert "exit code 3" in (ti.error or "")
    assert (ti.pool, ti.queue, ti.priority_weight) == ("default_pool", "default", 1)


def test_get_task_instance_says_what_is_missing(ctx: ServiceContext, folder: Path) -> None:
    run_now(ctx.store, folder, "etl", "r1", ctx.settings)
    assert get_task_instance(ctx, "etl", "r1", "double", 2).label == "double[2]"
    with pytest.raises(NotFoundError, match="DAG 'etl' has no run 'r2'"):
        get_task_instance(ctx, "etl", "r2", "double")
    with pytest.raises(NotFoundError, match="run 'r1' of DAG 'etl' has no task 'nope'"):
        get_task_instance(ctx, "etl", "r1", "nope")
    with pytest.raises(NotFoundError, match="has no map index 7; its map indexes: 0, 1, 2"):
        get_task_instance(ctx, "etl", "r1", "double", 7)


def test_clear_previews_then_clears_and_queues_the_run(ctx: ServiceContext, folder: Path) -> None:
    run_now(ctx.store, folder, "flaky", "r1", ctx.settings)
    request = ClearRequest(task_ids=["boom"], downstream=True)
    preview = task_instances_to_clear(ctx, "flaky", "r1", request)
    assert [(ti.label, ti.state) for ti in preview] == [
        ("boom", "failed"),
        ("after", "upstream_failed"),
    ]
    assert get_task_instance(ctx, "flaky", "r1", "boom").state == "failed"  # not yet

    result = clear_task_instances(ctx, "flaky", "r1", request)

    assert isinstance(result, ClearResult)
    assert result.to_json() == {
        "dag_id": "flaky",
        "run_id": "r1",
        "run_state": "queued",
        "cleared": [{"task_id": "boom", "map_index": -1}, {"task_id": "after", "map_index": -1}],
    }
    assert get_task_instance(ctx, "flaky", "r1", "boom").state == "none"


def test_nothing_cleared_has_no_run_state() -> None:
    assert NothingCleared(dag_id="d", run_id="r").to_json() == {
        "dag_id": "d",
        "run_id": "r",
        "cleared": [],
    }


def test_clearing_a_running_instance_is_a_conflict(ctx: ServiceContext) -> None:
    trigger_run(ctx, "flaky", TriggerRunRequest(run_id="r1"))
    start = ctx.store.get_task_instance("flaky", "r1", "start")
    assert start is not None
    start.state = TaskInstanceState.RUNNING
    ctx.store.save_task_instances([start])
    with pytest.raises(ConflictError, match=r"queued or running: 'start' \(running\)"):
        clear_task_instances(ctx, "flaky", "r1", ClearRequest(task_ids=["start"]))
    with pytest.raises(NotFoundError, match="DAG 'flaky' has no run 'r9'"):
        clear_task_instances(ctx, "flaky", "r9", ClearRequest(task_ids=["start"]))


def test_find_attempt_log_of_each_try(ctx: ServiceContext, folder: Path) -> None:
    run_now(ctx.store, folder, "flaky", "r1", ctx.settings)
    latest = find_attempt_log(ctx, "flaky", "r1", "boom")
    assert isinstance(latest, AttemptLogOut)
    assert (latest.try_number, latest.tries) == (2, [1, 2])
    assert "going down" in latest.path.read_text()
    assert latest.path.is_relative_to(ctx.settings.logs_folder)
    assert find_attempt_log(ctx, "flaky", "r1", "boom", try_number=1).try_number == 1
    assert attempt_ended(ctx, latest)
    with pytest.raises(NotFoundError, match="try 3"):
        find_attempt_log(ctx, "flaky", "r1", "boom", try_number=3)


def test_an_instance_without_an_attempt_may_still_start(ctx: ServiceContext) -> None:
    trigger_run(ctx, "flaky", TriggerRunRequest(run_id="r1"))
    with pytest.raises(NoAttemptYetError, match="boom"):
        find_attempt_log(ctx, "flaky", "r1", "boom")
    assert attempt_may_start(ctx, "flaky", "r1", "boom")
    assert not attempt_may_start(ctx, "flaky", "r1", "nope")
