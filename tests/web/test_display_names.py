"""``dag_display_name`` and ``task_display_name`` where people read: the DAG list (API and
home page, found by search), a DAG's page header and details, and the task labels of the
grid and graph; the ids stay in every URL and beside a display name that differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import scan_here, write_dags
from web_fixtures import ActAs

NAMED = """
from datetime import datetime, timezone
from headwater import DAG
from headwater.operators import EmptyOperator

with DAG("sales_daily", dag_display_name="Sales <daily> 📈", schedule=None,
         start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
    EmptyOperator(task_id="load", task_display_name="Load the orders") >> EmptyOperator(
        task_id="plain"
    )
"""


@pytest.fixture
def named(web_settings: Settings, dags_folder: Path) -> None:
    write_dags(dags_folder, NAMED, name="named.py")
    with open_context(web_settings) as ctx:
        assert not scan_here(ctx.store, dags_folder).errors


def _get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("named")
def test_the_api_names_dags_and_tasks_by_their_display_names(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    items = {d["dag_id"]: d for d in _get(client, "/dags")["items"]}
    assert items["sales_daily"]["display_name"] == "Sales <daily> 📈"
    assert items["etl"]["display_name"] == "etl"  # none set: its id
    found = _get(client, "/dags", search="SALES <DAILY>")["items"]
    assert [d["dag_id"] for d in found] == ["sales_daily"]

    detail = _get(client, "/dags/sales_daily")
    assert detail["display_name"] == "Sales <daily> 📈"
    assert {t["task_id"]: t["label"] for t in detail["tasks"]} == {
        "load": "Load the orders",
        "plain": "plain",
    }
    grid = _get(client, "/dags/sales_daily/grid")
    assert [(r["id"], r["label"]) for r in grid["rows"]] == [
        ("load", "Load the orders"),
        ("plain", "plain"),
    ]
    graph = _get(client, "/dags/sales_daily/graph")
    assert {n["id"]: n["label"] for n in graph["nodes"]} == {
        "load": "Load the orders",
        "plain": "plain",
    }


@pytest.mark.usefixtures("named")
def test_the_pages_show_the_display_name_with_the_id_beside_it(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    home = client.get("/").text
    assert '<a class="dag-link" href="/dags/sales_daily">Sales &lt;daily&gt; 📈</a>' in home
    assert '<span class="muted mono dag-id">sales_daily</span>' in home
    assert '<a class="dag-link" href="/dags/etl">etl</a>' in home  # no name: the id, alone
    assert '<span class="muted mono dag-id">etl</span>' not in home

    page = client.get("/dags/sales_daily/graph").text
    assert 'href="/dags/sales_daily">Sales &lt;daily&gt; 📈</a>' in page
    assert '<span class="muted mono dag-id">sales_daily</span>' in page
    plain = client.get("/dags/etl/graph").text
    assert '<a class="mono" href="/dags/etl">etl</a>' in plain
    assert "dag-id" not in plain
