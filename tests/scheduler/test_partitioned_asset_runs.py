"""Partitioned assets under the scheduler (in process, memory store, fake clock): a producer
run of one partition updates that partition of its asset, and a DAG partitioned the same way
and scheduled on it runs that partition only; a condition on two assets is met per
partition; events without a key, and DAGs without partitions, keep one run for all."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.engine.records import DagRun
from headwater.operations import trigger_run

DAGS = """
from headwater import Asset, StaticPartitions, TimePartitions

DAYS = TimePartitions("daily", start=START)
REGIONS = StaticPartitions(["eu", "us", "apac"])
SALES = Asset("s3://bucket/sales", partitions=DAYS)
STOCK = Asset("s3://bucket/stock", partitions=DAYS)
ORDERS = Asset("s3://bucket/orders", partitions=REGIONS)

with DAG("orders_producer", start_date=START, schedule=None, partitions=REGIONS):
    BashOperator(task_id="write", bash_command="echo writing {{ partition_key }}",
                 outlets=[ORDERS])

def seen(partition_key, triggering_asset_events, data_interval_start):
    return {"key": partition_key, "start": data_interval_start.isoformat(),
            "events": sorted([uri, e.partition_key] for uri, es in triggering_asset_events.items()
                             for e in es)}

with DAG("orders_report", start_date=START, schedule=[ORDERS], partitions=REGIONS):
    PythonOperator(task_id="read", python_callable=seen)

with DAG("orders_total", start_date=START, schedule=[ORDERS]):
    EmptyOperator(task_id="sum")

with DAG("daily_model", start_date=START, schedule=[SALES, STOCK], partitions=DAYS):
    PythonOperator(task_id="read", python_callable=seen)
"""


@pytest.fixture
def mem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    clock = FakeClock(at(4, 0, 30))
    harness = Harness.in_memory(tmp_path, monkeypatch, clock)
    harness.write_dag("partitioned", DAGS)
    harness.process()
    yield harness
    harness.close()
    shutil.rmtree(harness.folder, ignore_errors=True)


def _asset_runs(h: Harness, dag_id: str) -> list[DagRun]:
    return sorted(
        (r for r in h.runs(dag_id) if r.run_type == "asset_triggered"),
        key=lambda r: r.partition_key or "",
    )


def _settle(h: Harness) -> None:
    h.run_until(
        lambda: all(
            r.state.value in ("success", "failed")
            for dag_id in ("orders_producer", "orders_report", "orders_total", "daily_model")
            for r in h.runs(dag_id)
        )
    )


def _pass(h: Harness) -> None:
    h.clock.advance(timedelta(seconds=5))
    h.step()
    _settle(h)


def test_a_producer_partition_runs_the_matching_partition_downstream_only(mem: Harness) -> None:
    for key in ("eu", "us"):
        trigger_run(mem.store, "orders_producer", partition_key=key, now=mem.clock.now())
    _settle(mem)
    _pass(mem)
    eu, us = _asset_runs(mem, "orders_report")
    assert [(r.partition_key, r.state.value) for r in (eu, us)] == [
        ("eu", "success"),
        ("us", "success"),
    ]
    assert eu.run_id == f"asset_triggered__eu__{eu.logical_date.isoformat()}"
    assert mem.xcom("orders_report", eu.run_id, "read")["events"] == [["s3://bucket/orders", "eu"]]
    # A DAG without partitions runs on the events as before (whatever their keys), unkeyed.
    totals = _asset_runs(mem, "orders_total")
    assert {r.partition_key for r in totals} == {None}
    consumed = [
        e.partition_key
        for r in totals
        for e in mem.store.triggering_asset_events("orders_total", r.run_id)
    ]
    assert sorted(consumed) == ["eu", "us"]
    # Nothing more without new events; apac never ran.
    _pass(mem)
    assert len(_asset_runs(mem, "orders_report")) == 2
    assert mem.store.queued_asset_events() == []


def test_a_condition_on_two_assets_is_met_per_partition(mem: Harness) -> None:
    now = mem.clock.now()
    mem.store.create_asset_event("s3://bucket/sales", timestamp=now, partition_key="2024-01-02")
    mem.store.create_asset_event("s3://bucket/stock", timestamp=now, partition_key="2024-01-03")
    _pass(mem)
    assert _asset_runs(mem, "daily_model") == []  # each day has one of the two
    mem.store.create_asset_event(
        "s3://bucket/stock", timestamp=mem.clock.now(), partition_key="2024-01-02"
    )
    _pass(mem)
    (run,) = _asset_runs(mem, "daily_model")
    assert run.partition_key == "2024-01-02"
    # The run covers its partition's day, and saw that day's events only.
    assert (run.data_interval_start, run.data_interval_end) == (at(2), at(3))
    assert mem.xcom("daily_model", run.run_id, "read") == {
        "key": "2024-01-02",
        "start": at(2).isoformat(),
        "events": [["s3://bucket/sales", "2024-01-02"], ["s3://bucket/stock", "2024-01-02"]],
    }
    # Jan 3's stock event waits for Jan 3's sales.
    assert [e.partition_key for e in mem.store.queued_asset_events("daily_model")] == ["2024-01-03"]


def test_events_without_a_key_keep_one_run_and_bad_keys_stay_queued(
    mem: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    now = mem.clock.now()
    mem.store.create_asset_event("s3://bucket/orders", timestamp=now)
    mem.store.create_asset_event("s3://bucket/orders", timestamp=now, partition_key="mars")
    _pass(mem)
    (run,) = _asset_runs(mem, "orders_report")
    assert run.partition_key is None
    assert [e.partition_key for e in mem.store.queued_asset_events("orders_report")] == ["mars"]
    assert "stay queued: DAG 'orders_report': partition key 'mars' is not one of" in caplog.text


def test_scheduled_runs_of_a_time_partitioned_dag_carry_their_partition(mem: Harness) -> None:
    """The scheduler's runs get their data interval's key; a producer's outlet events carry it."""
    mem.write_dag(
        "scheduled",
        """
from headwater import Asset, TimePartitions

DAYS = TimePartitions("daily", start=START)

with DAG("daily_export", start_date=START, schedule="@daily", partitions=DAYS, catchup=True):
    BashOperator(task_id="export", bash_command="echo day={{ partition_key }}",
                 outlets=[Asset("s3://bucket/export", partitions=DAYS)])
""",
    )
    mem.process()
    mem.step()
    mem.run_until(lambda: len(mem.runs("daily_export")) == 3 and _all_done(mem, "daily_export"))
    runs = mem.runs("daily_export")
    assert [(r.run_type, r.partition_key) for r in runs] == [
        ("scheduled", "2024-01-01"),
        ("scheduled", "2024-01-02"),
        ("scheduled", "2024-01-03"),
    ]
    assert runs[0].run_id == "scheduled__2024-01-01__2024-01-01T00:00:00+00:00"
    events = mem.store.list_asset_events()
    assert sorted(e.partition_key for e in events) == ["2024-01-01", "2024-01-02", "2024-01-03"]


def _all_done(h: Harness, dag_id: str) -> bool:
    return all(r.state.value in ("success", "failed") for r in h.runs(dag_id))
