"""The assets graph over HTTP: ``GET /api/v1/assets/graph`` and the ``/assets/graph`` page
(nodes linking to the asset's page and the DAG's grid, the cut's note, a tag-limited role
seeing only its DAGs, the legend), and the link from the assets list."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from asset_graph_dags import FEATURES, store_asset_dags
from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import ActAs

WHEN = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)


@pytest.fixture
def asset_id(web_settings: Settings, dags_folder: Path) -> int:
    with open_context(web_settings) as ctx:
        store_asset_dags(ctx.store, dags_folder)
        return ctx.store.create_asset_event(FEATURES, timestamp=WHEN).asset_id


def test_the_api_answers_the_laid_out_graph(
    client: TestClient, act_as: ActAs, asset_id: int
) -> None:
    act_as("viewer")
    graph = client.get("/api/v1/assets/graph").json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {
        f"asset:{FEATURES}",
        "alias:files",
        "dag:features",
        "dag:training",
        "dag:report",
        "dag:audit",
    }
    asset = nodes[f"asset:{FEATURES}"]
    assert asset["asset_id"] == asset_id
    assert asset["last_event_at"] == "2024-03-01T06:30:00+00:00"
    assert asset["queued_events"] == 1
    edges = {(e["source"], e["target"]): e["kind"] for e in graph["edges"]}
    assert edges[(f"asset:{FEATURES}", "dag:report")] == "inlet"
    assert all(len(e["points"]) >= 2 for e in graph["edges"])
    assert graph["width"] > 0 and graph["truncated"] is False
    around = client.get("/api/v1/assets/graph", params={"dag_id": "audit"}).json()
    assert [n["id"] for n in around["nodes"]] == ["dag:audit", "alias:files"]
    cut = client.get("/api/v1/assets/graph", params={"limit": 2}).json()
    assert (cut["truncated"], cut["total_nodes"], len(cut["nodes"])) == (True, 6, 2)
    bad = client.get("/api/v1/assets/graph", params={"limit": 501})
    assert bad.status_code == 422 and "limit" in bad.text


def test_a_tag_limited_role_sees_only_its_dags(
    client: TestClient, act_as: ActAs, asset_id: int
) -> None:
    act_as("viewer", tags={"team-b"})
    graph = client.get("/api/v1/assets/graph").json()
    # the alias is known only from the (hidden) DAG scheduled on it
    assert {n["id"] for n in graph["nodes"]} == {f"asset:{FEATURES}", "dag:report"}
    asset = next(n for n in graph["nodes"] if n["kind"] == "asset")
    assert asset["queued_events"] == 0  # the queued event is training's, not the role's
    page = client.get("/assets/graph").text
    assert "training" not in page and 'href="/dags/report"' in page


def test_the_page_draws_nodes_that_link_to_the_asset_and_the_grid(
    client: TestClient, act_as: ActAs, asset_id: int
) -> None:
    act_as("viewer")
    listing = client.get("/assets").text
    assert 'href="/assets/graph"' in listing
    html = client.get("/assets/graph").text
    assert f'<a href="/assets/{asset_id}">' in html
    for dag in ("features", "training", "report", "audit"):
        assert f'<a href="/dags/{dag}">' in html
    asset = html[html.index(f'data-assets-node="asset:{FEATURES}"') :]
    asset = asset[: asset.index("</g>")]
    assert "last: 2024-03-01 06:30 UTC" in asset and "1 queued for consumers" in asset
    assert 'data-kind="inlet"' in html and "assets-edge-inlet" in html
    assert re.search(r'data-legend-state="deferred"', html)
    assert 'aria-current="page">Assets' in html
    assert "Showing" not in html


def test_the_page_filters_and_says_when_it_is_cut(
    client: TestClient, act_as: ActAs, asset_id: int
) -> None:
    act_as("viewer")
    cut = client.get("/assets/graph", params={"limit": 3}).text
    assert "Showing 2 of 6 nodes (at most 3)" in cut
    only = client.get("/assets/graph", params={"asset": "fil"}).text
    assert 'data-assets-node="dag:audit"' in only and "dag:features" not in only
    assert 'value="fil"' in only
    none = client.get("/assets/graph", params={"dag_id": "etl"}).text
    assert "No assets match this filter." in none


def test_the_page_needs_a_session(client: TestClient) -> None:
    response = client.get("/assets/graph", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/assets/graph"
