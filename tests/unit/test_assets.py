"""Assets as users write them: URIs checked, conditions, schedules on assets, ``@asset``,
outlets and inlets checked; a successful attempt's events (extras from the context, aliases,
``Metadata`` return values), ``inlet_events``, and the serialized DAG keeping all of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headwater import (
    DAG,
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetOrTimeSchedule,
    Dataset,
    Metadata,
    asset,
    task,
)
from headwater.dag_processing.asset_references import asset_references
from headwater.dag_processing.serialized_dag import deserialize_dag, serialize_dag
from headwater.exceptions import DagDefinitionError, InvalidScheduleError
from headwater.operators import EmptyOperator, PythonOperator
from headwater.store.assets import (
    INLET,
    OUTLET,
    SCHEDULE,
    SCHEDULE_ALIAS,
    AssetEventFilter,
    AssetReference,
)
from headwater.store.memory import MemoryStore
from headwater.testing import run_dag

SALES = Asset("s3://bucket/sales.parquet")
STOCK = Asset("s3://bucket/stock.parquet")
PRICES = Asset("s3://bucket/prices.parquet")
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("airflow://x", "asset URI 'airflow://x': the scheme 'airflow' is reserved"),
        ("HEADWATER://x", "the scheme 'HEADWATER' is reserved"),
        ("s3://my bucket/x", "asset URI 's3://my bucket/x' must not hold spaces"),
        ("", "asset URI must not be empty"),
        ("s3://b/" + "x" * 1500, "is 1507 characters long; at most 1500"),
        ("s3://b/é", "must only hold ASCII characters"),
    ],
)
def test_bad_uris_are_refused_naming_them(uri: str, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        Asset(uri)


def test_assets_are_equal_by_uri_and_dataset_is_asset() -> None:
    assert Asset("s3://a", name="one") == Dataset("s3://a", name="two")
    assert len({Asset("s3://a"), Asset("s3://a", group="g")}) == 1
    assert Asset("s3://a").name == "s3://a"


def test_conditions_evaluate_over_updated_uris() -> None:
    either = SALES | STOCK
    both_then_one = SALES & (STOCK | PRICES)
    assert isinstance(either, AssetAny) and isinstance(both_then_one, AssetAll)
    assert either.evaluate({STOCK.uri})
    assert not either.evaluate({PRICES.uri})
    assert not both_then_one.evaluate({SALES.uri})
    assert both_then_one.evaluate({SALES.uri, PRICES.uri})
    assert list(both_then_one.iter_assets()) == [SALES, STOCK, PRICES]
    with pytest.raises(DagDefinitionError, match="takes Asset, AssetAlias or conditions"):
        SALES | "s3://x"  # type: ignore[operator]


def test_dags_scheduled_on_assets_have_a_condition_and_no_time_schedule() -> None:
    listed = DAG("listed", schedule=[SALES, STOCK])
    assert listed.asset_condition == AssetAll(SALES, STOCK)
    assert listed.schedule.next_interval(START) is None
    assert DAG("either", schedule=SALES | STOCK).asset_condition == AssetAny(SALES, STOCK)
    assert DAG("timed", schedule="@daily").asset_condition is None
    both = DAG(
        "both", schedule=AssetOrTimeSchedule(timetable="@daily", assets=[SALES]), start_date=START
    )
    assert both.asset_condition == AssetAll(SALES)
    assert both.schedule.description == "@daily"
    with pytest.raises(InvalidScheduleError, match=r"DAG 'empty': schedule: .*at least one"):
        DAG("empty", schedule=[])
    with pytest.raises(InvalidScheduleError, match=r"DAG 'mixed': schedule: .*got '@daily'"):
        DAG("mixed", schedule=[SALES, "@daily"])
    on_alias = DAG("alias", schedule=AssetAlias("files") | SALES)
    assert on_alias.asset_condition == AssetAny(AssetAlias("files"), SALES)
    assert on_alias.asset_condition.evaluate({"files"})


def test_outlets_and_inlets_take_assets_and_aliases_only() -> None:
    with DAG("d"):
        single = EmptyOperator(task_id="single", outlets=SALES, inlets=[STOCK])
        assert (single.outlets, single.inlets) == ([SALES], [STOCK])
        with pytest.raises(DagDefinitionError, match="task 'bad': outlets takes Asset or"):
            EmptyOperator(task_id="bad", outlets=["s3://x"])
        with pytest.raises(DagDefinitionError, match="task 'worse': inlets takes Asset or"):
            EmptyOperator(task_id="worse", inlets=[42])


def test_the_asset_decorator_makes_a_one_task_dag_producing_it() -> None:
    @asset(schedule=SALES, uri="s3://bucket/report.csv", group="reports")
    def report() -> None:
        return None

    assert report == Asset("s3://bucket/report.csv")
    assert report.name == "report" and report.group == "reports"
    dag = report.dag  # type: ignore[attr-defined]
    assert dag.dag_id == "report" and list(dag.task_dict) == ["report"]
    assert dag.task_dict["report"].outlets == [report]
    assert dag.asset_condition == SALES
    assert dag.fileloc == __file__


def test_the_serialized_dag_keeps_assets_and_names_its_references() -> None:
    with DAG("flow", schedule=SALES & (STOCK | PRICES | AssetAlias("daily"))) as dag:
        EmptyOperator(task_id="load", outlets=[PRICES, AssetAlias("files")], inlets=[SALES])
    data = serialize_dag(dag)
    again = deserialize_dag(data)
    assert again.asset_condition == dag.asset_condition
    assert again.task_dict["load"].outlets == [PRICES, AssetAlias("files")]
    assert again.task_dict["load"].inlets == [SALES]
    assets, refs = asset_references("flow", data["dag"])
    assert [a.uri for a in assets] == [SALES.uri, STOCK.uri, PRICES.uri]
    assert set(refs) == {
        AssetReference("flow", SALES.uri, SCHEDULE),
        AssetReference("flow", STOCK.uri, SCHEDULE),
        AssetReference("flow", PRICES.uri, SCHEDULE),
        AssetReference("flow", "daily", SCHEDULE_ALIAS),
        AssetReference("flow", PRICES.uri, OUTLET, "load"),
        AssetReference("flow", SALES.uri, INLET, "load"),
    }


def _events(store: MemoryStore) -> list[tuple[str, dict[str, Any], str | None]]:
    return [(e.uri, e.extra, e.source_alias) for e in store.list_asset_events()]


def test_a_successful_attempt_emits_one_event_per_outlet_with_its_extra() -> None:
    def produce(outlet_events: Any) -> None:
        outlet_events[SALES].extra["rows"] = 12
        outlet_events[AssetAlias("daily")].add(Asset("s3://bucket/2024-01-01.csv"), {"day": 1})

    with DAG("produce") as dag:
        PythonOperator(
            task_id="write", python_callable=produce, outlets=[SALES, STOCK, AssetAlias("daily")]
        )
    store = MemoryStore()
    assert run_dag(dag, logical_date=START, store=store).succeeded
    assert _events(store) == [
        (SALES.uri, {"rows": 12}, None),
        (STOCK.uri, {}, None),
        ("s3://bucket/2024-01-01.csv", {"day": 1}, "daily"),
    ]
    (event, *_) = store.list_asset_events()
    assert (event.source_dag_id, event.source_task_id) == ("produce", "write")


def test_metadata_return_values_are_extras_not_xcoms() -> None:
    with DAG("produce") as dag:

        @task(outlets=[SALES])
        def write() -> Metadata:
            return Metadata(SALES, {"rows": 3})

        write()
    store = MemoryStore()
    result = run_dag(dag, logical_date=START, store=store)
    assert result.succeeded
    assert result.xcom("write") is None
    assert _events(store) == [(SALES.uri, {"rows": 3}, None)]


def test_a_failed_attempt_emits_nothing_and_a_bad_extra_fails_the_task() -> None:
    def fail() -> None:
        raise ValueError("no data")

    def bad_extra(outlet_events: Any) -> None:
        outlet_events[SALES].extra["when"] = datetime(2024, 1, 1)

    with DAG("produce") as dag:
        PythonOperator(task_id="fail", python_callable=fail, outlets=[SALES])
        PythonOperator(task_id="bad", python_callable=bad_extra, outlets=[SALES])
    store = MemoryStore()
    result = run_dag(dag, logical_date=START, store=store)
    assert result.task_states == {"fail": "failed", "bad": "failed"}
    assert "task 'bad': extra of the event of 's3://bucket/sales.parquet' must be JSON" in (
        result.ti("bad").error or ""
    )
    assert store.count_asset_events() == 0


def test_inlet_events_list_an_inlets_events_newest_last() -> None:
    store = MemoryStore()
    for rows in (1, 2):
        store.create_asset_event(SALES.uri, timestamp=START, extra={"rows": rows}, create=True)

    def read(inlet_events: Any, triggering_asset_events: Any) -> list[Any]:
        return [e.extra["rows"] for e in inlet_events[SALES]] + [dict(triggering_asset_events)]

    with DAG("consume") as dag:
        PythonOperator(task_id="read", python_callable=read, inlets=[SALES])
    result = run_dag(dag, logical_date=START, store=store)
    assert result.xcom("read") == [1, 2, {}]
    assert store.count_asset_events(AssetEventFilter(uri=SALES.uri)) == 2


def test_an_asset_scheduled_dag_runs_by_hand_like_a_manual_run() -> None:
    with DAG("consume", schedule=SALES | STOCK) as dag:
        EmptyOperator(task_id="noop")
    result = run_dag(dag, logical_date=START)
    assert result.succeeded
    assert (result.run.data_interval_start, result.run.data_interval_end) == (START, START)


def test_an_asset_function_gets_its_asset_as_self_and_records_an_event() -> None:
    @asset(uri="s3://bucket/prices.parquet")
    def prices(self: Asset, outlet_events: Any) -> str:
        outlet_events[self].extra["rows"] = 5
        return self.uri

    store = MemoryStore()
    result = run_dag(prices.dag, logical_date=START, store=store)  # type: ignore[attr-defined]
    assert result.xcom("prices") == "s3://bucket/prices.parquet"
    assert _events(store) == [("s3://bucket/prices.parquet", {"rows": 5}, None)]
