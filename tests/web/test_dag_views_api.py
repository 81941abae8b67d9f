"""The REST API of a DAG's views: grid, graph and a run's Gantt, for each role, with bad
input answered by a 4xx that names the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from web_fixtures import ActAs

pytestmark = pytest.mark.usefixtures("history")


def _get(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    response = client.get(f"/api/v1{path}", params=params)
    assert response.status_code == status, response.text
    return response.json()


def test_the_grid_of_etl_has_its_run_and_a_folded_mapped_row(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    grid = _get(client, "/dags/etl/grid")
    assert [r["run_id"] for r in grid["runs"]] == ["r1"]
    assert grid["runs"][0]["state"] == "success" and grid["runs"][0]["duration"] >= 0
    assert [row["id"] for row in grid["rows"]] == ["extract", "double", "load", "report"]
    double = grid["rows"][1]
    assert double["mapped"] is True
    assert double["cells"] == [
        {
            "state": "success",
            "try_number": 1,
            "map_count": 3,
            "state_counts": {"success": 3},
            "map_index": 0,
        }
    ]
    assert grid["older"] is None and grid["unfinished"] is False


def test_a_mapped_cell_counts_each_state_and_opens_the_failed_instance(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    grid = _get(client, "/dags/partly/grid")
    half = next(row for row in grid["rows"] if row["id"] == "half")
    cell = half["cells"][0]
    assert cell["state_counts"] == {"failed": 1, "success": 2}
    assert cell["state"] == "failed" and cell["map_count"] == 3 and cell["map_index"] == 1


def test_the_graph_lays_every_task_out_left_to_right_with_the_run_states(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    graph = _get(client, "/dags/flaky/graph")
    assert graph["run_id"] == "r1" and graph["run_state"] == "failed"
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert {k: n["state"] for k, n in nodes.items()} == {
        "start": "success",
        "boom": "failed",
        "after": "upstream_failed",
    }
    assert nodes["start"]["x"] < nodes["boom"]["x"] < nodes["after"]["x"]
    assert {(e["source"], e["target"]) for e in graph["edges"]} == {
        ("start", "boom"),
        ("boom", "after"),
    }


def test_the_gantt_of_a_run_has_each_attempt(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    gantt = _get(client, "/dags/flaky/runs/r1/gantt")
    rows = {row["label"]: row for row in gantt["rows"]}
    assert list(rows) == ["start", "boom", "after"]
    assert [a["try_number"] for a in rows["boom"]["attempts"]] == [1, 2]
    assert [a["state"] for a in rows["boom"]["attempts"]] == ["up_for_retry", "failed"]
    assert rows["after"]["attempts"] == []
    assert gantt["start"] is not None and gantt["end"] >= gantt["start"]


@pytest.mark.parametrize(
    "path",
    ["/dags/etl/grid", "/dags/etl/graph", "/dags/etl/runs/r1/gantt"],
)
def test_every_view_needs_credentials(client: TestClient, path: str) -> None:
    _get(client, path, status=401)


@pytest.mark.parametrize(
    "path",
    ["/dags/etl/grid", "/dags/etl/graph", "/dags/etl/runs/r1/gantt"],
)
def test_a_tag_limited_role_finds_no_dag_outside_its_tags(
    client: TestClient, act_as: ActAs, path: str
) -> None:
    act_as("op", tags={"finance"})
    body = _get(client, path, status=404)
    assert body["detail"] == "no DAG 'etl'"


@pytest.mark.parametrize("level", ["viewer", "op", "admin"])
def test_every_level_reads_the_views(client: TestClient, act_as: ActAs, level: Any) -> None:
    act_as(level)
    _get(client, "/dags/etl/grid")
    _get(client, "/dags/etl/graph", run_id="r1")
    _get(client, "/dags/etl/runs/r1/gantt")


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/dags/etl/grid", {"runs": 0}, 422, "query.runs"),
        ("/dags/etl/grid", {"runs": 101}, 422, "query.runs"),
        ("/dags/etl/grid", {"runs": "many"}, 422, "query.runs"),
        ("/dags/etl/grid", {"before": "yesterday"}, 422, "query.before"),
        ("/dags/etl/grid", {"before": "2024-01-01T00:00:00"}, 400, None),
        ("/dags/etl/grid", {"before": "0001-01-01T00:00:00+05:00"}, 400, None),
        ("/dags/etl/graph", {"collapsed": "nope"}, 400, None),
        ("/dags/etl/graph", {"run_id": "nope"}, 404, None),
        ("/dags/nope/grid", {}, 404, None),
        ("/dags/etl/runs/nope/gantt", {}, 404, None),
    ],
)
def test_bad_input_is_a_4xx_that_names_what_was_wrong(
    client: TestClient,
    act_as: ActAs,
    path: str,
    params: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    act_as("viewer")
    body = _get(client, path, status=status, **params)
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
    else:
        assert body["detail"]


def test_a_naive_before_and_an_unknown_group_name_themselves(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    naive = _get(client, "/dags/etl/grid", status=400, before="2024-01-01T00:00:00")
    assert "before" in naive["detail"] and "time zone" in naive["detail"]
    group = _get(client, "/dags/etl/graph", status=400, collapsed="nope")
    assert group["detail"].startswith("collapsed: DAG 'etl' has no task group 'nope'")
