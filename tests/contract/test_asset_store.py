"""The asset port (:mod:`headwater.store.assets`): events recorded with a successful outcome
(exactly once), events from outside, the queue of DAGs scheduled on an asset, consuming it
with a run, references, listing and paging. MemoryStore and SqlStore (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db_records import T0, make_attempt, make_run, make_ti
from headwater.engine.records import AttemptOutcome, OutletEvent, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.store.assets import (
    INLET,
    OUTLET,
    SCHEDULE,
    SCHEDULE_ALIAS,
    SCHEDULE_NAME,
    AssetEventFilter,
    AssetReference,
    AssetSpec,
    UnknownAssetError,
)
from headwater.store.ports import Store

S = TaskInstanceState
SALES = "s3://bucket/sales.parquet"
STOCK = "s3://bucket/stock.parquet"


def _schedule(store: Store, dag_id: str, *uris: str) -> None:
    store.set_dag_asset_references(
        dag_id, [], [AssetReference(dag_id, uri, SCHEDULE) for uri in uris], T0
    )


def _running(store: Store, task_id: str = "load", run_id: str = "r1") -> TaskInstance:
    run = make_run(run_id=run_id)
    ti = make_ti(task_id, run, state=S.RUNNING, try_number=1, max_tries=1)
    if store.get_dag_run(run.dag_id, run_id) is None:
        store.create_dag_run(run, [ti])
    else:
        store.save_task_instances([ti])
    assert store.claim_attempt(make_attempt(ti))
    return ti


def _succeed(store: Store, ti: TaskInstance, *events: OutletEvent) -> bool:
    outcome = AttemptOutcome(S.SUCCESS, outlet_events=list(events))
    return store.record_attempt_outcome(
        ti.key.attempt(1), outcome, T0 + timedelta(minutes=1), start_date=T0
    )


def test_a_successful_outcome_records_its_events_once_and_queues_them(any_store: Store) -> None:
    _schedule(any_store, "report", SALES)
    ti = _running(any_store)
    assert _succeed(any_store, ti, OutletEvent(SALES, extra={"rows": 3}), OutletEvent(STOCK))
    # The same outcome again is stale: nothing more is recorded.
    assert not _succeed(any_store, ti, OutletEvent(SALES))
    events = any_store.list_asset_events()
    assert [(e.uri, e.extra) for e in events] == [(SALES, {"rows": 3}), (STOCK, {})]
    first = events[0]
    assert (first.source_dag_id, first.source_run_id, first.source_task_id) == ("etl", "r1", "load")
    assert (first.source_map_index, first.created_by, first.timestamp) == (
        -1,
        None,
        T0 + timedelta(minutes=1),
    )
    assert any_store.count_asset_events() == 2
    queued = any_store.queued_asset_events()
    assert [(q.dag_id, q.uri, q.event_id) for q in queued] == [("report", SALES, first.id)]
    # Assets an outcome names are registered on the way.
    stock = any_store.get_asset_by_uri(STOCK)
    assert stock is not None and stock.name == STOCK and stock.group == "asset"


def test_events_through_an_alias_name_it(any_store: Store) -> None:
    ti = _running(any_store)
    assert _succeed(any_store, ti, OutletEvent(SALES, extra={"k": 1}, alias="daily-files"))
    (event,) = any_store.list_asset_events()
    assert (event.uri, event.source_alias, event.extra) == (SALES, "daily-files", {"k": 1})


def test_events_from_outside_need_a_known_asset_or_create(any_store: Store) -> None:
    _schedule(any_store, "report", SALES)
    with pytest.raises(UnknownAssetError, match="no asset with URI 's3://nowhere'"):
        any_store.create_asset_event("s3://nowhere", timestamp=T0)
    event = any_store.create_asset_event(
        SALES, timestamp=T0, extra={"by": "hand"}, created_by="alice"
    )
    assert (event.uri, event.extra, event.created_by, event.timestamp) == (
        SALES,
        {"by": "hand"},
        "alice",
        T0,
    )
    created = any_store.create_asset_event("file:///tmp/new.csv", timestamp=T0, create=True)
    assert any_store.get_asset(created.asset_id) is not None
    assert [q.event_id for q in any_store.queued_asset_events("report")] == [event.id]


def test_consuming_queued_events_records_them_with_the_run_once(any_store: Store) -> None:
    _schedule(any_store, "report", SALES, STOCK)
    _schedule(any_store, "audit", SALES)
    one = any_store.create_asset_event(SALES, timestamp=T0)
    two = any_store.create_asset_event(STOCK, timestamp=T0 + timedelta(seconds=1))
    run = make_run(dag_id="report", run_id="asset_triggered__1")
    with any_store.unit_of_work() as uow:
        uow.create_dag_run(run, [])
        assert uow.consume_queued_asset_events("report", run.run_id, [one.id, two.id]) == 2
    assert any_store.queued_asset_events("report") == []
    # Another DAG's queue is its own.
    assert [q.event_id for q in any_store.queued_asset_events("audit")] == [one.id]
    assert [e.id for e in any_store.triggering_asset_events("report", run.run_id)] == [
        one.id,
        two.id,
    ]
    # Consumed once: a second consumer (another scheduler) takes nothing.
    other = make_run(dag_id="report", run_id="asset_triggered__2", day=1)
    with any_store.unit_of_work() as uow:
        uow.create_dag_run(other, [])
        assert uow.consume_queued_asset_events("report", other.run_id, [one.id]) == 0
    assert any_store.triggering_asset_events("report", other.run_id) == []


def test_a_fan_out_event_is_recorded_with_every_run_it_triggers(any_store: Store) -> None:
    _schedule(any_store, "daily", SALES)
    weekly = any_store.create_asset_event(SALES, timestamp=T0, partition_key="2024-01-01")
    monday = make_run(dag_id="daily", run_id="asset_triggered__mon")
    tuesday = make_run(dag_id="daily", run_id="asset_triggered__tue", day=1)
    with any_store.unit_of_work() as uow:
        uow.create_dag_run(monday, [])
        uow.create_dag_run(tuesday, [])
        assert uow.consume_queued_asset_events("daily", monday.run_id, [weekly.id]) == 1
        uow.record_triggering_asset_events("daily", tuesday.run_id, [weekly.id, 99_999])
        uow.record_triggering_asset_events("daily", tuesday.run_id, [weekly.id])  # once
    assert any_store.queued_asset_events("daily") == []
    for run in (monday, tuesday):
        assert [e.id for e in any_store.triggering_asset_events("daily", run.run_id)] == [weekly.id]


def test_a_unit_of_work_that_fails_leaves_the_events_queued(any_store: Store) -> None:
    _schedule(any_store, "report", SALES)
    event = any_store.create_asset_event(SALES, timestamp=T0)
    run = make_run(dag_id="report", run_id="asset_triggered__1")
    with pytest.raises(RuntimeError), any_store.unit_of_work() as uow:
        uow.create_dag_run(run, [])
        uow.consume_queued_asset_events("report", run.run_id, [event.id])
        raise RuntimeError("crash before the commit")
    assert [q.event_id for q in any_store.queued_asset_events("report")] == [event.id]
    assert any_store.get_dag_run("report", run.run_id) is None


def test_references_are_replaced_and_register_assets(any_store: Store) -> None:
    any_store.set_dag_asset_references(
        "etl",
        [AssetSpec(SALES, name="sales", group="finance", extra={"owner": "ops"})],
        [
            AssetReference("etl", SALES, OUTLET, "load"),
            AssetReference("etl", STOCK, INLET, "load"),
        ],
        T0,
    )
    sales = any_store.get_asset_by_uri(SALES)
    assert sales is not None
    assert (sales.name, sales.group, sales.extra) == ("sales", "finance", {"owner": "ops"})
    assert any_store.list_dag_asset_references(dag_id="etl") == [
        AssetReference("etl", SALES, OUTLET, "load"),
        AssetReference("etl", STOCK, INLET, "load"),
    ]
    any_store.set_dag_asset_references(
        "etl", [], [AssetReference("etl", STOCK, SCHEDULE)], T0 + timedelta(hours=1)
    )
    assert any_store.list_dag_asset_references(uri=STOCK) == [
        AssetReference("etl", STOCK, SCHEDULE)
    ]
    assert any_store.list_dag_asset_references(uri=SALES) == []
    with pytest.raises(ValueError, match="a reference of DAG 'x' given for 'etl'"):
        any_store.set_dag_asset_references("etl", [], [AssetReference("x", SALES, OUTLET)], T0)


def test_assets_and_events_list_with_filters_and_pages(any_store: Store) -> None:
    any_store.register_assets([AssetSpec(f"s3://b/{i}") for i in range(5)], T0)
    assert [a.uri for a in any_store.list_assets(limit=2, offset=1)] == ["s3://b/1", "s3://b/2"]
    assert any_store.count_assets() == 5
    assert [a.uri for a in any_store.list_assets(uri_pattern="/3")] == ["s3://b/3"]
    assert any_store.count_assets(uri_pattern="s3://b/") == 5
    assert any_store.count_assets(uri_pattern="%") == 0
    for i in range(4):
        any_store.create_asset_event(f"s3://b/{i % 2}", timestamp=T0 + timedelta(hours=i))
    assert [e.uri for e in any_store.list_asset_events(newest_first=True, limit=2)] == [
        "s3://b/1",
        "s3://b/0",
    ]
    only = AssetEventFilter(uri="s3://b/0")
    assert [e.timestamp for e in any_store.list_asset_events(only)] == [
        T0,
        T0 + timedelta(hours=2),
    ]
    assert any_store.count_asset_events(only) == 2
    late = AssetEventFilter(after=T0 + timedelta(hours=1), before=T0 + timedelta(hours=3))
    assert any_store.count_asset_events(late) == 2
    assert any_store.list_asset_events(AssetEventFilter(source_dag_id="etl")) == []


def test_a_dag_no_longer_scheduled_on_an_asset_drops_its_queued_events(any_store: Store) -> None:
    _schedule(any_store, "report", SALES, STOCK)
    any_store.create_asset_event(SALES, timestamp=T0)
    stock = any_store.create_asset_event(STOCK, timestamp=T0)
    _schedule(any_store, "report", STOCK)
    assert [q.event_id for q in any_store.queued_asset_events("report")] == [stock.id]
    _schedule(any_store, "report")
    assert any_store.queued_asset_events("report") == []


def test_deleting_a_run_forgets_which_events_triggered_it(any_store: Store) -> None:
    _schedule(any_store, "report", SALES)
    event = any_store.create_asset_event(SALES, timestamp=T0)
    run = make_run(dag_id="report", run_id="asset_triggered__1")
    with any_store.unit_of_work() as uow:
        uow.create_dag_run(run, [])
        uow.consume_queued_asset_events("report", run.run_id, [event.id])
    assert any_store.delete_dag_run("report", run.run_id)
    assert any_store.triggering_asset_events("report", run.run_id) == []
    assert [e.id for e in any_store.list_asset_events()] == [event.id]  # the event stays


def test_events_through_an_alias_are_queued_for_the_dags_scheduled_on_it(
    any_store: Store,
) -> None:
    any_store.set_dag_asset_references(
        "files", [], [AssetReference("files", "daily-files", SCHEDULE_ALIAS)], T0
    )
    _schedule(any_store, "both", SALES)
    any_store.set_dag_asset_references(
        "both",
        [],
        [
            AssetReference("both", SALES, SCHEDULE),
            AssetReference("both", "daily-files", SCHEDULE_ALIAS),
        ],
        T0,
    )
    # An alias's name is not an asset.
    assert any_store.get_asset_by_uri("daily-files") is None
    assert AssetReference("files", "daily-files", SCHEDULE_ALIAS) in (
        any_store.list_dag_asset_references(dag_id="files")
    )
    ti = _running(any_store)
    assert _succeed(
        any_store,
        ti,
        OutletEvent(SALES, alias="daily-files"),
        OutletEvent(STOCK, alias="daily-files"),
        OutletEvent(STOCK),
    )
    queued = [(q.dag_id, q.uri, q.alias) for q in any_store.queued_asset_events()]
    assert queued == [
        ("both", SALES, "daily-files"),  # once, though both its asset and alias match
        ("both", STOCK, "daily-files"),
        ("files", SALES, "daily-files"),
        ("files", STOCK, "daily-files"),
    ]
    # No longer scheduled on the alias: only the events of its assets stay queued.
    _schedule(any_store, "both", SALES)
    assert [(q.uri, q.alias) for q in any_store.queued_asset_events("both")] == [
        (SALES, "daily-files")
    ]
    assert any_store.list_dag_asset_references(dag_id="both") == [
        AssetReference("both", SALES, SCHEDULE)
    ]


def test_a_dag_scheduled_on_an_asset_name_gets_the_events_of_the_asset_bearing_it(
    any_store: Store,
) -> None:
    """``Asset.ref(name=...)``: resolved when events happen, so the asset may come later."""
    refs = [AssetReference("odds", "player_stats", SCHEDULE_NAME)]
    any_store.set_dag_asset_references("odds", [], refs, T0)
    assert any_store.list_dag_asset_references(dag_id="odds") == []  # no such asset yet
    any_store.register_assets([AssetSpec(SALES, name="player_stats")], T0)
    any_store.register_assets([AssetSpec(STOCK, name="stock")], T0)
    sales = any_store.create_asset_event(SALES, timestamp=T0, partition_key="us")
    any_store.create_asset_event(STOCK, timestamp=T0)
    (queued,) = any_store.queued_asset_events("odds")
    assert (queued.event_id, queued.uri, queued.name, queued.partition_key) == (
        sales.id,
        SALES,
        "player_stats",
        "us",
    )
    # Listed as a schedule reference of the asset bearing the name.
    assert any_store.list_dag_asset_references(uri=SALES) == [
        AssetReference("odds", SALES, SCHEDULE)
    ]
    # Scheduled on it by URI as well: queued once.
    both = [*refs, AssetReference("odds", SALES, SCHEDULE)]
    any_store.set_dag_asset_references("odds", [], both, T0)
    again = any_store.create_asset_event(SALES, timestamp=T0 + timedelta(seconds=1))
    assert [q.event_id for q in any_store.queued_asset_events("odds")] == [sales.id, again.id]
    # No longer scheduled on the name: its events leave the queue.
    any_store.set_dag_asset_references("odds", [], [], T0)
    assert any_store.queued_asset_events("odds") == []
