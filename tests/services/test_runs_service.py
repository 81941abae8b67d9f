"""Runs through the services: trigger, list, show, delete; results as schema objects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.services.context import ServiceContext
from headwater.services.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.services.runs import (
    RUN_STATES,
    DagRunOut,
    DagRunWithInstances,
    TriggerRunRequest,
    delete_run,
    get_run,
    list_runs,
    trigger_run,
)
from headwater.services.task_instances import TaskInstanceOut
from stored_dags import run_now

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # the fake clock of the context's store


def test_trigger_returns_the_queued_run_as_json_the_cli_prints(ctx: ServiceContext) -> None:
    run = trigger_run(ctx, "etl", TriggerRunRequest(conf={"region": "us"}, run_id="by_hand"))
    assert isinstance(run, DagRunOut)
    assert run.to_json() == {
        "dag_id": "etl",
        "run_id": "by_hand",
        "state": "queued",
        "run_type": "manual",
        "logical_date": "2024-06-01T12:00:00+00:00",
        "data_interval_start": "2024-06-01T00:00:00+00:00",
        "data_interval_end": "2024-06-02T00:00:00+00:00",
        "start_date": None,
        "end_date": None,
        "conf": {"region": "us"},
        "backfill_id": None,
        "note": None,
        "partition_key": None,
    }
    assert ctx.store.get_dag_run("etl", "by_hand") is not None


def test_trigger_without_a_request_runs_now_with_the_default_id(ctx: ServiceContext) -> None:
    run = trigger_run(ctx, "etl")
    assert (run.run_id, run.logical_date) == (f"manual__{NOW.isoformat()}", NOW)


def test_trigger_refusals_name_the_id(ctx: ServiceContext) -> None:
    trigger_run(ctx, "etl", TriggerRunRequest(run_id="taken"))
    with pytest.raises(ConflictError, match="run_id 'taken' is taken"):
        trigger_run(ctx, "etl", TriggerRunRequest(run_id="taken"))
    with pytest.raises(NotFoundError, match="no DAG 'nope' in the database"):
        trigger_run(ctx, "nope")
    naive = TriggerRunRequest(logical_date=datetime(2024, 3, 5))
    with pytest.raises(InvalidRequestError, match="logical_date 2024-03-05T00:00:00 has no time"):
        trigger_run(ctx, "etl", naive)


def test_list_runs_newest_first_filtered_and_limited(ctx: ServiceContext) -> None:
    for day in (1, 3, 2):
        when = datetime(2024, 3, day, tzinfo=UTC)
        trigger_run(ctx, "etl", TriggerRunRequest(run_id=f"d{day}", logical_date=when))
    assert [r.run_id for r in list_runs(ctx, "etl")] == ["d3", "d2", "d1"]
    assert [r.run_id for r in list_runs(ctx, "etl", limit=2)] == ["d3", "d2"]
    assert list_runs(ctx, "etl", state="failed") == []
    assert list_runs(ctx, "flaky") == []  # a DAG without runs is not an error


def test_list_runs_refusals_name_the_value(ctx: ServiceContext) -> None:
    with pytest.raises(NotFoundError, match="no DAG 'nope'"):
        list_runs(ctx, "nope")
    with pytest.raises(InvalidRequestError, match="state 'lost' is not one of"):
        list_runs(ctx, "etl", state="lost")
    with pytest.raises(InvalidRequestError, match="limit must be at least 1, not 0"):
        list_runs(ctx, "etl", limit=0)


def test_get_run_has_each_task_instance(ctx: ServiceContext, folder: Path) -> None:
    run_now(ctx.store, folder, "flaky", "r1", ctx.settings)
    run = get_run(ctx, "flaky", "r1")
    assert isinstance(run, DagRunWithInstances)
    assert run.state == "failed"
    assert all(isinstance(ti, TaskInstanceOut) for ti in run.task_instances)
    assert {ti.task_id: ti.state for ti in run.task_instances} == {
        "start": "success",
        "boom": "failed",
        "after": "upstream_failed",
    }
    data = run.to_json()
    assert list(data)[-1] == "task_instances"
    assert data["task_instances"][1]["try_number"] == 2
    with pytest.raises(NotFoundError, match="DAG 'flaky' has no run 'r2'"):
        get_run(ctx, "flaky", "r2")


def test_delete_run_returns_it_and_forgets_it(ctx: ServiceContext) -> None:
    trigger_run(ctx, "etl", TriggerRunRequest(run_id="r1"))
    assert delete_run(ctx, "etl", "r1").run_id == "r1"
    assert ctx.store.get_dag_run("etl", "r1") is None
    with pytest.raises(NotFoundError, match="DAG 'etl' has no run 'r1'"):
        delete_run(ctx, "etl", "r1")


def test_the_cli_offers_the_states_the_service_accepts() -> None:
    from headwater.cli.dags import RUN_STATES as CLI_RUN_STATES

    assert tuple(CLI_RUN_STATES) == RUN_STATES
