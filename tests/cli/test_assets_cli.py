"""``headwater assets list | events | create-event`` through a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from headwater.store.assets import OUTLET, SCHEDULE, AssetReference, AssetSpec
from headwater.store.sql import SqlStore
from stored_dags import invoke

SALES = "s3://bucket/sales.parquet"


def _refer(store: SqlStore) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    store.set_dag_asset_references(
        "etl",
        [AssetSpec(SALES, name="sales", group="finance")],
        [AssetReference("etl", SALES, OUTLET, "load")],
        now,
    )
    store.set_dag_asset_references("flaky", [], [AssetReference("flaky", SALES, SCHEDULE)], now)


def test_create_an_event_then_list_it_and_its_asset(store: SqlStore) -> None:
    _refer(store)
    result = invoke("assets", "create-event", SALES, "--extra", '{"rows": 12}')
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Created event 1 of s3://bucket/sales.parquet")
    # The DAG scheduled on the asset has it queued.
    assert [q.dag_id for q in store.queued_asset_events()] == ["flaky"]
    events = json.loads(invoke("assets", "events", "--uri", SALES, "-o", "json").stdout)
    assert events["total"] == 1
    (event,) = events["items"]
    assert (event["uri"], event["extra"], event["source_dag_id"]) == (SALES, {"rows": 12}, None)
    assert event["created_by"].startswith("cli:")
    assets = json.loads(invoke("assets", "list", "-o", "json").stdout)
    (asset,) = assets["items"]
    assert (asset["name"], asset["group"], asset["consuming_dags"]) == (
        "sales",
        "finance",
        ["flaky"],
    )
    assert asset["producing_tasks"] == [{"dag_id": "etl", "task_id": "load"}]
    assert asset["last_event"]["id"] == event["id"]
    table = invoke("assets", "list").stdout
    assert "s3://bucket/sales.parquet" in table and "etl.load" in table and "flaky" in table
    events_table = invoke("assets", "events").stdout
    assert "cli:" in events_table and '{"rows": 12}' in events_table
    assert "partition" not in events_table  # no event has a partition key
    # What people did: the event log says who created it.
    [logged] = [e for e in store.list_events() if e.kind == "asset_event"]
    assert (logged.detail, logged.actor) == (SALES, event["created_by"])


def test_events_of_partitions_show_their_keys(store: SqlStore) -> None:
    _refer(store)
    keyed = invoke("assets", "create-event", SALES, "--partition-key", "2024-01-31")
    assert keyed.exit_code == 0, keyed.stderr
    assert invoke("assets", "create-event", SALES).exit_code == 0
    events_table = invoke("assets", "events").stdout
    assert "partition" in events_table and "2024-01-31" in events_table


def test_create_event_errors_name_what_is_wrong(store: SqlStore) -> None:
    unknown = invoke("assets", "create-event", "s3://nowhere")
    assert unknown.exit_code == 1
    assert (
        "no asset with URI 's3://nowhere': no DAG names it (--create registers it)"
        in unknown.stderr
    )
    created = invoke("assets", "create-event", "s3://nowhere", "--create", "-o", "json")
    assert json.loads(created.stdout)["uri"] == "s3://nowhere"
    bad_extra = invoke("assets", "create-event", "s3://nowhere", "--extra", "[1]")
    assert bad_extra.exit_code == 2 and "--extra" in bad_extra.stderr
    bad_uri = invoke("assets", "create-event", "airflow://x", "--create")
    assert bad_uri.exit_code == 1
    assert "the scheme 'airflow' is reserved" in bad_uri.stderr
    assert "create-event" in invoke("assets", "--help").stdout
