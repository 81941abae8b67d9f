"""Partition definitions: keys and their formats, ranges, time zones and daylight saving time,
bad keys, serialization, and runs that carry a partition key into context and templates."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from headwater import DAG, Asset, StaticPartitions, TimePartitions, task
from headwater.authoring.partitions import partitions_from_json
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.engine.run_factory import new_dag_run
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError
from headwater.operators import BashOperator

JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "moment", "key", "interval"),
    [
        (
            "hourly",
            datetime(2024, 1, 31, 5, 59),
            "2024-01-31T05",
            ((2024, 1, 31, 5), (2024, 1, 31, 6)),
        ),
        ("daily", datetime(2024, 1, 31, 23, 0), "2024-01-31", ((2024, 1, 31), (2024, 2, 1))),
        ("weekly", datetime(2024, 2, 4, 12), "2024-W05", ((2024, 1, 29), (2024, 2, 5))),
        ("weekly", datetime(2024, 12, 31), "2025-W01", ((2024, 12, 30), (2025, 1, 6))),
        ("monthly", datetime(2024, 12, 15), "2024-12", ((2024, 12, 1), (2025, 1, 1))),
    ],
)
def test_each_period_names_its_keys_and_their_intervals(
    period: str, moment: datetime, key: str, interval: tuple[tuple[int, ...], tuple[int, ...]]
) -> None:
    partitions = TimePartitions(period, start=JAN_1)  # type: ignore[arg-type]
    assert partitions.key_for(moment.replace(tzinfo=UTC)) == key
    start, end = (datetime(*parts, tzinfo=UTC) for parts in interval)
    assert partitions.interval(key) == (start, end)


def test_ranges_include_both_ends_and_cross_month_and_year_boundaries() -> None:
    daily = TimePartitions("daily", start=date(2024, 1, 1))
    assert daily.keys_between("2024-02-28", "2024-03-01") == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]
    assert len(daily.keys_between("2024-01-01", "2024-12-31")) == 366
    monthly = TimePartitions("monthly", start="2024-01")
    assert monthly.resolve("2024-11..2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert monthly.resolve("2024-03,2024-01,2024-03") == ["2024-03", "2024-01"]
    weekly = TimePartitions("weekly", start="2024-W01")
    assert weekly.keys_between("2024-W52", "2025-W02") == ["2024-W52", "2025-W01", "2025-W02"]


def test_start_and_end_bound_the_keys() -> None:
    """The first partition contains ``start``; the last starts before ``end``."""
    daily = TimePartitions(
        "daily", start=datetime(2024, 1, 1, 15, tzinfo=UTC), end=datetime(2024, 1, 4, 1, tzinfo=UTC)
    )
    assert daily.keys_between("2024-01-01", "2024-01-04") == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    with pytest.raises(
        InvalidPartitionKeyError, match="'2023-12-31' is before the first partition"
    ):
        daily.validate_key("2023-12-31")
    with pytest.raises(InvalidPartitionKeyError, match="'2024-01-05' is after the last partition"):
        daily.keys_between("2024-01-01", "2024-01-05")
    with pytest.raises(InvalidPartitionKeyError, match="before the first partition"):
        daily.key_for(datetime(2023, 12, 31, 23, tzinfo=UTC))
    # start and end as keys: end is the first partition left out.
    quarter = TimePartitions("monthly", start="2024-01", end="2024-04")
    assert quarter.resolve("2024-01..2024-03") == ["2024-01", "2024-02", "2024-03"]
    with pytest.raises(InvalidPartitionKeyError, match="'2024-04' is after the last partition"):
        quarter.validate_key("2024-04")


def test_daily_partitions_follow_their_time_zone() -> None:
    paris = TimePartitions("daily", start="2024-01-01", timezone="Europe/Paris")
    # 23:30 UTC on Jan 31 is already Feb 1 in Paris.
    assert paris.key_for(datetime(2024, 1, 31, 23, 30, tzinfo=UTC)) == "2024-02-01"
    assert paris.interval("2024-02-01") == (
        datetime(2024, 1, 31, 23, tzinfo=UTC),
        datetime(2024, 2, 1, 23, tzinfo=UTC),
    )
    # The day the clocks go forward has 23 hours.
    start, end = paris.interval("2024-03-31")
    assert end - start == timedelta(hours=23)


def test_hourly_partitions_skip_the_missing_hour_and_merge_the_repeated_one() -> None:
    ny = TimePartitions("hourly", start="2024-01-01T00", timezone="America/New_York")
    spring = ny.keys_between("2024-03-10T00", "2024-03-10T23")
    assert len(spring) == 23 and "2024-03-10T02" not in spring
    assert spring[:3] == ["2024-03-10T00", "2024-03-10T01", "2024-03-10T03"]
    with pytest.raises(InvalidPartitionKeyError, match="clocks skip that hour in America/New_York"):
        ny.validate_key("2024-03-10T02")
    autumn = ny.keys_between("2024-11-03T00", "2024-11-03T23")
    assert len(autumn) == 24  # 25 real hours: 01:00 happens twice, one partition of two hours
    assert ny.interval("2024-11-03T01") == (
        datetime(2024, 11, 3, 5, tzinfo=UTC),
        datetime(2024, 11, 3, 7, tzinfo=UTC),
    )
    # Both 01:30s (EDT, then EST) are in that partition.
    assert ny.key_for(datetime(2024, 11, 3, 5, 30, tzinfo=UTC)) == "2024-11-03T01"
    assert ny.key_for(datetime(2024, 11, 3, 6, 30, tzinfo=UTC)) == "2024-11-03T01"
    # Consecutive partitions meet: no gap, no overlap, through both changes.
    keys = ny.keys_between("2024-03-09T00", "2024-11-04T00")
    intervals = [ny.interval(k) for k in keys]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(intervals))


@pytest.mark.parametrize(
    ("period", "key", "message"),
    [
        ("daily", "2024-1-31", "'2024-1-31' is not a daily key like '2024-01-31'"),
        ("daily", "2024-02-30", "'2024-02-30' is not a real date"),
        ("hourly", "2024-01-31", "is not an hourly key like '2024-01-31T05'"),
        ("weekly", "2024-W54", "'2024-W54' is not a real date"),
        ("monthly", "2024-13", "'2024-13' is not a real date"),
        ("monthly", 202401, "202401 is not a monthly key"),
    ],
)
def test_bad_keys_are_refused_with_the_key_named(period: str, key: object, message: str) -> None:
    partitions = TimePartitions(period, start=JAN_1)  # type: ignore[arg-type]
    with pytest.raises(InvalidPartitionKeyError, match=message):
        partitions.validate_key(key)


def test_backwards_and_empty_ranges_are_refused() -> None:
    daily = TimePartitions("daily", start=JAN_1)
    with pytest.raises(InvalidPartitionKeyError, match=r"2024-01-05\.\.2024-01-01 is backwards"):
        daily.resolve("2024-01-05..2024-01-01")
    with pytest.raises(InvalidPartitionKeyError, match="no partitions given"):
        daily.resolve(" ")


def test_static_partitions_keep_their_order_and_refuse_unknown_keys() -> None:
    regions = StaticPartitions(["eu", "us", "apac"])
    assert regions.resolve("eu..us") == ["eu", "us"]
    assert regions.resolve("apac,eu") == ["apac", "eu"]
    assert regions.interval("eu") is None
    with pytest.raises(
        InvalidPartitionKeyError, match=r"'latam' is not one of the static \[eu, us, apac\]"
    ):
        regions.validate_key("latam")
    with pytest.raises(InvalidPartitionKeyError, match="'apac' comes after 'eu'"):
        regions.resolve("apac..eu")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: StaticPartitions("eu"), r"takes a list of keys, got 'eu' \(write \['eu'\]\)"),
        (lambda: StaticPartitions([]), "at least one key"),
        (lambda: StaticPartitions(["eu", "eu"]), "keys repeat: eu"),
        (lambda: StaticPartitions(["e u"]), "'e u' is not valid"),
        (lambda: StaticPartitions(["a..b"]), "'a..b' is not valid"),
        (lambda: TimePartitions("yearly", start=JAN_1), "'yearly' is not one of hourly, daily"),  # type: ignore[arg-type]
        (lambda: TimePartitions("daily", start=JAN_1, timezone="Mars/Olympus"), "'Mars/Olympus'"),
        (lambda: TimePartitions("daily", start="01/01/2024"), "start: partition key '01/01/2024'"),
        (lambda: TimePartitions("daily", start=JAN_1, end=JAN_1), "end .* is not after"),
        (lambda: DAG("d", partitions=["eu"]), "DAG 'd': partitions must be TimePartitions"),  # type: ignore[arg-type]
    ],
)
def test_bad_definitions_are_refused_when_the_dag_file_loads(build: object, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()  # type: ignore[operator]


def test_partitions_survive_serialization_with_the_dag_and_its_assets() -> None:
    hourly = TimePartitions("hourly", start="2024-01-01T00", timezone="Europe/Paris")
    regions = StaticPartitions(["eu", "us"])
    sales = Asset("s3://b/sales", partitions=regions)
    with DAG("parted", start_date=JAN_1, schedule="@hourly", partitions=hourly) as dag:
        BashOperator(task_id="t", bash_command="true", outlets=[sales])
    with DAG("plain", start_date=JAN_1) as plain:
        BashOperator(task_id="t", bash_command="true")
    loaded = deserialize_dag(serialize_dag(dag))
    assert loaded.partitions == hourly
    assert loaded.task_dict["t"].outlets[0].partitions == regions  # type: ignore[union-attr]
    assert partitions_from_json(regions.to_json()) == regions
    assert "partitions" not in serialize_dag(plain)["dag"]  # unpartitioned documents unchanged
    assert deserialize_dag(serialize_dag(plain)).partitions is None


def test_runs_carry_their_key_into_run_ids_context_and_templates() -> None:
    daily = TimePartitions("daily", start=JAN_1)
    seen: dict[str, object] = {}
    with DAG("parted", start_date=JAN_1, schedule="@daily", partitions=daily) as dag:

        @task
        def show(
            partition_key: str | None = None, data_interval_start: datetime | None = None
        ) -> None:
            seen["key"] = partition_key
            seen["start"] = data_interval_start

        echo = BashOperator(task_id="echo", bash_command="echo part={{ partition_key }}")
        show() >> echo

    result = dag.test(partition_key="2024-01-05")
    assert result.succeeded
    assert seen == {"key": "2024-01-05", "start": datetime(2024, 1, 5, tzinfo=UTC)}
    assert result.run.run_id == "manual__2024-01-05__2024-01-05T00:00:00+00:00"
    assert result.run.partition_key == "2024-01-05"
    assert "part=2024-01-05" in result.log("echo")


def test_scheduled_runs_get_the_key_of_their_data_interval() -> None:
    hourly = TimePartitions("hourly", start=JAN_1)
    with DAG("parted", start_date=JAN_1, schedule="@hourly", partitions=hourly) as dag:
        BashOperator(task_id="t", bash_command="true")
    run = new_dag_run(
        dag,
        logical_date=datetime(2024, 1, 2, 7, tzinfo=UTC),
        run_type="scheduled",
        data_interval=(datetime(2024, 1, 2, 7, tzinfo=UTC), datetime(2024, 1, 2, 8, tzinfo=UTC)),
    )
    assert run.partition_key == "2024-01-02T07"
    assert run.run_id == "scheduled__2024-01-02T07__2024-01-02T07:00:00+00:00"
    with DAG("plain", start_date=JAN_1, schedule="@hourly") as plain:
        BashOperator(task_id="t", bash_command="true")
    assert new_dag_run(plain, logical_date=JAN_1, run_type="scheduled").partition_key is None


def test_a_key_the_dag_lacks_is_refused_naming_the_dag() -> None:
    regions = StaticPartitions(["eu", "us"])
    with DAG("regional", start_date=JAN_1, partitions=regions) as dag:
        BashOperator(task_id="t", bash_command="true")
    with pytest.raises(InvalidPartitionKeyError, match="DAG 'regional': partition key 'mars'"):
        new_dag_run(dag, logical_date=JAN_1, partition_key="mars")
    with DAG("plain", start_date=JAN_1) as plain:
        BashOperator(task_id="t", bash_command="true")
    with pytest.raises(InvalidPartitionKeyError, match="DAG 'plain' has no partitions"):
        new_dag_run(plain, logical_date=JAN_1, partition_key="eu")
    run = new_dag_run(dag, logical_date=JAN_1, partition_key="us")
    assert (run.partition_key, run.run_id) == ("us", "manual__us__2024-01-01T00:00:00+00:00")
