"""Backfills: plans for each reprocess mode, runs created and rerun, idempotency, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headwater.engine.states import DagRunState
from headwater.exceptions import HeadwaterError
from headwater.operations import (
    InvalidRequestError,
    backfill_limits,
    plan_backfill,
    run_backfill,
    trigger_run,
)
from headwater.settings import Settings
from headwater.store import backfills
from headwater.store.sql import SqlStore
from headwater.store.sql.unit_of_work import SqlUnitOfWork
from stored_dags import JAN_1, run_now

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
JAN_3 = JAN_1 + timedelta(days=2)
JAN_5 = JAN_1 + timedelta(days=4)


def _day(n: int) -> datetime:
    return JAN_1 + timedelta(days=n - 1)


def _bf_id(n: int) -> str:
    return f"backfill__{_day(n).isoformat()}"


def _finish(store: SqlStore, run_id: str, state: DagRunState) -> None:
    run = store.get_dag_run("etl", run_id)
    assert run is not None
    run.state = state
    run.end_date = NOW
    store.save_dag_run(run)


def test_a_backfill_run_is_stored_with_its_backfill_id_from_the_start(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler reading a new run at any moment sees it under the backfill's limit: the
    runs are committed with their backfill id, all in the backfill's one transaction."""
    seen: list[tuple[int | None, bool]] = []
    create = SqlUnitOfWork.create_dag_run

    def create_and_look(uow, run, task_instances):  # type: ignore[no-untyped-def]
        create(uow, run, task_instances)
        inside = uow.get_dag_run(run.dag_id, run.run_id)
        outside = store.get_dag_run(run.dag_id, run.run_id)  # another connection
        seen.append((inside.backfill_id, outside is None))

    monkeypatch.setattr(SqlUnitOfWork, "create_dag_run", create_and_look)
    result = run_backfill(store, plan_backfill(store, "etl", JAN_1, JAN_3), 1, NOW)
    assert seen == [(result.id, True)] * 3
    assert {r.backfill_id for r in store.list_dag_runs("etl")} == {result.id}


def test_a_plan_on_an_empty_database_creates_every_interval(store: SqlStore) -> None:
    plan = plan_backfill(store, "etl", JAN_1, JAN_5)
    assert [(i.logical_date, i.action, i.run_id) for i in plan] == [
        (_day(n), "create", _bf_id(n)) for n in range(1, 6)
    ]
    assert plan[0].data_interval_start == JAN_1
    assert plan[0].data_interval_end == _day(2)
    assert (plan.dag_id, plan.start, plan.end, plan.reprocess) == ("etl", JAN_1, JAN_5, "failed")
    assert store.list_dag_runs("etl") == []  # planning changes nothing


def test_running_a_backfill_creates_queued_backfill_runs_under_one_id(store: SqlStore) -> None:
    result = run_backfill(store, plan_backfill(store, "etl", JAN_1, JAN_3), 2, NOW)
    assert result.id is not None
    assert result.created == [_bf_id(1), _bf_id(2), _bf_id(3)]
    assert result.rerun == [] and result.skipped == []
    runs = store.list_dag_runs("etl")
    assert [r.run_id for r in runs] == result.created
    for run in runs:
        assert run.state is DagRunState.QUEUED and run.run_type == "backfill"
        assert run.data_interval_end == run.logical_date + timedelta(days=1)
        assert run.params == {"region": "eu"}
        assert len(store.get_task_instances("etl", run.run_id)) == 4
    assert backfills.run_backfill_ids(store, "etl") == dict.fromkeys(result.created, result.id)
    [row] = backfills.list_backfills(store, "etl")
    assert (row.id, row.start, row.end, row.reprocess, row.max_active_runs, row.created_at) == (
        result.id,
        JAN_1,
        JAN_3,
        "failed",
        2,
        NOW,
    )
    assert backfill_limits(store) == {result.id: 2}
    assert backfills.active_backfill_runs(store) == {
        ("etl", run_id): result.id for run_id in result.created
    }
    [event] = store.list_events(dag_id="etl", kind="backfill")
    assert f"backfill {result.id}" in (event.detail or "") and "3 created" in (event.detail or "")


def test_the_same_backfill_twice_creates_nothing_the_second_time(store: SqlStore) -> None:
    first = run_backfill(store, plan_backfill(store, "etl", JAN_1, JAN_3), 2, NOW)
    plan = plan_backfill(store, "etl", JAN_1, JAN_3)
    assert [(i.action, i.state, i.reason) for i in plan] == [
        ("skip", "queued", "a run is queued")
    ] * 3
    second = run_backfill(store, plan, 2, NOW)
    assert second.id is None and second.created == [] and second.skipped == first.created
    assert len(backfills.list_backfills(store)) == 1
    assert len(store.list_dag_runs("etl")) == 3
    # Once they succeeded, the default reprocess (failed) still creates nothing.
    for run_id in first.created:
        _finish(store, run_id, DagRunState.SUCCESS)
    assert run_backfill(store, plan_backfill(store, "etl", JAN_1, JAN_3), 2, NOW).id is None
    assert backfill_limits(store) == {}


@pytest.fixture
def mixed(store: SqlStore, folder: Path, settings: Settings) -> SqlStore:
    """Jan 1 succeeded, Jan 2 failed, Jan 3 is queued, Jan 4 and 5 have no run."""
    assert run_now(store, folder, "etl", "ok", settings, logical_date=_day(1)).state == "success"
    run_now(store, folder, "etl", "bad", settings, logical_date=_day(2))
    _finish(store, "bad", DagRunState.FAILED)
    trigger_run(store, "etl", run_id="waiting", logical_date=_day(3), now=NOW)
    return store


@pytest.mark.parametrize(
    ("reprocess", "actions"),
    [
        ("failed", ["skip", "rerun", "skip", "create", "create"]),
        ("none", ["skip", "skip", "skip", "create", "create"]),
        ("all", ["rerun", "rerun", "skip", "create", "create"]),
    ],
)
def test_plans_for_each_reprocess_mode(mixed: SqlStore, reprocess: str, actions) -> None:
    plan = plan_backfill(mixed, "etl", JAN_1, JAN_5, reprocess)
    assert [i.action for i in plan] == actions
    assert [i.run_id for i in plan] == ["ok", "bad", "waiting", _bf_id(4), _bf_id(5)]
    assert [i.state for i in plan] == ["success", "failed", "queued", None, None]


def test_a_rerun_clears_the_whole_run_under_the_new_backfill(mixed: SqlStore) -> None:
    result = run_backfill(mixed, plan_backfill(mixed, "etl", JAN_1, JAN_5), 1, NOW)
    assert result.rerun == ["bad"]
    assert result.created == [_bf_id(4), _bf_id(5)]
    assert result.skipped == ["ok", "waiting"]
    bad = mixed.get_dag_run("etl", "bad")
    assert bad is not None and bad.state is DagRunState.QUEUED and bad.run_type == "manual"
    tis = mixed.get_task_instances("etl", "bad")
    assert {ti.key.label: ti.state.value for ti in tis} == dict.fromkeys(
        ["double", "extract", "load", "report"], "none"
    )
    assert mixed.get_mapped_xcoms("etl", "bad", "double", "return_value") == []
    assert backfills.run_backfill_ids(mixed, "etl") == {
        "bad": result.id,
        _bf_id(4): result.id,
        _bf_id(5): result.id,
    }
    assert backfill_limits(mixed) == {result.id: 1}
    # Again: what it touched is queued now, so nothing happens, unless reprocess asks for it.
    assert run_backfill(mixed, plan_backfill(mixed, "etl", JAN_1, JAN_5), 1, NOW).id is None
    again = run_backfill(mixed, plan_backfill(mixed, "etl", JAN_1, JAN_5, "all"), 1, NOW)
    assert again.rerun == ["ok"] and again.created == []


def test_reprocess_all_reruns_successful_runs_too(mixed: SqlStore) -> None:
    result = run_backfill(mixed, plan_backfill(mixed, "etl", JAN_1, _day(2), "all"), 3, NOW)
    assert result.rerun == ["ok", "bad"] and result.created == []
    ok = mixed.get_dag_run("etl", "ok")
    assert ok is not None and ok.state is DagRunState.QUEUED


def test_a_stale_plan_skips_what_changed_meanwhile(store: SqlStore) -> None:
    plan = plan_backfill(store, "etl", JAN_1, JAN_3)
    trigger_run(store, "etl", run_id="meanwhile", logical_date=_day(2), now=NOW)
    result = run_backfill(store, plan, 2, NOW)
    assert result.created == [_bf_id(1), _bf_id(3)]
    assert result.skipped == [_bf_id(2)]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("etl", JAN_5, JAN_1, "failed"), InvalidRequestError, "is after end"),
        (("etl", JAN_1, JAN_5, "some"), InvalidRequestError, "reprocess 'some' is not one of"),
        (("etl", datetime(2024, 1, 1), JAN_5, "failed"), InvalidRequestError, "no time zone"),
        (("partly", JAN_1, JAN_5, "failed"), HeadwaterError, "has no intervals to backfill"),
        (("nope", JAN_1, JAN_5, "failed"), HeadwaterError, "no DAG 'nope' in the database"),
    ],
)
def test_bad_backfills_are_refused(store: SqlStore, args, error, message: str) -> None:
    with pytest.raises(error, match=message):
        plan_backfill(store, *args)


def test_max_active_runs_must_be_positive(store: SqlStore) -> None:
    plan = plan_backfill(store, "etl", JAN_1, JAN_1)
    with pytest.raises(InvalidRequestError, match="max_active_runs must be 1 or more, not 0"):
        run_backfill(store, plan, 0, NOW)
    assert store.list_dag_runs("etl") == []


def test_a_plan_leaves_out_intervals_before_the_start_date_or_not_over_yet(
    store: SqlStore,
) -> None:
    before = JAN_1 - timedelta(days=3)
    plan = plan_backfill(store, "etl", before, JAN_5, now=JAN_3 + timedelta(hours=1))
    # Jan 1 and 2 have ended by Jan 3 01:00; Jan 3 is still running; nothing before Jan 1.
    assert [i.logical_date for i in plan] == [JAN_1, _day(2)]


def test_a_range_reaching_year_9999_plans_only_the_intervals_already_over(
    store: SqlStore,
) -> None:
    """The intervals are walked lazily and the walk stops at ``now``: a typo'd year costs
    only the intervals already over, not eight thousand years of them."""
    first, last = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)
    plan = plan_backfill(store, "etl", first, last, now=NOW)
    assert len(plan) == 152  # Jan 1 to May 31, 2024: those over by June 1 noon
    assert (plan[0].logical_date, plan[-1].logical_date) == (JAN_1, _day(152))


def test_a_backfill_over_more_runs_than_the_cap_is_refused_before_anything_is_stored(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.operations import backfill

    assert backfill.MAX_BACKFILL_RUNS == 10_000
    monkeypatch.setattr(backfill, "MAX_BACKFILL_RUNS", 30)
    assert len(plan_backfill(store, "etl", JAN_1, _day(30), now=NOW)) == 30  # at the cap: fine
    with pytest.raises(InvalidRequestError) as refused:
        plan_backfill(store, "etl", JAN_1, _day(31), now=NOW)
    assert str(refused.value) == (
        "backfill of DAG 'etl' from 2024-01-01T00:00:00+00:00 to 2024-01-31T00:00:00+00:00 "
        "would need at least 31 runs (schedule @daily); one backfill creates at most 30: "
        "narrow the range (--start/--end)"
    )
    assert store.list_dag_runs("etl") == [] and backfills.list_backfills(store) == []
