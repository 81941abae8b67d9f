"""The missed-deadlines page (``/deadlines``) as HTML: the misses of the DAGs a role sees,
latest first, filtered by DAG, and the link in the main navigation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.deadlines import DEADLINE, SLA, DeadlinePlan
from web_fixtures import ActAs

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def misses(web_settings: Settings, history: None) -> None:
    with open_context(web_settings) as ctx:
        ctx.store.plan_deadlines(
            [
                DeadlinePlan("etl", "r1", "two_hours", DEADLINE, T0),
                DeadlinePlan("flaky", "r1", SLA, SLA, T0, task_id="boom"),
            ],
            T0,
        )
        for i, row in enumerate(ctx.store.due_deadlines(T0)):
            ctx.store.record_deadline_miss(
                row.id, T0 + timedelta(hours=i + 1), f"late <{row.dag_id}>", has_callback=i == 0
            )


def test_the_page_lists_the_misses(client: TestClient, act_as: ActAs, misses: None) -> None:
    act_as("viewer")
    html = client.get("/deadlines").text
    assert '<a href="/deadlines" aria-current="page">Deadlines</a>' in html
    assert html.index('href="/dags/flaky"') < html.index('href="/dags/etl"')
    assert "late &lt;etl&gt;" in html and "<etl>" not in html  # escaped
    assert ">whole run<" in html and ">boom<" in html and ">SLA<" in html
    assert '<span class="mono">two_hours</span>' in html
    assert '<span class="mono">sla</span>' not in html  # a task's SLA: the tag alone, once
    assert ">pending<" in html and ">none<" in html
    assert "1\u20132 of 2" in html  # the pager: "1-2 of 2"
    # Each miss links to its run (the grid with the run's panel) and its SLA's task.
    assert '<a class="mono" href="/dags/etl?run_id=r1">r1</a>' in html
    assert '<a href="/dags/flaky/runs/r1/tasks/boom">boom</a>' in html


def test_the_page_filters_by_dag_and_says_when_there_is_none(
    client: TestClient, act_as: ActAs, misses: None
) -> None:
    act_as("viewer")
    html = client.get("/deadlines", params={"dag_id": "etl"}).text
    assert 'href="/dags/etl"' in html and 'href="/dags/flaky"' not in html
    assert "No missed deadlines of this DAG." in client.get("/deadlines?dag_id=partly").text


def test_a_role_limited_to_tags_sees_none_of_the_other_dags(
    client: TestClient, act_as: ActAs, misses: None
) -> None:
    act_as("viewer", tags={"team-z"})
    html = client.get("/deadlines").text
    assert "No missed deadlines" in html and 'href="/dags/etl"' not in html


def test_the_grid_marks_a_run_that_missed_and_its_panel_lists_its_deadlines(
    client: TestClient, act_as: ActAs, misses: None
) -> None:
    act_as("viewer")
    html = client.get("/dags/etl", params={"run_id": "r1"}).text
    assert 'aria-label="Run r1, success, missed a deadline"' in html
    assert html.count("data-missed-deadline") == 1
    assert "data-run-deadlines" in html and "two_hours" in html and "late &lt;etl&gt;" in html
    other = client.get("/dags/partly").text
    assert "data-missed-deadline" not in other and "data-run-deadlines" not in other
