"""Airflow 3.3's partitioned assets on the authoring side: the partitioned timetables and
the keys their runs get, keys named by producers, the consumer's mapper configuration,
``Asset.ref``, and what a DAG built on them stores (in process, memory store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater import DAG, Asset, task
from headwater.authoring.asset_partitions import (
    AssetPartitions,
    OpenPartitions,
    check_open_key,
)
from headwater.authoring.asset_refs import AssetNameRef, AssetUriRef, name_token
from headwater.authoring.assets import condition_from_json
from headwater.authoring.partitions import partitions_from_json
from headwater.clock import FakeClock
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.engine.run_factory import new_dag_run
from headwater.engine.run_partitions import partition_date
from headwater.exceptions import (
    DagDefinitionError,
    HeadwaterError,
    InvalidPartitionKeyError,
    InvalidScheduleError,
)
from headwater.operators import EmptyOperator
from headwater.partitions import (
    AllowedKeyMapper,
    CronPartitionTimetable,
    IdentityMapper,
    PartitionedAssetTimetable,
    PartitionedAtRuntime,
    StartOfDayMapper,
    StartOfHourMapper,
    TimePartitions,
)
from headwater.testing import run_dag

START = datetime(2024, 1, 1, tzinfo=UTC)
STATS = Asset("file://stats/hourly.csv")
OTHER = Asset("file://stats/other.csv")


# -- keys named by producers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "must not be blank"),
        ("   ", "must not be blank"),
        ("x" * 251, "at most 250 characters, got 251"),
        ("us\n2024", "control character"),
        (42, "a partition key is text"),
    ],
)
def test_a_producers_key_is_any_short_text_without_control_characters(
    key: object, message: str
) -> None:
    with pytest.raises(InvalidPartitionKeyError, match=message):
        check_open_key(key)
    assert check_open_key("us|2026-06-14T03:00:00") == "us|2026-06-14T03:00:00"
    assert check_open_key("2024-03-11 (W11)") == "2024-03-11 (W11)"


def test_open_keys_have_no_ranges_and_survive_json() -> None:
    keys = OpenPartitions()
    assert keys.resolve("us,eu,us") == ["us", "eu"]
    with pytest.raises(InvalidPartitionKeyError, match="have no order"):
        keys.resolve("a..b")
    assert partitions_from_json(keys.to_json()) == keys


# -- the partitioned timetables -------------------------------------------------------------


def test_a_cron_partition_timetable_keys_its_runs_by_their_fire_time() -> None:
    hourly = CronPartitionTimetable("0 * * * *", timezone="Europe/Paris")
    fire = datetime(2024, 3, 13, 9, tzinfo=UTC)  # 10:00 in Paris
    assert hourly.partition_key(fire) == "2024-03-13T10:00:00"
    assert hourly.date_of_key("2024-03-13T10:00:00") == fire
    before = CronPartitionTimetable(
        "0 0 * * *", timezone="UTC", run_offset=-1, key_format="%Y-%m-%d"
    )
    assert before.partition_key(datetime(2024, 3, 13, tzinfo=UTC)) == "2024-03-12"
    after = CronPartitionTimetable("0 0 * * 1", timezone="UTC", run_offset=2, key_format="%Y-%m-%d")
    assert after.partition_key(datetime(2024, 3, 11, tzinfo=UTC)) == "2024-03-25"
    with pytest.raises(InvalidPartitionKeyError, match="does not match the timetable's key_format"):
        before.date_of_key("2024-13")
    assert CronPartitionTimetable.deserialize(after.serialize()) == after
    assert hourly.summary == "0 * * * * (partitioned)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_offset": 1.5}, "run_offset must be a whole number"),
        ({"run_offset": True}, "run_offset must be a whole number"),
        ({"run_offset": 10_001}, "at most 10000"),
        ({"key_format": "daily"}, "key_format must be a strftime format"),
        ({"run_immediately": "yes"}, "run_immediately must be True, False or a timedelta"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_cron_partition_timetables_are_refused(kwargs: dict, message: str) -> None:
    arguments = {"timezone": "UTC", **kwargs}
    with pytest.raises(InvalidScheduleError, match=message):
        CronPartitionTimetable("0 * * * *", **arguments)


def test_scheduled_runs_get_their_key_and_manual_runs_only_a_given_one() -> None:
    with DAG(
        "ingest", start_date=START, schedule=CronPartitionTimetable("0 * * * *", timezone="UTC")
    ) as dag:
        EmptyOperator(task_id="t")
    assert isinstance(dag.partitions, OpenPartitions)
    at = datetime(2024, 3, 13, 10, tzinfo=UTC)
    scheduled = new_dag_run(dag, logical_date=at, run_type="scheduled", data_interval=(at, at))
    assert scheduled.partition_key == "2024-03-13T10:00:00"
    assert scheduled.run_id == "scheduled__2024-03-13T10:00:00__2024-03-13T10:00:00+00:00"
    assert partition_date(dag, scheduled.partition_key) == at
    assert new_dag_run(dag, logical_date=at).partition_key is None
    manual = new_dag_run(dag, logical_date=at, partition_key="us|2024-03-13 (W11)")
    assert manual.run_id == "manual__us_2024-03-13__W11___2024-03-13T10:00:00+00:00"


def test_a_partitioned_schedule_and_partitions_do_not_mix() -> None:
    days = TimePartitions("daily", start=START)
    with pytest.raises(DagDefinitionError, match="its schedule names its partition keys"):
        DAG("both", schedule=PartitionedAtRuntime(), partitions=days)


# -- consumers ------------------------------------------------------------------------------


def test_a_consumer_maps_each_assets_keys_by_uri_or_name() -> None:
    timetable = PartitionedAssetTimetable(
        assets=STATS & Asset.ref(name="team_b"),
        default_partition_mapper=StartOfHourMapper(),
        partition_mapper_config={
            OTHER: AllowedKeyMapper(["us"]),
            Asset.ref(name="team_b"): StartOfDayMapper(),
        },
    )
    with DAG("consumer", schedule=timetable) as dag:
        EmptyOperator(task_id="t")
    partitions = dag.partitions
    assert isinstance(partitions, AssetPartitions)
    assert partitions.downstream_keys(STATS.uri, "2024-03-13T10:42:15") == ["2024-03-13T10"]
    assert partitions.downstream_keys(OTHER.uri, "us") == ["us"]
    assert partitions.downstream_keys("file://b", "2024-03-13T10:42:15", "team_b") == ["2024-03-13"]
    with pytest.raises(InvalidPartitionKeyError):
        partitions.downstream_keys(OTHER.uri, "eu")
    assert partitions.partition_date("2024-03-13T10") == datetime(2024, 3, 13, 10, tzinfo=UTC)
    # The scheduler works from the stored form: the same mappers, the same condition.
    stored = deserialize_dag(serialize_dag(dag))
    assert stored.partitions == partitions
    assert stored.partitions.by_asset == partitions.by_asset  # type: ignore[union-attr]
    assert stored.asset_condition.evaluate({STATS.uri, name_token("team_b")})  # type: ignore[union-attr]
    assert not stored.asset_condition.evaluate({STATS.uri, "team_b"})  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: PartitionedAssetTimetable(assets=STATS, default_partition_mapper="identity"),
            "default_partition_mapper must be a partition mapper",
        ),
        (
            lambda: PartitionedAssetTimetable(
                assets=STATS, partition_mapper_config={"file://x": IdentityMapper()}
            ),
            "keyed by Asset or Asset.ref",
        ),
        (lambda: Asset.ref(), "exactly one of name= and uri="),
        (lambda: Asset.ref(name="a", uri="b://c"), "exactly one of name= and uri="),
        (lambda: Asset.ref(name=" "), "non-empty name"),
        (lambda: Asset.ref(uri="has space"), "must not hold spaces"),
    ],
)
def test_bad_consumer_definitions_are_refused(build: object, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()  # type: ignore[operator]


def test_asset_refs_are_conditions_that_survive_json() -> None:
    by_name, by_uri = Asset.ref(name="orders"), Asset.ref(uri="s3://lake/orders")
    assert isinstance(by_name, AssetNameRef) and isinstance(by_uri, AssetUriRef)
    either = by_name | by_uri
    assert condition_from_json(either.to_json()) == either
    assert list(either.iter_refs()) == [by_name, by_uri]
    assert list(either.iter_assets()) == []
    assert either.evaluate({"s3://lake/orders"}) and either.evaluate({name_token("orders")})


# -- producers naming keys while they run ---------------------------------------------------


def test_add_partitions_emits_one_event_per_key_named(clock: FakeClock) -> None:
    sales = Asset("file://sales/regions.csv")
    with DAG("regions", schedule=PartitionedAtRuntime(), start_date=START) as dag:

        @task(outlets=[sales])
        def split(outlet_events=None):  # type: ignore[no-untyped-def]
            outlet_events[sales].add_partitions(["us|x", "eu|x"])
            outlet_events[sales].add_partitions("us|x")

        @task(outlets=[sales])
        def blank(outlet_events=None):  # type: ignore[no-untyped-def]
            outlet_events[sales].add_partitions(["ok", " "])

        split()
        blank()

    result = run_dag(dag, clock=clock)
    (split_attempt,) = result.attempts("split")
    keys = [e.partition_key for e in split_attempt.outcome.outlet_events]  # type: ignore[union-attr]
    assert keys == ["us|x", "eu|x"]
    assert result.state_of("blank") == "failed"
    assert "add_partitions(): a partition key must not be blank" in (result.ti("blank").error or "")


def test_add_partitions_refuses_an_alias() -> None:
    from headwater.authoring.assets import AssetAlias
    from headwater.runtime.outlet_events import OutletEventAccessor

    with pytest.raises(HeadwaterError, match="partition keys go with an asset, not an alias"):
        OutletEventAccessor(AssetAlias("a")).add_partitions("k")


def test_one_event_maps_to_a_bounded_number_of_runs() -> None:
    from headwater.partitions import PartitionMapper

    class Everything(PartitionMapper):
        def to_downstream(self, key: str) -> list[str]:
            return [f"{key}-{i}" for i in range(1_001)]

    partitions = AssetPartitions(Everything(), {})
    with pytest.raises(InvalidPartitionKeyError, match="to 1001 keys; at most 1000 runs"):
        partitions.downstream_keys("file://a", "k")


class _MapperInTheDagFile(IdentityMapper):
    """Stands for a mapper class written in the DAG file itself."""


def test_a_mapper_of_ones_own_is_stored_by_name_unless_the_scheduler_cannot_import_it() -> None:
    from own_partition_mappers import RegionOfKey

    with DAG(
        "own",
        schedule=PartitionedAssetTimetable(assets=STATS, default_partition_mapper=RegionOfKey()),
    ) as dag:
        EmptyOperator(task_id="t")
    stored = deserialize_dag(serialize_dag(dag))
    assert stored.partitions.downstream_keys(STATS.uri, "us|2024-03-13") == ["us"]  # type: ignore[union-attr]
    with DAG(
        "in_file",
        schedule=PartitionedAssetTimetable(
            assets=STATS, default_partition_mapper=_MapperInTheDagFile()
        ),
    ) as bad:
        EmptyOperator(task_id="t")
    with pytest.raises(
        InvalidScheduleError,
        match=r"partition class _MapperInTheDagFile .* is defined in the DAG file",
    ):
        serialize_dag(bad)
