"""The graph in real Chromium draws edge labels (``Label``) on their edges, for a DAG with a
setup and a teardown that really ran (the work failed, the teardown still ran). Saves a
screenshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import run_now, scan_here, write_dags
from web_fixtures import ActAs

Screenshot = Callable[[Any, str], Path]

FLOW = """
from datetime import UTC, datetime
from headwater import DAG, Label
from headwater.operators import EmptyOperator, PythonOperator

def diverge():
    raise RuntimeError("training diverged")

with DAG("flow", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    create = EmptyOperator(task_id="create_cluster").as_setup()
    train = PythonOperator(task_id="train", python_callable=diverge)
    delete = EmptyOperator(task_id="delete_cluster").as_teardown(setups=create)
    alert = EmptyOperator(task_id="alert", trigger_rule="one_failed")
    create >> Label("cluster up") >> train >> delete
    train >> Label("on failure") >> alert
"""


@pytest.fixture
def flow_run(web_settings: Settings, dags_folder: Path) -> None:
    write_dags(dags_folder, FLOW, name="flow.py")
    with open_context(web_settings) as ctx:
        report = scan_here(ctx.store, dags_folder)
        assert not report.errors, report
        assert run_now(ctx.store, dags_folder, "flow", "r1", web_settings).state == "success"


@pytest.mark.usefixtures("flow_run")
def test_the_graph_draws_edge_labels(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/flow/graph")
    labels = page.locator("g[data-views-edge] text.views-edge-label")
    assert sorted(labels.all_text_contents()) == ["cluster up", "on failure"]
    edge = page.locator("g[data-views-edge='create_cluster>train']")
    assert edge.locator("title").text_content() == "create_cluster → train: cluster up"
    assert edge.locator("text").is_visible()
    teardown = page.locator("g[data-views-node='delete_cluster']")
    assert teardown.get_attribute("data-state") == "success"  # ran although train failed
    assert page.locator("g[data-views-node='train']").get_attribute("data-state") == "failed"
    assert teardown.locator(".views-node-sub").text_content() == "success · teardown"
    assert "views-node-setup" in (
        page.locator("g[data-views-node='create_cluster']").get_attribute("class") or ""
    )
    screenshot(page, "graph-labels")
