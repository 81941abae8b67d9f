"""Backfills through the services: a dry-run plan, then the backfill carried out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.services.backfills import (
    BackfillPlanOut,
    BackfillRequest,
    BackfillResult,
    plan_backfill,
    run_backfill,
)
from headwater.services.context import ServiceContext
from headwater.services.errors import InvalidRequestError, NotFoundError
from headwater.services.runs import list_runs

JAN = [datetime(2024, 1, day, tzinfo=UTC) for day in (1, 2, 3)]


def test_a_dry_run_plans_and_changes_nothing(ctx: ServiceContext) -> None:
    plan = plan_backfill(ctx, "etl", BackfillRequest(start=JAN[0], end=JAN[2]))
    assert isinstance(plan, BackfillPlanOut)
    data = plan.to_json()
    assert {k: data[k] for k in ("dag_id", "start", "end", "reprocess", "dry_run")} == {
        "dag_id": "etl",
        "start": "2024-01-01T00:00:00+00:00",
        "end": "2024-01-03T00:00:00+00:00",
        "reprocess": "failed",
        "dry_run": True,
    }
    assert [(i["action"], i["run_id"], i["state"]) for i in data["items"]] == [
        ("create", f"backfill__{day.isoformat()}", None) for day in JAN
    ]
    assert data["items"][0]["data_interval_end"] == "2024-01-02T00:00:00+00:00"
    assert list_runs(ctx, "etl") == []


def test_a_backfill_creates_the_runs_once(ctx: ServiceContext) -> None:
    request = BackfillRequest(start=JAN[0], end=JAN[1])
    result = run_backfill(ctx, "etl", request)
    assert isinstance(result, BackfillResult)
    assert result.backfill_id is not None
    assert result.max_active_runs == 3  # the DAG's
    assert result.created == [f"backfill__{day.isoformat()}" for day in JAN[:2]]
    assert (result.rerun, result.skipped, result.dry_run) == ([], [], False)
    assert [r.backfill_id for r in list_runs(ctx, "etl")] == [result.backfill_id] * 2

    again = run_backfill(ctx, "etl", request.model_copy(update={"max_active_runs": 1}))
    assert (again.backfill_id, again.created, again.max_active_runs) == (None, [], 1)
    assert [i.action for i in again.items] == ["skip", "skip"]


def test_backfill_refusals_name_the_value(ctx: ServiceContext) -> None:
    with pytest.raises(NotFoundError, match="no DAG 'nope'"):
        plan_backfill(ctx, "nope", BackfillRequest(start=JAN[0], end=JAN[1]))
    with pytest.raises(InvalidRequestError, match="start 2024-01-03T00:00:00\\+00:00 is after"):
        run_backfill(ctx, "etl", BackfillRequest(start=JAN[2], end=JAN[0]))
    with pytest.raises(InvalidRequestError, match="reprocess 'some' is not one of"):
        plan_backfill(ctx, "etl", BackfillRequest(start=JAN[0], end=JAN[1], reprocess="some"))
    with pytest.raises(InvalidRequestError, match="max_active_runs must be 1 or more, not 0"):
        run_backfill(ctx, "etl", BackfillRequest(start=JAN[0], end=JAN[1], max_active_runs=0))
