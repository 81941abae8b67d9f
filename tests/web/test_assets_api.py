"""/api/v1/assets: assets with producers, consumers and last event; events listed newest
first and created by op users (recording who)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.assets import OUTLET, SCHEDULE, AssetReference
from web_fixtures import ActAs

SALES = "s3://bucket/sales.parquet"


def _refer(settings: Settings) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with open_context(settings) as ctx:
        ctx.store.set_dag_asset_references(
            "etl", [], [AssetReference("etl", SALES, OUTLET, "load")], now
        )
        ctx.store.set_dag_asset_references(
            "flaky", [], [AssetReference("flaky", SALES, SCHEDULE)], now
        )


def test_an_op_creates_an_event_and_everyone_reads_it(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    _refer(web_settings)
    act_as("op", username="olga")
    created = client.post("/api/v1/assets/events", json={"uri": SALES, "extra": {"rows": 3}})
    assert created.status_code == 201, created.text
    event = created.json()
    assert (event["uri"], event["extra"], event["created_by"]) == (SALES, {"rows": 3}, "olga")
    act_as("viewer")
    page = client.get("/api/v1/assets", params={"uri_pattern": "sales"}).json()
    assert page["total"] == 1
    (asset,) = page["items"]
    assert asset["consuming_dags"] == ["flaky"]
    assert asset["producing_tasks"] == [{"dag_id": "etl", "task_id": "load"}]
    assert asset["last_event"]["id"] == event["id"]
    assert client.get(f"/api/v1/assets/{asset['id']}").json()["uri"] == SALES
    events = client.get("/api/v1/assets/events", params={"uri": SALES}).json()
    assert [e["id"] for e in events["items"]] == [event["id"]]
    assert client.get("/api/v1/assets/events", params={"source_dag_id": "etl"}).json()["total"] == 0


def test_errors_and_roles(client: TestClient, act_as: ActAs, web_settings: Settings) -> None:
    act_as("viewer")
    denied = client.post("/api/v1/assets/events", json={"uri": SALES})
    assert denied.status_code == 403
    assert "may not create asset events" in denied.json()["detail"]
    act_as("op")
    missing = client.post("/api/v1/assets/events", json={"uri": SALES})
    assert missing.status_code == 404
    assert "no asset with URI" in missing.json()["detail"]
    bad = client.post("/api/v1/assets/events", json={"uri": "a b"})
    assert bad.status_code == 400
    assert "must not hold spaces" in bad.json()["detail"]
    assert client.get("/api/v1/assets/999").status_code == 404
