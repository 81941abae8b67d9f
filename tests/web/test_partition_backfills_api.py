"""The REST API and partitions: a backfill over partitions (dry run and real), a paged
backfill detail, a manual run of one partition, and a partitioned asset event."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import DAGS, store_dags
from web_fixtures import ActAs

PARTITIONED = """
from headwater import Asset, StaticPartitions

REGIONS = StaticPartitions(["eu", "us", "apac"])

with DAG("regional", start_date=START, schedule=[Asset("s3://b/orders", partitions=REGIONS)],
         partitions=REGIONS):
    BashOperator(task_id="load", bash_command="echo {{ partition_key }}")
"""


def _store(settings: Settings, folder: Path) -> None:
    with open_context(settings) as ctx:
        store_dags(ctx.store, folder, DAGS + PARTITIONED)


def test_backfill_partitions_then_page_its_runs(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    _store(web_settings, dags_folder)
    act_as("op")
    body = {"dag_id": "regional", "partitions": "eu..apac", "dry_run": True}
    plan = client.post("/api/v1/backfills", json=body).json()
    assert [(i["partition_key"], i["action"]) for i in plan["items"]] == [
        ("eu", "create"),
        ("us", "create"),
        ("apac", "create"),
    ]
    response = client.post("/api/v1/backfills", json={**body, "dry_run": False})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["partitions"] == "eu..apac" and len(created["created"]) == 3
    page = client.get(
        f"/api/v1/backfills/{created['backfill_id']}", params={"limit": 2, "offset": 1}
    ).json()
    assert page["total_runs"] == 3 and len(page["runs"]) == 2
    bad = client.post("/api/v1/backfills", json={**body, "partitions": "eu,mars"})
    assert bad.status_code == 400 and "'mars' is not one of the static" in bad.text
    both = client.post("/api/v1/backfills", json={**body, "start": "2024-01-01T00:00:00+00:00"})
    assert both.status_code == 400 and "partitions or start and end, not both" in both.text


def test_trigger_a_partition_and_post_a_partitioned_event(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    _store(web_settings, dags_folder)
    act_as("admin")
    response = client.post("/api/v1/dags/regional/runs", json={"partition_key": "us"})
    assert response.status_code == 201, response.text
    assert response.json()["partition_key"] == "us"
    refused = client.post("/api/v1/dags/etl/runs", json={"partition_key": "us"})
    assert refused.status_code == 400 and "DAG 'etl' has no partitions" in refused.text
    event = client.post(
        "/api/v1/assets/events", json={"uri": "s3://b/orders", "partition_key": "eu"}
    )
    assert event.status_code == 201, event.text
    assert event.json()["partition_key"] == "eu"
    with open_context(web_settings) as ctx:
        assert [e.partition_key for e in ctx.store.queued_asset_events("regional")] == ["eu"]
