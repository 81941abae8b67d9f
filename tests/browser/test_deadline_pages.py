"""The missed-deadlines page and the grid's marker in real Chromium (screenshots for people
to look at: ``test-output/screenshots/deadlines*.png``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.deadlines import DEADLINE, SLA, DeadlinePlan
from web_fixtures import ActAs

pytestmark = pytest.mark.slow

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def misses(web_settings: Settings, history: None) -> None:
    with open_context(web_settings) as ctx:
        ctx.store.plan_deadlines(
            [
                DeadlinePlan("etl", "r1", "report_by_two", DEADLINE, T0),
                DeadlinePlan("flaky", "r1", SLA, SLA, T0, task_id="boom"),
            ],
            T0,
        )
        for i, row in enumerate(ctx.store.due_deadlines(T0)):
            ctx.store.record_deadline_miss(
                row.id,
                T0 + timedelta(minutes=5 * (i + 1)),
                "the run is not finished (running)"
                if row.dag_id == "etl"
                else "task boom is not finished (running)",
                has_callback=True,
            )
            if row.dag_id == "etl":
                ctx.store.set_deadline_callback_state(row.id, "pending", "started")
                ctx.store.set_deadline_callback_state(row.id, "started", "done")


def test_the_missed_deadlines_page_and_the_grid_marker(
    page: Any,
    live_url: str,
    act_as: ActAs,
    misses: None,
    screenshot: Callable[[object, str], Path],
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/")
    page.get_by_role("link", name="Deadlines").click()
    page.wait_for_url(f"{live_url}/deadlines")
    rows = page.locator("#deadline-misses tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").nth(0).inner_text() == "flaky"
    assert rows.nth(1).locator("td").nth(2).inner_text() == "whole run"
    assert rows.nth(1).locator("td").nth(7).inner_text() == "done"
    screenshot(page, "deadlines")

    page.get_by_label("DAG id").fill("etl")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"{live_url}/deadlines?dag_id=etl")
    assert page.locator("#deadline-misses tbody tr").count() == 1

    page.get_by_role("link", name="etl").first.click()
    marker = page.locator("[data-missed-deadline]")
    marker.wait_for()
    assert marker.count() == 1
    assert "report_by_two" in page.locator("[data-run-deadlines]").inner_text()
    screenshot(page, "deadlines_grid_marker")
