"""The waiting states ``deferred`` and ``up_for_reschedule`` in every view that shows task
states (grid cells, graph nodes, Gantt bars, a mapped task's instance table),
each with its colour class and its name as text; and the legend of every state on the grid,
the graph and the assets graph."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from db_records import make_attempt
from headwater.engine.records import DagRun, TaskInstance
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.web.ui.state_legend import STATE_LEGEND
from web_fixtures import ActAs

S = TaskInstanceState
WAITING = ("deferred", "up_for_reschedule")
DAY = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture
def waiting_run(web_settings: Settings) -> None:
    """Run ``w1`` of ``etl``: extract succeeded, double[0] deferred, double[1] up for
    reschedule (each after one attempt), load and report not started."""
    states = {("extract", -1): S.SUCCESS, ("double", 0): S.DEFERRED}
    states |= {("double", 1): S.UP_FOR_RESCHEDULE, ("load", -1): S.NONE, ("report", -1): S.NONE}
    with open_context(web_settings) as ctx:
        run = DagRun("etl", "w1", DAY, DAY, DAY, run_type="manual", state=DagRunState.RUNNING)
        tis = [
            TaskInstance("etl", "w1", task, index, state, try_number=0 if state == S.NONE else 1)
            for (task, index), state in states.items()
        ]
        ctx.store.create_dag_run(run, tis)
        for ti in tis[:3]:
            end = DAY + timedelta(minutes=1)
            ctx.store.save_attempt(make_attempt(ti, start=DAY, state=ti.state, end_date=end))


def test_the_legend_names_every_task_state() -> None:
    assert {state for state, _ in STATE_LEGEND} == {s.value for s in TaskInstanceState}
    css = (Path(__file__).parents[2] / "src/headwater/web/ui/static/app.css").read_text()
    svg_css = (Path(__file__).parents[2] / "src/headwater/web/ui/static/views.css").read_text()
    for state, _ in STATE_LEGEND:
        assert f".state-{state} {{ background-color: var(--s-{state})" in css, state
        assert f".views-svg .state-{state} {{ fill:" in svg_css, state


@pytest.mark.parametrize("path", ["/dags/etl?run_id=w1", "/dags/etl/graph?run_id=w1"])
@pytest.mark.usefixtures("waiting_run")
def test_the_grid_and_the_graph_show_the_legend(
    client: TestClient, act_as: ActAs, path: str
) -> None:
    act_as("viewer")
    html = client.get(path).text
    legend = html[html.index('<ul class="state-legend"') :]
    legend = legend[: legend.index("</ul>")]
    shown = re.findall(r'data-legend-state="([a-z_]+)"', legend)
    assert shown == [state for state, _ in STATE_LEGEND]
    assert 'title="deferred: waiting for a trigger in the triggerer' in legend
    assert 'class="state-legend-swatch state-up_for_reschedule"' in legend


@pytest.mark.usefixtures("waiting_run")
def test_every_view_of_states_colours_and_names_the_waiting_states(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("viewer")
    grid = client.get("/dags/etl?run_id=w1").text
    cells = re.findall(r'<a class="views-cell state-([a-z_]+)"[^>]*title="([^"]+)"', grid)
    assert (
        "up_for_reschedule",
        "double · up_for_reschedule · try 1 · 2 mapped: 1 deferred, 1 up_for_reschedule",
    ) in cells
    graph = client.get("/dags/etl/graph?run_id=w1").text
    gantt = client.get("/dags/etl/runs/w1/gantt").text
    instances = client.get("/dags/etl/runs/w1/tasks/double?map_index=0").text
    for name, html in (("graph", graph), ("gantt", gantt)):
        for state in WAITING:
            assert f"state-{state}" in html, (name, state)
            assert re.search(rf"[>·] ?{state}\b", html), (name, state)
    assert "state-deferred" in instances and "up_for_reschedule" in instances
