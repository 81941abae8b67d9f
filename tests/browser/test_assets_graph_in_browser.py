"""The assets graph in real Chromium: two DAGs linked by an asset (``features`` produces it,
``training`` is scheduled on it), plus a DAG reading it and one on an alias; the nodes link
to the asset's page and the DAG's grid; screenshots in the light and the dark theme."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from asset_graph_dags import FEATURES, store_asset_dags
from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState
from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import ActAs

Screenshot = Callable[[Any, str], Path]
WHEN = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)


@pytest.fixture
def linked(web_settings: Settings, dags_folder: Path) -> None:
    with open_context(web_settings) as ctx:
        store_asset_dags(ctx.store, dags_folder)
        for dag_id, state in (("features", DagRunState.SUCCESS), ("audit", DagRunState.FAILED)):
            run = DagRun(dag_id, "r1", WHEN, WHEN, WHEN, run_type="scheduled", state=state)
            ctx.store.create_dag_run(run, [])
        ctx.store.create_asset_event(FEATURES, timestamp=WHEN)


@pytest.mark.usefixtures("linked")
def test_the_asset_graph_links_producer_asset_and_consumer(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/assets")
    page.get_by_role("link", name="Graph of assets and DAGs").click()
    page.wait_for_url("**/assets/graph")
    nodes = page.locator("g[data-assets-node]")
    assert nodes.count() == 6
    box = {
        name: page.locator(f"g[data-assets-node='{name}'] rect").bounding_box()
        for name in ("dag:features", f"asset:{FEATURES}", "dag:training")
    }
    assert box["dag:features"]["x"] < box[f"asset:{FEATURES}"]["x"] < box["dag:training"]["x"]
    fill = page.locator("g[data-assets-node='dag:features'] rect").evaluate(
        "el => getComputedStyle(el).fill"
    )
    swatch = page.locator(".state-legend [data-legend-state='success'] span").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert fill == swatch  # the DAG's newest run state has the legend's colour
    dashed = page.locator("g[data-kind='inlet'] path").evaluate(
        "el => getComputedStyle(el).strokeDasharray"
    )
    assert dashed not in ("none", "")
    assert page.locator("[data-legend-state='deferred']").is_visible()
    screenshot(page, "assets-graph")
    page.emulate_media(color_scheme="dark")
    page.reload()  # drawn dark from the start: no colour transitions in the picture
    screenshot(page, "assets-graph-dark")
    page.emulate_media(color_scheme="light")
    page.reload()
    page.locator(f"g[data-assets-node='asset:{FEATURES}'] a").click()
    page.wait_for_url("**/assets/*")
    assert FEATURES in page.locator("main").inner_text()
    page.go_back()
    page.locator("g[data-assets-node='dag:training'] a").click()
    page.wait_for_url("**/dags/training")
