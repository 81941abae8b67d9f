"""The admin pages in real Chromium: forms that create and change things through the API,
confirmations, field errors, what a viewer sees, and each page's screenshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headwater.engine.states import TaskInstanceState
from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.base import Connection
from web_fixtures import ActAs

PAGES = {
    "admin_variables": "/admin/variables",
    "admin_connections": "/admin/connections",
    "admin_pools": "/admin/pools",
    "admin_events": "/admin/events",
}

Shot = Callable[[Any, str], Path]


@pytest.fixture
def seeded(web_settings: Settings, history: None) -> Settings:
    with open_context(web_settings) as ctx:
        ctx.store.set_variable("region", "eu", "where reports are made")
        ctx.store.set_variable("db_password", "hunter2-very-secret", "the reports database")
        ctx.store.set_variable("limits", '{"rows": 10000, "timeout_s": 30}', None)
        ctx.store.set_connection(
            Connection(
                "warehouse",
                "postgres",
                host="db.example.com",
                login="etl",
                password="s3cret-pw-42",
                port=5432,
                schema="reports",
                extra={"sslmode": "require", "api_token": "tok-123456"},
                description="The reporting warehouse",
            )
        )
        ctx.store.set_connection(Connection("api", "http", host="api.example.com"))
        ctx.store.set_pool("reports", 4, "the reports database")
        tis = ctx.store.get_task_instances("etl", "r1")[:3]
        for ti, state in zip(tis, ("running", "running", "queued"), strict=True):
            ti.state, ti.pool = TaskInstanceState(state), "reports"
        ctx.store.save_task_instances(tis)
        now = ctx.now()
        ctx.store.record_event("pause", at=now, dag_id="etl", state="paused", detail="ui")
        ctx.store.record_event("clear", at=now, dag_id="flaky", run_id="r1", task_id="boom")
        # What a notifier that failed records: a real run id and a long detail.
        ctx.store.record_event(
            "notification_failed",
            at=now,
            dag_id="sales_load",
            run_id="manual__2026-12-05T12:13:00.592271+00:00",
            task_id="load",
            try_number=1,
            detail="WebhookNotifier: POST http://127.0.0.1:1/hook: ConnectError: "
            "[Errno 111] Connection refused",
        )
    return web_settings


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_fits_1280_pixels_and_shows_no_secret(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings, screenshot: Shot, name: str
) -> None:
    act_as("admin", username="ada")
    page.goto(live_url + PAGES[name])
    assert page.locator("h1").first.is_visible()
    assert no_horizontal_scroll(page)
    html = page.content()
    for secret in ("hunter2-very-secret", "s3cret-pw-42", "tok-123456"):
        assert secret not in html
    screenshot(page, name)


def test_create_a_variable_through_the_form(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings, screenshot: Shot
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/variables")
    page.get_by_role("button", name="Add variable").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Key").fill("report_day")
    dialog.get_by_label("Value").fill("monday")
    dialog.get_by_label("Description").fill("when the weekly report runs")
    screenshot(page, "admin_variable_form")
    dialog.get_by_role("button", name="Save").click()
    row = page.locator("#variables tr[data-key='report_day']")
    row.wait_for()
    assert "monday" in row.inner_text()
    assert "when the weekly report runs" in row.inner_text()


def test_a_refused_variable_shows_the_error_under_its_field(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/variables")
    page.get_by_role("button", name="Add variable").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Key").fill("not a key")
    dialog.get_by_label("Value").fill("x")
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator(".field-error")
    error.wait_for()
    assert "pattern" in error.inner_text()
    assert dialog.get_by_label("Key").get_attribute("aria-invalid") == "true"
    assert dialog.is_visible()


def test_saving_a_secret_variable_unchanged_keeps_its_value(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/variables")
    page.get_by_role("button", name="Edit variable db_password").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("Value").input_value() == "***"
    assert dialog.get_by_label("Key").get_attribute("readonly") is not None
    dialog.get_by_label("Description").fill("the warehouse")
    dialog.get_by_role("button", name="Save").click()
    page.locator("#variables tr[data-key='db_password']", has_text="the warehouse").wait_for()
    with open_context(seeded) as ctx:
        assert ctx.store.get_variable("db_password") == "hunter2-very-secret"


def test_delete_asks_first(page: Any, live_url: str, act_as: ActAs, seeded: Settings) -> None:
    act_as("op")
    page.goto(live_url + "/admin/variables")
    page.get_by_role("button", name="Delete variable region").click()
    confirm = page.get_by_role("dialog")
    assert "Delete variable region?" in confirm.inner_text()
    confirm.get_by_role("button", name="Cancel").click()
    assert page.locator("#variables tr[data-key='region']").count() == 1
    page.get_by_role("button", name="Delete variable region").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    page.locator("#variables tr[data-key='region']").wait_for(state="detached")
    with open_context(seeded) as ctx:
        assert ctx.store.get_variable("region") is None


def test_a_viewer_sees_no_edit_buttons(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("viewer")
    for url in ("/admin/variables", "/admin/connections", "/admin/pools"):
        page.goto(live_url + url)
        assert page.locator("table.table tbody tr").count() > 0
        for label in ("Add", "Edit", "Delete", "Test"):
            assert page.get_by_role("button", name=label).count() == 0, (url, label)


def test_a_connection_with_extra_that_is_not_json_is_refused_before_sending(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/connections")
    page.get_by_role("button", name="Add connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Id").fill("mail")
    dialog.get_by_label("Type").select_option("smtp")
    dialog.get_by_label("Extra (JSON)").fill("{not json")
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator(".field-error")
    error.wait_for()
    assert "not valid JSON" in error.inner_text()
    dialog.get_by_label("Extra (JSON)").fill('{"timeout": 10}')
    dialog.get_by_label("Host").fill("smtp.example.com")
    dialog.get_by_label("Password").fill("mail-pw-77")
    dialog.get_by_role("button", name="Save").click()
    row = page.locator("#connections tr[data-conn-id='mail']")
    row.wait_for()
    assert "smtp.example.com" in row.inner_text() and "***" in row.inner_text()
    assert "mail-pw-77" not in page.content()


def test_editing_a_connection_keeps_its_secrets(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/connections")
    page.get_by_role("button", name="Edit connection warehouse").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("Password").input_value() == "***"
    dialog.get_by_label("Host").fill("db2.example.com")
    dialog.get_by_role("button", name="Save").click()
    page.locator("#connections tr[data-conn-id='warehouse']", has_text="db2.example.com").wait_for()
    with open_context(seeded) as ctx:
        stored = ctx.store.get_connection("warehouse")
        assert stored is not None and stored.password == "s3cret-pw-42"
        assert stored.extra == {"sslmode": "require", "api_token": "tok-123456"}


def test_testing_a_connection_shows_the_hooks_answer(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings, tmp_path: Path
) -> None:
    with open_context(seeded) as ctx:
        ctx.store.set_connection(Connection("lite", "sqlite", host=str(tmp_path / "none.db")))
    act_as("op")
    page.goto(live_url + "/admin/connections")
    page.get_by_role("button", name="Test connection lite").click()
    toast = page.locator(".toast-error")
    toast.wait_for()
    assert toast.inner_text().startswith("Connection lite failed")


def test_a_pool_with_too_many_slots_is_refused_at_the_field(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/pools")
    page.get_by_role("button", name="Edit pool reports").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Slots").fill("-5")
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator(".field-error")
    error.wait_for()
    assert "greater than or equal to 0" in error.inner_text()
    dialog.get_by_label("Slots").fill("12")
    dialog.get_by_role("button", name="Save").click()
    page.locator("#pools tr[data-pool='reports']", has_text="3 / 12").wait_for()
    assert page.get_by_role("button", name="Delete pool default_pool").count() == 0


def test_the_event_log_filters_by_kind(
    page: Any, live_url: str, act_as: ActAs, seeded: Settings
) -> None:
    act_as("viewer")
    page.goto(live_url + "/admin/events")
    rows = page.locator("#events tbody tr")
    assert rows.count() >= 2
    page.get_by_label("Kind").fill("pause")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/events?*kind=pause*")
    assert rows.count() == 1
    assert "paused" in rows.first.inner_text()
