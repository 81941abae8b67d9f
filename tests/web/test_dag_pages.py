"""The pages of a DAG's views as HTML: who may see them, the live fragments, the header,
and bad input. (How they look and behave in a browser: tests/browser/test_dag_views.py.)"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from web_fixtures import ActAs

PAGES = [
    "/dags/etl",
    "/dags/etl/graph",
    "/dags/etl/runs/r1/gantt",
    "/dags/etl/gantt",
    "/dags/etl/code",
    "/dags/etl/durations",
    "/dags/etl/docs",
]

pytestmark = pytest.mark.usefixtures("history")


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_goes_to_the_login_page(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/dags/etl")


@pytest.mark.parametrize("path", PAGES)
def test_a_tag_limited_role_finds_no_page_outside_its_tags(
    client: TestClient, act_as: ActAs, path: str
) -> None:
    act_as("viewer", tags={"finance"})
    assert client.get(path, follow_redirects=False).status_code == 404


@pytest.mark.parametrize("path", [p for p in PAGES if p != "/dags/etl/gantt"])
def test_every_page_shows_the_dag_header_with_its_tab(
    client: TestClient, act_as: ActAs, path: str
) -> None:
    act_as("viewer")
    assert "data-api-action" not in client.get(path).text  # a viewer gets no actions
    act_as("op")
    html = client.get(path).text
    assert 'data-api-action="PATCH /api/v1/dags/etl"' in html
    assert '<a class="btn btn-primary" href="/dags/etl/trigger">Trigger</a>' in html
    assert html.count("<h1") == 1 and '<h1 class="dag-title">' in html
    tabs = html[html.index('<nav class="tabs"') :]
    tabs = tabs[: tabs.index("</nav>")]
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', tabs)
    expected = {"runs": "/dags/etl/gantt"}.get(path.split("/")[3] if path.count("/") > 2 else "")
    assert current == [expected or path]


def test_the_gantt_tab_opens_the_newest_run(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    response = client.get("/dags/etl/gantt", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/dags/etl/runs/r1/gantt")
    chosen = client.get("/dags/etl/gantt?run_id=a b", follow_redirects=False)
    assert chosen.headers["location"] == "/dags/etl/runs/a%20b/gantt"


def test_the_grid_fragment_is_done_when_every_run_ended(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    page = client.get("/dags/etl").text
    assert 'data-live-url="/dags/etl?runs=25&amp;run_id=r1&amp;fragment=grid"' in page
    assert 'data-live-interval="3000"' in page
    fragment = client.get("/dags/etl?fragment=grid&runs=25&run_id=r1").text
    assert "<html" not in fragment and "data-live-done" in fragment
    assert 'href="/dags/etl/runs/r1/tasks/load?map_index=-1"' in fragment
    assert 'title="load · success · try 1"' in fragment


def test_a_running_run_keeps_the_grid_live(client: TestClient, act_as: ActAs) -> None:
    from headwater.services.runs import trigger_run

    act_as("op")
    trigger_run(client.app.state.ctx, "etl")  # type: ignore[attr-defined]
    fragment = client.get("/dags/etl?fragment=grid").text
    assert "data-live-done" not in fragment
    assert "Clear failed" in fragment  # an op gets the run's buttons


def test_the_run_panel_masks_secrets_in_the_conf(client: TestClient, act_as: ActAs) -> None:
    from headwater.services.runs import TriggerRunRequest, trigger_run

    act_as("viewer")
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    conf = {"region": "us", "api_password": "hunter2-secret"}
    run = trigger_run(ctx, "etl", TriggerRunRequest(conf=conf, run_id="masked"))
    html = client.get(f"/dags/etl?run_id={run.run_id}").text
    assert "hunter2-secret" not in html
    assert "***" in html and "Clear failed" not in html  # a viewer gets no buttons


def test_the_run_panel_shows_a_runs_partition(client: TestClient, act_as: ActAs) -> None:
    from dataclasses import replace

    act_as("viewer")
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    stored = ctx.store.get_dag_run("etl", "r1")
    ctx.store.create_dag_run(replace(stored, run_id="eu_run", partition_key="eu"), [])
    assert (
        '<dt>Partition</dt><dd class="mono">eu</dd>' in client.get("/dags/etl?run_id=eu_run").text
    )
    assert "<dt>Partition</dt>" not in client.get("/dags/etl?run_id=r1").text


def test_the_graph_page_links_groups_and_tasks(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    html = client.get("/dags/etl/graph?run_id=r1").text
    assert 'aria-label="Graph of etl: 4 nodes, states of run r1"' in html
    assert 'href="/dags/etl/runs/r1/tasks/report?map_index=-1"' in html
    assert "<title>double · success · @task (mapped)</title>" in html


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/dags/etl?runs=0", 422),
        ("/dags/etl?before=someday", 400),
        ("/dags/etl?run_id=nope", 404),
        ("/dags/etl/graph?collapsed=nope", 400),
        ("/dags/etl/graph?run_id=nope", 404),
        ("/dags/etl/runs/nope/gantt", 404),
        ("/dags/etl/durations?runs=500", 422),
        ("/dags/nope/code", 404),
    ],
)
def test_bad_input_is_a_4xx(client: TestClient, act_as: ActAs, path: str, status: int) -> None:
    act_as("viewer")
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_the_code_page_numbers_each_line(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    html = client.get("/dags/etl/code").text
    assert '<tr id="L6"><td class="views-line-number"><a href="#L6"' in html
    assert "START = datetime(2024, 1, 1, tzinfo=UTC)</td>" in html


def test_the_graph_fragment_is_the_svg_alone_and_done_for_an_ended_run(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    page = client.get("/dags/etl/graph?run_id=r1").text
    assert 'data-live-url="/dags/etl/graph?run_id=r1&amp;fragment=graph"' in page
    fragment = client.get("/dags/etl/graph?run_id=r1&fragment=graph").text
    assert fragment.lstrip().startswith("<span hidden data-live-done></span>")
    assert "<html" not in fragment and fragment.count('class="views-node views-node-task"') == 4


def test_run_ids_with_plus_signs_survive_the_links(client: TestClient, act_as: ActAs) -> None:
    from headwater.services.runs import TriggerRunRequest, trigger_run

    act_as("viewer")
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    run_id = "manual__2024-03-01T00:00:00+00:00"
    trigger_run(ctx, "etl", TriggerRunRequest(run_id=run_id))
    encoded = "manual__2024-03-01T00%3A00%3A00%2B00%3A00"
    grid = client.get("/dags/etl").text
    assert f'href="/dags/etl?run_id={encoded}&amp;runs=25"' in grid
    assert f'href="/dags/etl/runs/{encoded}/tasks/load?map_index=-1"' in grid
    durations = client.get("/dags/etl/durations").text
    assert f'href="/dags/etl?run_id={encoded}"' in durations
    panel = client.get(f"/dags/etl?run_id={encoded}").text
    assert f'title="{run_id}">{run_id}</h2>' in panel
