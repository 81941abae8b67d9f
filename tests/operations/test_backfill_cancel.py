"""Cancelling a backfill: queued runs end failed without starting, running ones finish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.operations import (
    ConflictError,
    NotFoundError,
    cancel_backfill,
    plan_backfill,
    run_backfill,
)
from headwater.operations.actors import acting_as
from headwater.store.sql import SqlStore
from stored_dags import JAN_1

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def _start(store: SqlStore, run_id: str) -> None:
    run = store.get_dag_run("etl", run_id)
    assert run is not None
    run.state = DagRunState.RUNNING
    run.start_date = NOW
    store.save_dag_run(run)


def test_cancel_fails_the_queued_runs_and_leaves_the_running_one(store: SqlStore) -> None:
    plan = plan_backfill(store, "etl", JAN_1, JAN_1 + timedelta(days=2), now=NOW)
    backfill = run_backfill(store, plan, 1, NOW, created_by="ann")
    assert backfill.id is not None
    first, second, third = backfill.created
    _start(store, first)

    result = cancel_backfill(store, backfill.id, LATER, cancelled_by="bob")

    assert (result.not_started, result.still_running) == ([second, third], [first])
    states = {r.run_id: r.state for r in store.list_dag_runs("etl")}
    assert states == {
        first: DagRunState.RUNNING,
        second: DagRunState.FAILED,
        third: DagRunState.FAILED,
    }
    cancelled = store.get_dag_run("etl", second)
    assert cancelled is not None and cancelled.note == f"backfill {backfill.id} was cancelled"
    assert {ti.state for ti in store.get_task_instances("etl", second)} == {
        TaskInstanceState.SKIPPED
    }
    row = store.get_backfill(backfill.id)
    assert row is not None and (row.created_by, row.completed_at) == ("ann", LATER)
    [event] = store.list_events(kind="backfill_cancel")
    assert event.dag_id == "etl"
    assert event.actor == "bob"
    assert "2 queued run(s) will not start, 1 running run(s) finish" in event.detail


def test_a_backfill_is_cancelled_once(store: SqlStore) -> None:
    plan = plan_backfill(store, "etl", JAN_1, JAN_1, now=NOW)
    backfill = run_backfill(store, plan, 1, NOW)
    assert backfill.id is not None
    cancel_backfill(store, backfill.id, LATER)
    with pytest.raises(ConflictError, match=f"backfill {backfill.id} is already completed"):
        cancel_backfill(store, backfill.id, LATER)
    assert len(store.list_events(kind="backfill_cancel")) == 1


def test_cancelling_an_unknown_backfill_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFoundError, match="no backfill 4242"):
        cancel_backfill(store, 4242, LATER)


def test_who_starts_or_cancels_is_the_current_actor_unless_named(store: SqlStore) -> None:
    plan = plan_backfill(store, "etl", JAN_1, JAN_1, now=NOW)
    with acting_as("cli:me"):
        backfill = run_backfill(store, plan, 1, NOW)
        assert backfill.id is not None
        cancel_backfill(store, backfill.id, LATER)
    row = store.get_backfill(backfill.id)
    assert row is not None and row.created_by == "cli:me"
    assert [e.actor for e in store.list_events(kind="backfill")] == ["cli:me"]
    assert [e.actor for e in store.list_events(kind="backfill_cancel")] == ["cli:me"]
