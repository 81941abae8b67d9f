"""The attempt page in real Chromium: a failed try's log and error, the clear dialog's
preview and its effect, log lines that hold markup shown as text, and the live tail of a
running attempt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from headwater.services.context import open_context
from headwater.settings import Settings
from running_attempts import start_attempt
from web_fixtures import ActAs

Screenshot = Callable[[object, str], Path]

XSS_LINES = (
    "<script>alert(1)</script>\n",
    '<img src=x onerror="alert(2)">\n',
)


def _refuse_dialogs(page: Page) -> list[str]:
    """Collect every JavaScript dialog (alert, confirm) the page opens: there must be none."""
    opened: list[str] = []

    def record(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def test_a_failed_attempt_shows_its_log_and_error(
    page: Page, live_url: str, act_as: ActAs, history: None, screenshot: Screenshot
) -> None:
    act_as("viewer")
    page.goto(f"{live_url}/dags/flaky/runs/r1/tasks/boom")
    expect(page.locator("h1")).to_contain_text("boom")
    meta = page.locator("#attempt-meta")
    expect(meta).to_contain_text("try 2 of 2")
    expect(meta.locator("[data-tasks-error-text]")).to_have_text(
        "BashCommandError: bash command failed: exit code 3"
    )
    log = page.locator("pre.tasks-log")
    expect(log).to_contain_text("Starting attempt 2 of 2")
    expect(log).to_contain_text("Command exited with return code 3")
    expect(page.locator("[data-log-status]")).to_have_text(
        "The attempt has ended: this is its whole log."
    )
    # a viewer gets no actions
    expect(page.locator("[data-tasks-action]")).to_have_count(0)
    # the try selector shows the first try's page and log
    page.select_option("#try-select", "1")
    expect(page.locator("#log-title")).to_have_text("Log of try 1")
    expect(page).to_have_url(f"{live_url}/dags/flaky/runs/r1/tasks/boom?map_index=-1&try_number=1")
    expect(log).to_contain_text("Marking for retry (attempt 1 of 2)")
    page.goto(f"{live_url}/dags/flaky/runs/r1/tasks/boom")
    screenshot(page, "attempt_page")


def test_the_clear_dialog_previews_then_clears_boom_and_after(
    page: Page,
    live_url: str,
    act_as: ActAs,
    history: None,
    web_settings: Settings,
    screenshot: Screenshot,
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/flaky/runs/r1/tasks/boom")
    page.get_by_role("button", name="Clear…").click()
    dialog = page.locator("#tasks-clear-dialog")
    expect(dialog).to_be_visible()
    items = dialog.locator("[data-tasks-preview-item]")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("boom failed → none")
    expect(items.nth(1)).to_contain_text("after upstream_failed → none")
    screenshot(page, "clear_dialog")
    # without downstream, only boom
    dialog.get_by_label("Downstream: also every task below").uncheck()
    expect(items).to_have_count(1)
    dialog.get_by_label("Downstream: also every task below").check()
    expect(items).to_have_count(2)
    dialog.get_by_role("button", name="Clear", exact=True).click()
    expect(page.locator("#attempt-meta .tasks-section-title")).to_contain_text("none")
    with open_context(web_settings) as ctx:
        states = {ti.task_id: ti.state.value for ti in ctx.store.get_task_instances("flaky", "r1")}
        run = ctx.store.get_dag_run("flaky", "r1")
    assert states == {"start": "success", "boom": "none", "after": "none"}
    assert run is not None and run.state.value == "queued"
    # the cleared instance runs again: the page goes to its new try and follows its log
    retry = start_attempt(web_settings, "flaky", "r1", "boom")
    retry.write("third time lucky\n")
    expect(page.locator("#log-title")).to_have_text("Log of try 3", timeout=15_000)
    expect(page.locator("pre.tasks-log")).to_have_text("third time lucky\n")
    retry.write("done\n")
    expect(page.locator("pre.tasks-log")).to_have_text("third time lucky\ndone\n")
    retry.end()
    expect(page.locator("[data-log-status]")).to_contain_text("The attempt has ended")


def test_the_mark_dialog_marks_success_with_downstream(
    page: Page, live_url: str, act_as: ActAs, history: None, web_settings: Settings
) -> None:
    act_as("op")
    page.goto(f"{live_url}/dags/flaky/runs/r1/tasks/boom")
    page.get_by_role("button", name="Mark success…").click()
    dialog = page.locator("#tasks-mark-dialog")
    items = dialog.locator("[data-tasks-preview-item]")
    expect(items).to_have_count(1)
    expect(items.nth(0)).to_contain_text("boom failed → success")
    dialog.get_by_label("Downstream: also every task below").check()
    expect(items).to_have_count(2)
    dialog.get_by_role("button", name="Mark success").click()
    expect(page.locator("#attempt-meta .tasks-section-title")).to_contain_text("success")
    with open_context(web_settings) as ctx:
        states = {ti.task_id: ti.state.value for ti in ctx.store.get_task_instances("flaky", "r1")}
    assert states == {"start": "success", "boom": "success", "after": "success"}


def test_log_lines_holding_markup_are_shown_as_text(
    page: Page, live_url: str, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("viewer")
    opened = _refuse_dialogs(page)
    live = start_attempt(web_settings, "flaky", "live", "start")
    live.write(XSS_LINES[0])  # in the page as the server renders it
    page.goto(f"{live_url}/dags/flaky/runs/live/tasks/start")
    log = page.locator("pre.tasks-log")
    expect(log).to_contain_text("<script>alert(1)</script>")
    live.write(XSS_LINES[1])  # appended by the live tail
    expect(log).to_contain_text('<img src=x onerror="alert(2)">')
    live.end()
    expect(page.locator("[data-log-status]")).to_contain_text("The attempt has ended")
    assert log.locator("script, img").count() == 0
    assert page.locator("img").count() == 0
    assert opened == []


def test_the_live_tail_shows_lines_as_a_running_attempt_writes_them(
    page: Page, live_url: str, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("viewer")
    live = start_attempt(web_settings, "flaky", "live", "start")
    live.write("first line\n")
    page.goto(f"{live_url}/dags/flaky/runs/live/tasks/start")
    log = page.locator("pre.tasks-log")
    status = page.locator("[data-log-status]")
    expect(log).to_have_text("first line\n")
    expect(status).to_contain_text("The attempt is running")
    expect(page.locator("#attempt-meta")).to_contain_text("worker-1")
    live.write("second line\n")
    expect(log).to_have_text("first line\nsecond line\n")
    for number in range(3, 60):
        live.write(f"line {number}\n")
    expect(log).to_contain_text("line 59\n")
    # it keeps the newest line in view while the reader has not scrolled up
    assert log.evaluate("el => el.scrollTop + el.clientHeight >= el.scrollHeight - 8")
    live.write("last words\n")
    live.end()
    expect(status).to_have_text("The attempt has ended: this is its whole log.")
    expect(log).to_contain_text("line 59\nlast words\n")
    # the metadata refreshes itself (every 3 s) until the try has ended
    meta = page.locator("#attempt-meta")
    expect(meta.locator(".tasks-section-title")).to_contain_text("success", timeout=15_000)
    expect(meta).to_contain_text("2024-06-01 12:00:03 UTC")
    assert log.text_content().count("second line") == 1


@pytest.mark.parametrize("level", ["viewer"])
def test_a_page_of_a_dag_the_role_does_not_see_is_not_found(
    page: Page, live_url: str, act_as: ActAs, history: None, level: str
) -> None:
    act_as(level, tags={"team-a"})
    response = page.goto(f"{live_url}/dags/flaky/runs/r1/tasks/boom")
    assert response is not None and response.status == 404
