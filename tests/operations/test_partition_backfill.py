"""Backfills over partitions: plans over a range of time partitions or a list of static keys,
runs created with their key once, reruns by reprocess, partitions not over yet skipped, and
clear errors for DAGs without partitions and keys they lack."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.engine.states import DagRunState
from headwater.operations import (
    InvalidRequestError,
    plan_partition_backfill,
    run_backfill,
    trigger_run,
)
from headwater.operations import partition_backfill as partition_module
from headwater.store import backfills
from headwater.store.sql import SqlStore
from stored_dags import store_dags

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

DAGS = """
from datetime import UTC, datetime
from headwater import DAG, StaticPartitions, TimePartitions
from headwater.operators import BashOperator

START = datetime(2024, 1, 1, tzinfo=UTC)

with DAG("daily_sales", start_date=START, schedule="@daily",
         partitions=TimePartitions("daily", start=START)):
    BashOperator(task_id="load", bash_command="echo {{ partition_key }}")
    BashOperator(task_id="report", bash_command="true")

with DAG("regional", start_date=START, schedule=None,
         partitions=StaticPartitions(["eu", "us", "apac"])):
    BashOperator(task_id="load", bash_command="echo {{ partition_key }}")

with DAG("plain", start_date=START, schedule="@daily"):
    BashOperator(task_id="load", bash_command="true")
"""


@pytest.fixture
def store(sql_store: SqlStore, tmp_path: Path) -> Iterator[SqlStore]:
    store_dags(sql_store, tmp_path / "partitioned", DAGS)
    return sql_store


def _day(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def test_a_range_of_time_partitions_plans_one_run_per_key(store: SqlStore) -> None:
    plan = plan_partition_backfill(store, "daily_sales", "2024-01-30..2024-02-01", now=NOW)
    assert [(i.partition_key, i.action, i.run_id) for i in plan] == [
        ("2024-01-30", "create", "backfill__2024-01-30__2024-01-30T00:00:00+00:00"),
        ("2024-01-31", "create", "backfill__2024-01-31__2024-01-31T00:00:00+00:00"),
        ("2024-02-01", "create", "backfill__2024-02-01__2024-02-01T00:00:00+00:00"),
    ]
    assert (plan[1].logical_date, plan[1].data_interval_start, plan[1].data_interval_end) == (
        _day(31),
        _day(31),
        datetime(2024, 2, 1, tzinfo=UTC),
    )
    assert (plan.start, plan.end, plan.partitions) == (
        _day(30),
        datetime(2024, 2, 2, tzinfo=UTC),
        "2024-01-30..2024-02-01",
    )
    assert store.list_dag_runs("daily_sales") == []  # planning changes nothing


def test_running_it_creates_keyed_runs_once_and_reruns_failed_ones(store: SqlStore) -> None:
    plan = plan_partition_backfill(store, "daily_sales", "2024-01-01..2024-01-04", now=NOW)
    result = run_backfill(store, plan, 2, NOW)
    assert result.id is not None and len(result.created) == 4
    runs = store.list_dag_runs("daily_sales")
    assert [(r.partition_key, r.run_type, r.state, r.backfill_id) for r in runs] == [
        (f"2024-01-0{n}", "backfill", DagRunState.QUEUED, result.id) for n in range(1, 5)
    ]
    assert [r.run_id for r in runs] == result.created
    assert {len(store.get_task_instances("daily_sales", r.run_id)) for r in runs} == {2}
    assert backfills.backfill_limits(store) == {result.id: 2}
    [event] = store.list_events(dag_id="daily_sales", kind="backfill")
    assert "partitions=2024-01-01..2024-01-04" in (event.detail or "")
    # Again: every partition has a queued run, nothing is created.
    again = plan_partition_backfill(store, "daily_sales", "2024-01-01..2024-01-04", now=NOW)
    assert {(i.action, i.reason) for i in again} == {("skip", "a run is queued")}
    assert run_backfill(store, again, 2, NOW).id is None
    # A failed partition is run again (reprocess failed); a successful one is not.
    failed, succeeded = runs[0], runs[1]
    failed.state, succeeded.state = DagRunState.FAILED, DagRunState.SUCCESS
    store.save_dag_run(failed)
    store.save_dag_run(succeeded)
    plan = plan_partition_backfill(store, "daily_sales", "2024-01-01,2024-01-02", now=NOW)
    assert [(i.partition_key, i.action, i.run_id) for i in plan] == [
        ("2024-01-01", "rerun", failed.run_id),
        ("2024-01-02", "skip", succeeded.run_id),
    ]
    rerun = run_backfill(store, plan, 1, NOW)
    assert rerun.rerun == [failed.run_id] and rerun.created == []
    assert store.get_dag_run("daily_sales", failed.run_id).state is DagRunState.QUEUED  # type: ignore[union-attr]


def test_partitions_not_over_yet_are_skipped(store: SqlStore) -> None:
    plan = plan_partition_backfill(store, "daily_sales", "2024-05-31..2024-06-02", now=NOW)
    assert [(i.partition_key, i.action, i.reason) for i in plan] == [
        ("2024-05-31", "create", "no run yet"),
        ("2024-06-01", "skip", "the partition ends at 2024-06-02T00:00:00+00:00"),
        ("2024-06-02", "skip", "the partition ends at 2024-06-03T00:00:00+00:00"),
    ]


def test_static_keys_and_a_partition_triggered_by_hand(store: SqlStore) -> None:
    manual = trigger_run(store, "regional", partition_key="us", now=NOW)
    assert (manual.partition_key, manual.run_id) == ("us", f"manual__us__{NOW.isoformat()}")
    plan = plan_partition_backfill(store, "regional", "eu..apac", now=NOW)
    assert [(i.partition_key, i.action) for i in plan] == [
        ("eu", "create"),
        ("us", "skip"),
        ("apac", "create"),
    ]
    result = run_backfill(store, plan, 3, NOW)
    assert result.created == [
        f"backfill__eu__{NOW.isoformat()}",
        f"backfill__apac__{NOW.isoformat()}",
    ]
    stored = {r.partition_key: r for r in store.list_dag_runs("regional")}
    assert sorted(stored) == ["apac", "eu", "us"]
    assert stored["eu"].logical_date == NOW  # static partitions have no time of their own


@pytest.mark.parametrize(
    ("dag_id", "spec", "message"),
    [
        ("plain", "2024-01-01..2024-01-02", "DAG 'plain' has no partitions: backfill it by"),
        (
            "daily_sales",
            "2024-01-05..2024-01-01",
            "DAG 'daily_sales': partition range .* backwards",
        ),
        ("daily_sales", "2024-01-01..2024-13-01", "'2024-13-01' is not a real date"),
        ("daily_sales", "2023-12-31,2024-01-01", "'2023-12-31' is before the first partition"),
        ("regional", "eu,mars", "'mars' is not one of the static"),
    ],
)
def test_bad_partitions_are_refused_naming_the_key(
    store: SqlStore, dag_id: str, spec: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        plan_partition_backfill(store, dag_id, spec, now=NOW)


def test_a_range_past_the_cap_is_refused_before_anything_is_stored(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partition_module, "MAX_BACKFILL_PARTITIONS", 10)
    with pytest.raises(InvalidRequestError, match="more than 10 runs: narrow the range"):
        plan_partition_backfill(store, "daily_sales", "2024-01-01..9999-12-31", now=NOW)
