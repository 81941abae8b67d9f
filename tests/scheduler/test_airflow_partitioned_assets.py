"""Airflow 3.3's partitioned assets under the scheduler (in process, memory store, fake
clock): a CronPartitionTimetable producer's runs carry the key of their cron time; consumers
on a PartitionedAssetTimetable run once per mapped key, when every asset of their condition
has that key (multi-asset alignment), once a rollup's window is in, and once per key of a
fan-out; tasks name keys at run time with ``add_partitions``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scheduler_harness import Harness, at

from headwater.clock import FakeClock
from headwater.engine.records import DagRun
from headwater.operations import trigger_run
from headwater.store.assets import AssetEventFilter

DAGS = """
from headwater import Asset
from headwater.partitions import (
    AllowedKeyMapper, CronPartitionTimetable, DayWindow, FanOutMapper, IdentityMapper,
    PartitionedAssetTimetable, PartitionedAtRuntime, ProductMapper, RollupMapper,
    StartOfDayMapper, StartOfHourMapper, StartOfWeekMapper, WeekWindow,
)

HOURLY = Asset("file://stats/hourly.csv")
OTHER = Asset("file://stats/other.csv")
REGIONS = Asset("file://sales/regions.csv")
WEEKLY = Asset("file://models/weekly.bin")


def seen(dag_run, partition_key, partition_date, triggering_asset_events):
    return {
        "key": partition_key,
        "run_key": dag_run.partition_key,
        "date": None if partition_date is None else partition_date.isoformat(),
        "events": sorted([uri, e.partition_key] for uri, es in triggering_asset_events.items()
                         for e in es),
    }


with DAG("hourly_producer", start_date=START, schedule=CronPartitionTimetable(
        "0 * * * *", timezone="UTC", run_offset=-1), catchup=True):
    PythonOperator(task_id="ingest", python_callable=seen, outlets=[HOURLY])

with DAG("same_key", schedule=PartitionedAssetTimetable(assets=HOURLY)):
    PythonOperator(task_id="read", python_callable=seen)

with DAG("aligned_hours", schedule=PartitionedAssetTimetable(
        assets=HOURLY & OTHER, default_partition_mapper=StartOfHourMapper())):
    PythonOperator(task_id="read", python_callable=seen)

with DAG("daily_rollup", schedule=PartitionedAssetTimetable(
        assets=HOURLY,
        default_partition_mapper=RollupMapper(
            upstream_mapper=StartOfDayMapper(), window=DayWindow()))):
    PythonOperator(task_id="read", python_callable=seen)

with DAG("region_days", schedule=PartitionedAssetTimetable(
        assets=REGIONS,
        default_partition_mapper=ProductMapper(AllowedKeyMapper(["us", "eu"]),
                                               StartOfDayMapper()))):
    PythonOperator(task_id="read", python_callable=seen)

with DAG("regions_producer", schedule=PartitionedAtRuntime()):
    @task(outlets=[REGIONS])
    def ingest(outlet_events=None):
        for region in ("us", "eu", "us"):
            outlet_events[REGIONS].add_partitions(f"{region}|2026-06-14T03:00:00")
    ingest()

with DAG("daily_from_weekly", schedule=PartitionedAssetTimetable(
        assets=WEEKLY,
        default_partition_mapper=FanOutMapper(upstream_mapper=StartOfWeekMapper(),
                                              window=WeekWindow()))):
    PythonOperator(task_id="read", python_callable=seen)
"""

CONSUMERS = ("same_key", "aligned_hours", "daily_rollup", "region_days", "daily_from_weekly")


@pytest.fixture
def mem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    clock = FakeClock(at(1, 2, 30))
    harness = Harness.in_memory(tmp_path, monkeypatch, clock)
    harness.write_dag("airflow_partitions", DAGS)
    harness.process()
    yield harness
    harness.close()
    shutil.rmtree(harness.folder, ignore_errors=True)


def _runs(h: Harness, dag_id: str) -> list[DagRun]:
    return sorted(h.runs(dag_id), key=lambda r: r.partition_key or "")


def _settle(h: Harness) -> None:
    h.run_until(
        lambda: all(
            r.state.value in ("success", "failed")
            for dag_id in ("hourly_producer", "regions_producer", *CONSUMERS)
            for r in h.runs(dag_id)
        )
    )


def _pass(h: Harness) -> None:
    h.clock.advance(timedelta(seconds=5))
    h.step()
    _settle(h)


def _event(h: Harness, uri: str, key: str) -> None:
    h.store.create_asset_event(uri, timestamp=h.clock.now(), partition_key=key)


def test_cron_partition_runs_carry_their_key_and_identity_consumers_follow(
    mem: Harness,
) -> None:
    mem.step()
    _settle(mem)
    producer = mem.runs("hourly_producer")
    # Fire times 00:00, 01:00, 02:00; run_offset=-1: each works on the hour before.
    assert [(r.run_type, r.partition_key) for r in producer] == [
        ("scheduled", "2023-12-31T23:00:00"),
        ("scheduled", "2024-01-01T00:00:00"),
        ("scheduled", "2024-01-01T01:00:00"),
    ]
    assert producer[0].run_id == ("scheduled__2023-12-31T23:00:00__2024-01-01T00:00:00+00:00")
    first = mem.xcom("hourly_producer", producer[0].run_id, "ingest")
    assert first["key"] == first["run_key"] == "2023-12-31T23:00:00"
    assert first["date"] == "2023-12-31T23:00:00+00:00"
    _pass(mem)
    consumer = _runs(mem, "same_key")
    assert [r.partition_key for r in consumer] == [r.partition_key for r in producer]
    assert mem.xcom("same_key", consumer[1].run_id, "read")["events"] == [
        ["file://stats/hourly.csv", "2024-01-01T00:00:00"]
    ]
    assert mem.runs("daily_rollup") == []  # a day needs its 24 hours


def test_a_multi_asset_condition_runs_when_every_asset_has_the_mapped_key(
    mem: Harness,
) -> None:
    _event(mem, "file://stats/hourly.csv", "2024-03-13T10:00:00")
    _event(mem, "file://stats/other.csv", "2024-03-13T11:15:00")
    _pass(mem)
    assert mem.runs("aligned_hours") == []
    _event(mem, "file://stats/other.csv", "2024-03-13T10:42:15")
    _pass(mem)
    (run,) = mem.runs("aligned_hours")
    assert run.partition_key == "2024-03-13T10"
    assert run.run_id.startswith("asset_triggered__2024-03-13T10__")
    seen = mem.xcom("aligned_hours", run.run_id, "read")
    assert seen["date"] == datetime(2024, 3, 13, 10, tzinfo=UTC).isoformat()
    assert seen["events"] == [
        ["file://stats/hourly.csv", "2024-03-13T10:00:00"],
        ["file://stats/other.csv", "2024-03-13T10:42:15"],
    ]
    # 11:15's event waits for hourly's 11:00 (the producer's own hours wait for other's).
    queued = mem.store.queued_asset_events("aligned_hours")
    assert [e.partition_key for e in queued if e.uri == "file://stats/other.csv"] == [
        "2024-03-13T11:15:00"
    ]


def test_a_rollup_runs_once_its_window_is_in(mem: Harness) -> None:
    for hour in range(23):
        _event(mem, "file://stats/hourly.csv", f"2024-03-13T{hour:02d}:00:00")
    _pass(mem)
    assert mem.runs("daily_rollup") == []
    _event(mem, "file://stats/hourly.csv", "2024-03-13T23:00:00")
    _pass(mem)
    (run,) = mem.runs("daily_rollup")
    assert run.partition_key == "2024-03-13"
    assert len(mem.xcom("daily_rollup", run.run_id, "read")["events"]) == 24
    queued = mem.store.queued_asset_events("daily_rollup")  # the producer's own hours remain
    assert [e for e in queued if e.partition_key.startswith("2024-03-13")] == []


def test_a_fan_out_event_runs_each_key_and_each_run_records_it(mem: Harness) -> None:
    _event(mem, "file://models/weekly.bin", "2024-03-11T00:00:00")
    _pass(mem)
    runs = _runs(mem, "daily_from_weekly")
    assert [r.partition_key for r in runs] == [f"2024-03-{d}" for d in range(11, 18)]
    for run in runs:
        (event,) = mem.store.triggering_asset_events("daily_from_weekly", run.run_id)
        assert event.partition_key == "2024-03-11T00:00:00"
    assert mem.store.queued_asset_events("daily_from_weekly") == []


def test_keys_named_at_run_time_go_through_a_product_mapper(
    mem: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    trigger_run(mem.store, "regions_producer", now=mem.clock.now())
    _settle(mem)
    events = mem.store.list_asset_events(AssetEventFilter(uri="file://sales/regions.csv"))
    assert sorted(e.partition_key for e in events) == [
        "eu|2026-06-14T03:00:00",
        "us|2026-06-14T03:00:00",
    ]
    _event(mem, "file://sales/regions.csv", "apac|2026-06-14T03:00:00")
    _pass(mem)
    _pass(mem)
    runs = _runs(mem, "region_days")
    assert [r.partition_key for r in runs] == ["eu|2026-06-14", "us|2026-06-14"]
    assert runs[0].run_id.startswith("asset_triggered__eu_2026-06-14__")
    # A key the mapper refuses triggers nothing, stays queued, and is warned about once.
    queued = mem.store.queued_asset_events("region_days")
    assert [e.partition_key for e in queued] == ["apac|2026-06-14T03:00:00"]
    assert caplog.text.count("triggers no run of region_days") == 1
    assert "'apac'" in caplog.text


def test_a_fan_out_and_a_name_reference_on_the_sql_stores(harness: Harness) -> None:
    """The same on SQLite and PostgreSQL, with real workers: a fan-out's runs in one unit of
    work (each recording the event), and a DAG scheduled on an asset by its name."""
    harness.write_dag(
        "fan_out",
        """
        from headwater import Asset
        from headwater.partitions import (
            FanOutMapper, PartitionedAssetTimetable, StartOfWeekMapper, WeekWindow)

        WEEKLY = Asset("file://models/weekly.bin", name="weekly_model")

        with DAG("train", start_date=START, schedule=None):
            EmptyOperator(task_id="train", outlets=[WEEKLY])

        with DAG("daily", start_date=START, schedule=PartitionedAssetTimetable(
                assets=Asset.ref(name="weekly_model"),
                default_partition_mapper=FanOutMapper(upstream_mapper=StartOfWeekMapper(),
                                                      window=WeekWindow()))):
            EmptyOperator(task_id="infer")
        """,
    )
    harness.process()
    harness.store.create_asset_event(
        "file://models/weekly.bin",
        timestamp=harness.clock.now(),
        partition_key="2024-03-11T00:00:00",
    )
    harness.step()
    runs = sorted(harness.runs("daily"), key=lambda r: r.partition_key or "")
    assert [r.partition_key for r in runs] == [f"2024-03-{d}" for d in range(11, 18)]
    for run in runs:
        (event,) = harness.store.triggering_asset_events("daily", run.run_id)
        assert event.partition_key == "2024-03-11T00:00:00"
    assert harness.store.queued_asset_events("daily") == []
    harness.run_until(lambda: all(harness.run_state("daily", r.run_id) == "success" for r in runs))
