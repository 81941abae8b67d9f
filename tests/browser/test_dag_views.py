"""A DAG's views in real Chromium: the grid (cells coloured by state, groups that collapse,
cells that open the attempt), the graph, the Gantt chart, the code, the durations chart and
the docs, with stored scripts in a DAG's docs shown as text. Each saves a screenshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.engine.records import DagRun, TaskInstance
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import scan_here, write_dags
from web_fixtures import ActAs

Screenshot = Callable[[Any, str], Path]

EXTRA_DAGS = '''
from datetime import UTC, datetime
from headwater import DAG, TaskGroup
from headwater.operators import BashOperator

START = datetime(2024, 1, 1, tzinfo=UTC)

with DAG("grouped", start_date=START, schedule="@daily") as grouped:
    begin = BashOperator(task_id="begin", bash_command="echo")
    with TaskGroup("extract") as extract:
        users = BashOperator(task_id="users", bash_command="echo")
        orders = BashOperator(task_id="orders", bash_command="echo")
    finish = BashOperator(task_id="finish", bash_command="echo")
    begin >> extract >> finish

XSS_DOC = """# Notes
<script>window.__xss=1</script>

[click me](javascript:window.__xss=3)
"""

with DAG("shady", start_date=START, schedule=None, doc_md=XSS_DOC) as shady:
    BashOperator(task_id="harmless", bash_command="echo",
                 doc_md="<img src=x onerror=window.__xss=2> see *this*")
'''


@pytest.fixture
def extra_dags(web_settings: Settings, dags_folder: Path) -> None:
    """``grouped`` (a task group) with two runs, and ``shady`` (scripts in its docs)."""
    write_dags(dags_folder, EXTRA_DAGS, name="extra.py")
    with open_context(web_settings) as ctx:
        report = scan_here(ctx.store, dags_folder)
        assert not report.errors, report
        for day, run_state, states in (
            (0, DagRunState.SUCCESS, ["success"] * 4),
            (1, DagRunState.FAILED, ["success", "failed", "success", "upstream_failed"]),
        ):
            date = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)
            run_id = f"g{day}"
            run = DagRun("grouped", run_id, date, date, date, run_type="scheduled", state=run_state)
            tasks = ["begin", "extract.users", "extract.orders", "finish"]
            tis = [
                TaskInstance("grouped", run_id, t, -1, TaskInstanceState(s), try_number=1)
                for t, s in zip(tasks, states, strict=True)
            ]
            ctx.store.create_dag_run(run, tis)


@pytest.mark.usefixtures("history")
def test_the_grid_colours_cells_by_state_and_opens_the_attempt(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/flaky")
    cells = page.locator("a.views-cell")
    assert cells.count() == 3
    colours = {
        state: page.locator(f"a.views-cell.state-{state}").evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        for state in ("success", "failed", "upstream_failed")
    }
    assert len(set(colours.values())) == 3, colours
    assert "rgba(0, 0, 0, 0)" not in colours.values()
    boom = page.locator("a.views-cell.state-failed")
    assert boom.get_attribute("title") == "boom · failed · try 2"
    assert page.locator(".views-run-panel").inner_text().count("failed") >= 1
    boom.click()
    page.wait_for_url("**/dags/flaky/runs/r1/tasks/boom?map_index=-1")


@pytest.mark.usefixtures("history")
def test_a_mapped_cell_shows_its_count_and_opens_the_failed_instance(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/partly")
    half = page.locator("tr[data-views-row='half'] a.views-cell")
    assert half.inner_text() == "3"
    assert half.get_attribute("title") == "half · failed · try 1 · 3 mapped: 1 failed, 2 success"
    assert half.get_attribute("href") == "/dags/partly/runs/r1/tasks/half?map_index=1"
    assert page.locator(".views-run-actions").count() == 0  # a viewer gets no buttons


@pytest.mark.usefixtures("extra_dags")
def test_collapsing_a_group_hides_its_rows_and_is_remembered(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/grouped")
    screenshot(page, "grid")
    users = page.locator("tr[data-views-row='extract.users']")
    toggle = page.get_by_role("button", name="extract")
    assert toggle.get_attribute("aria-expanded") == "true" and users.is_visible()
    group_cell = page.locator("tr[data-views-row='extract'] .views-cell").last
    assert group_cell.get_attribute("title") == "extract · failed"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert users.is_hidden()
    assert page.locator("tr[data-views-row='finish']").is_visible()
    page.reload()
    assert page.locator("tr[data-views-row='extract.users']").is_hidden()
    page.get_by_role("button", name="extract").press("Enter")  # the keyboard works too
    assert page.locator("tr[data-views-row='extract.users']").is_visible()


@pytest.mark.usefixtures("history")
def test_the_graph_draws_a_node_for_every_task(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/etl/graph")
    nodes = page.locator("g[data-views-node]")
    ids = {nodes.nth(i).get_attribute("data-views-node") for i in range(nodes.count())}
    assert ids == {"extract", "double", "load", "report"}
    assert page.locator("g[data-views-edge]").count() == 3
    assert page.locator("svg.views-graph").get_attribute("role") == "img"
    assert page.locator("g[data-views-node='double'] title").text_content() == (
        "double · success · @task (mapped)"
    )
    screenshot(page, "graph")


@pytest.mark.usefixtures("extra_dags")
def test_a_group_of_the_graph_collapses_into_one_node(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/grouped/graph")
    assert page.locator("g[data-views-group='extract']").count() == 1
    screenshot(page, "graph-groups")
    page.get_by_role("link", name="Collapse group extract").click()
    page.wait_for_url("**/dags/grouped/graph?collapsed=extract")
    node = page.locator("g[data-views-node='extract']")
    assert node.get_attribute("data-state") == "failed"
    assert page.locator("g[data-views-node='extract.users']").count() == 0


@pytest.mark.usefixtures("history")
def test_gantt_code_and_durations_render(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/flaky/gantt")
    page.wait_for_url("**/dags/flaky/runs/r1/gantt")
    bars = page.locator("svg.views-gantt rect.views-bar-run")
    assert bars.count() == 3  # start once, boom twice; after never ran
    assert page.locator("svg.views-gantt .views-gantt-label").count() == 3
    screenshot(page, "gantt")

    page.goto(f"{live_url}/dags/etl/code")
    assert page.locator("td.views-line").first.inner_text() == ""
    assert page.locator("#L6 td.views-line").inner_text().startswith("START = datetime(")
    screenshot(page, "code")

    page.goto(f"{live_url}/dags/etl/durations")
    bar = page.locator("svg.views-durations rect.views-bar")
    assert bar.count() == 1 and "r1 · success" in bar.locator("title").text_content()
    screenshot(page, "durations")


@pytest.mark.usefixtures("extra_dags")
def test_stored_scripts_in_docs_are_shown_as_text(
    page: Any, live_url: str, act_as: ActAs, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/shady/docs")
    article = page.locator("article.views-markdown")
    assert "<script>window.__xss=1</script>" in article.inner_text()
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("main img").count() == 0
    assert (
        "<img src=x onerror=window.__xss=2>" in page.locator("section.views-markdown").inner_text()
    )
    assert page.locator("main a[href^='javascript']").count() == 0
    assert page.locator("main a", has_text="click me").count() == 0
    screenshot(page, "docs")
    page.goto(f"{live_url}/dags/shady/code")
    assert page.locator("td.views-line", has_text="<script>window.__xss=1</script>").count() == 1
    assert page.evaluate("() => window.__xss") is None


@pytest.mark.usefixtures("history")
def test_the_grid_follows_a_running_run_until_it_ends(
    page: Any, live_url: str, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("viewer")
    date = datetime(2024, 1, 5, tzinfo=UTC)
    run = DagRun("flaky", "live", date, date, date, state=DagRunState.RUNNING)
    tis = [
        TaskInstance("flaky", "live", "start", -1, TaskInstanceState.RUNNING, try_number=1),
        TaskInstance("flaky", "live", "boom", -1, TaskInstanceState.NONE),
        TaskInstance("flaky", "live", "after", -1, TaskInstanceState.NONE),
    ]
    with open_context(web_settings) as ctx:
        ctx.store.create_dag_run(run, tis)
    page.goto(f"{live_url}/dags/flaky")
    newest_start = page.locator("tr[data-views-row='start'] .views-cell").last
    assert "state-running" in newest_start.get_attribute("class")
    assert page.locator("#views-grid [data-live-done]").count() == 0
    with open_context(web_settings) as ctx:
        for ti in tis:
            ti.state = TaskInstanceState.SUCCESS
        ctx.store.save_task_instances(tis)
        run.state = DagRunState.SUCCESS
        ctx.store.save_dag_run(run)
    # The shell asks for the grid fragment again every 3 s: wait (bounded) for the change.
    page.locator("#views-grid [data-live-done]").wait_for(state="attached", timeout=15_000)
    newest_start = page.locator("tr[data-views-row='start'] .views-cell").last
    assert "state-success" in newest_start.get_attribute("class")
    assert page.locator(".views-run-panel .state-label").inner_text() == "success"


@pytest.mark.usefixtures("history")
def test_an_operator_clears_the_failed_instances_from_the_run_panel(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/flaky")
    boom = page.locator("tr[data-views-row='boom'] .views-cell")
    assert "state-failed" in boom.get_attribute("class")
    page.get_by_role("button", name="Clear failed").click()
    dialog = page.get_by_role("dialog")
    assert "Clear the failed task instances of run r1?" in dialog.inner_text()
    dialog.get_by_role("button", name="Confirm").click()
    # The page reloads with the run queued again and boom waiting to run.
    page.locator(".views-run-panel .state-label", has_text="queued").wait_for(timeout=10_000)
    assert "state-none" in page.locator("tr[data-views-row='boom'] .views-cell").get_attribute(
        "class"
    )
    assert "state-success" in page.locator("tr[data-views-row='start'] .views-cell").get_attribute(
        "class"
    )
