"""Airflow 3.3's partitioned assets, as its example_asset_partition.py writes them: a producer
on a CronPartitionTimetable, one naming its keys at run time, and a rollup consumer found by
name (Asset.ref); each run prints what it sees of its partition."""

from __future__ import annotations

from airflow.sdk import (
    DAG,
    Asset,
    CronPartitionTimetable,
    DayWindow,
    PartitionedAssetTimetable,
    PartitionedAtRuntime,
    RollupMapper,
    StartOfDayMapper,
    asset,
    get_current_context,
    task,
)

hourly_stats = Asset(uri="file://incoming/stats/hourly.csv", name="hourly_stats")
regional = Asset(uri="file://incoming/sales/regional.csv", name="regional_sales")

with DAG(
    dag_id="partitioned_hourly",
    schedule=CronPartitionTimetable("0 * * * *", timezone="Europe/Paris", run_offset=-1),
):

    @task(outlets=[hourly_stats])
    def ingest(dag_run=None):
        context = get_current_context()
        print(f"key={dag_run.partition_key} date={dag_run.partition_date}")
        print(f"context key={context['partition_key']} date={context['partition_date']}")

    ingest()


@asset(uri="file://incoming/sales/live.csv", schedule=PartitionedAtRuntime())
def live_sales(self, outlet_events):
    outlet_events[self].add_partitions(["us", "eu", "us"])


with DAG(dag_id="partitioned_regions", schedule=PartitionedAtRuntime()):

    @task(outlets=[regional])
    def split(*, outlet_events=None):
        for region in ("us", "eu"):
            outlet_events[regional].add_partitions(f"{region}|2026-06-14T03:00:00")
        print(f"named {sorted(outlet_events[regional].partition_keys)}")

    split()


with DAG(
    dag_id="partitioned_daily",
    schedule=PartitionedAssetTimetable(
        assets=Asset.ref(name="hourly_stats"),
        default_partition_mapper=RollupMapper(
            upstream_mapper=StartOfDayMapper(timezone="Europe/Paris"), window=DayWindow()
        ),
    ),
):

    @task
    def summarise(dag_run=None):
        print(f"day={dag_run.partition_key} from={dag_run.partition_date.isoformat()}")

    summarise()
