"""The backfill pages in real Chromium: the form's dry-run preview, the real submit, and
the list of backfills with its progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from web_fixtures import ActAs

pytestmark = pytest.mark.slow


def test_preview_then_start_a_backfill_and_see_it_listed(
    page: Any, live_url: str, act_as: ActAs, screenshot: Callable[[object, str], Path]
) -> None:
    act_as("op", username="ann")
    page.goto(f"{live_url}/dags/etl/backfill")
    page.get_by_label("Start (logical date, UTC)").fill("2024-01-01")
    page.get_by_label("End (logical date, UTC)").fill("2024-01-03")
    page.get_by_label("Max active runs").fill("2")
    start = page.get_by_role("button", name="Start backfill")
    assert start.is_disabled()  # not before a preview

    page.get_by_role("button", name="Preview (dry run)").click()
    rows = page.locator("[data-backfill-plan] tr")
    rows.nth(2).wait_for()
    assert rows.count() == 3
    assert page.locator("[data-backfill-plan] tr td:first-child").all_inner_texts() == [
        "2024-01-01T00:00:00+00:00",
        "2024-01-02T00:00:00+00:00",
        "2024-01-03T00:00:00+00:00",
    ]
    assert page.locator("[data-backfill-plan] tr[data-action=create]").count() == 3
    assert "3 to create" in page.locator("[data-backfill-summary]").inner_text()
    screenshot(page, "backfill_form")
    page.goto(f"{live_url}/backfills")
    assert "No backfills yet" in page.locator("main").inner_text()  # the preview stored none

    page.goto(f"{live_url}/dags/etl/backfill")
    page.get_by_label("Start (logical date, UTC)").fill("2024-01-01")
    page.get_by_label("End (logical date, UTC)").fill("2024-01-03")
    page.get_by_label("Run backwards").check()
    page.get_by_role("button", name="Preview (dry run)").click()
    page.locator("[data-backfill-plan] tr").nth(2).wait_for()
    page.get_by_role("button", name="Start backfill").click()
    page.wait_for_url(f"{live_url}/backfills?dag_id=etl")
    row = page.locator("tr[data-backfill-id]")
    assert row.count() == 1
    assert row.locator("[data-progress]").inner_text() == "0/3 finished"
    assert row.locator("[data-state]").inner_text() == "running"
    bar = row.get_by_role("img")
    assert bar.get_attribute("aria-label") == "0 of 3 runs finished (queued 3)"
    assert "by ann" in row.inner_text()
    assert "newest first" in row.inner_text()
    assert row.get_by_role("button", name="Cancel backfill").is_visible()
    screenshot(page, "backfills")


def test_bad_input_is_shown_under_its_field(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/etl/backfill")
    page.get_by_label("Start (logical date, UTC)").fill("2024-01-01")
    page.get_by_label("End (logical date, UTC)").fill("2024-01-02")
    page.get_by_label("Conf (JSON)").fill('{"region": ')
    page.get_by_role("button", name="Preview (dry run)").click()
    conf_error = page.locator('[data-field-error="conf"]')
    assert conf_error.inner_text().startswith("Not valid JSON")
    assert page.locator('[data-field-error="start"]').is_hidden()
    assert page.locator("[data-backfill-error]").is_hidden()

    page.get_by_label("Conf (JSON)").fill('{"region": "mars"}')  # the server refuses it
    page.get_by_role("button", name="Preview (dry run)").click()
    refused = page.locator('[data-field-error="conf"]', has_text="region")  # the API names it
    refused.wait_for()
    assert "'mars' is not one of ['eu', 'us']" in refused.inner_text()
    assert page.locator("[data-backfill-preview-area]").is_hidden()


def test_cancel_asks_first_then_stops_the_backfill(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("op")
    body = {
        "dag_id": "etl",
        "start": "2024-01-01T00:00:00+00:00",
        "end": "2024-01-02T00:00:00+00:00",
    }
    assert httpx.post(f"{live_url}/api/v1/backfills", json=body).status_code == 201
    page.goto(f"{live_url}/backfills")
    row = page.locator("tr[data-backfill-id]")
    row.get_by_role("button", name="Cancel backfill").click()
    dialog = page.get_by_role("dialog")
    assert "2 queued run(s) will not start" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()  # changed their mind
    assert row.locator("[data-state]").inner_text() == "running"

    row.get_by_role("button", name="Cancel backfill").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    page.locator("tr[data-backfill-id] [data-state=cancelled]").wait_for()
    assert row.locator("[data-progress]").inner_text() == "2/2 finished"
    assert row.get_by_role("button", name="Cancel backfill").count() == 0


def test_the_list_follows_a_running_backfill_live(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("op")
    body = {
        "dag_id": "etl",
        "start": "2024-01-01T00:00:00+00:00",
        "end": "2024-01-01T00:00:00+00:00",
    }
    backfill_id = httpx.post(f"{live_url}/api/v1/backfills", json=body).json()["backfill_id"]
    page.goto(f"{live_url}/backfills")
    assert page.locator("[data-state]").inner_text() == "running"
    # Changed elsewhere (another user, the CLI): the page shows it without a reload.
    httpx.post(f"{live_url}/api/v1/backfills/{backfill_id}/cancel").raise_for_status()
    page.locator("[data-state=cancelled]").wait_for(timeout=15_000)
    assert page.locator("[data-progress]").inner_text() == "1/1 finished"
