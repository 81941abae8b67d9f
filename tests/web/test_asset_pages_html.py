"""The assets pages as HTML: the list with producers, consumers and last event; one asset
with its events; escaped values; the login redirect."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.assets import OUTLET, SCHEDULE, AssetReference
from web_fixtures import ActAs

SALES = "s3://bucket/sales.parquet"


def _seed(settings: Settings) -> int:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with open_context(settings) as ctx:
        ctx.store.set_dag_asset_references(
            "etl", [], [AssetReference("etl", SALES, OUTLET, "load")], now
        )
        ctx.store.set_dag_asset_references(
            "flaky", [], [AssetReference("flaky", SALES, SCHEDULE)], now
        )
        event = ctx.store.create_asset_event(
            SALES, timestamp=now, extra={"note": "<script>x</script>"}, created_by="olga"
        )
        return event.asset_id


def test_the_pages_need_a_session(client: TestClient) -> None:
    response = client.get("/assets", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/assets"


def test_the_list_and_one_asset_with_its_events(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    asset_id = _seed(web_settings)
    act_as("viewer")
    listing = client.get("/assets")
    assert listing.status_code == 200
    html = listing.text
    assert f'href="/assets/{asset_id}"' in html and SALES in html
    assert 'href="/dags/etl"' in html and 'href="/dags/flaky"' in html
    assert "2024-01-01 00:00:00" in html
    assert 'aria-current="page">Assets' in html
    assert "No assets match this filter" in client.get("/assets?uri=nothing").text
    detail = client.get(f"/assets/{asset_id}")
    assert detail.status_code == 200
    assert "olga" in detail.text
    assert "<script>x</script>" not in detail.text  # escaped
    assert "&lt;script&gt;" in detail.text or "\\u003cscript" in detail.text
    assert client.get("/assets/999").status_code == 404
