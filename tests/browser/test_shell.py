"""The UI shell in real Chromium: the theme toggle, keyboard use with visible focus, the
Admin menu, the confirmation dialog and live fragments of app.js."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from web_fixtures import ActAs

Shot = Callable[[Any, str], Path]


def background(page: Any) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_the_theme_toggle_switches_and_is_remembered(
    page: Any, live_url: str, act_as: ActAs, screenshot: Shot
) -> None:
    act_as("admin", username="ada")
    page.emulate_media(color_scheme="light")
    page.goto(live_url + "/admin/pools")
    light = background(page)
    toggle = page.get_by_role("button", name="Switch to the dark theme")
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = background(page)
    assert dark != light
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert background(page) == dark
    assert page.get_by_role("button", name="Switch to the light theme").is_visible()
    screenshot(page, "theme_dark")
    page.get_by_role("button", name="Switch to the light theme").click()
    page.goto(live_url + "/admin/variables")
    assert background(page) == light


def test_the_system_preference_is_the_default_theme(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("viewer")
    page.emulate_media(color_scheme="light")
    page.goto(live_url + "/admin/pools")
    light = background(page)
    page.emulate_media(color_scheme="dark")
    assert background(page) != light
    assert page.get_by_role("button", name="Switch to the light theme").is_visible()


def test_tab_reaches_the_skip_link_and_the_nav_with_a_visible_focus(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/pools")
    page.keyboard.press("Tab")
    focused = page.evaluate_handle("document.activeElement")
    assert focused.evaluate("e => e.textContent") == "Skip to content"
    assert focused.evaluate("e => e.getBoundingClientRect().top >= 0")
    seen = []
    for _ in range(4):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.textContent.trim()"))
        style = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth]; })()"
        )
        assert style[0] != "none" and style[1] != "0px", (seen[-1], style)
    assert seen[:3] == ["headwater", "DAGs", "Backfills"]


def test_the_skip_link_moves_focus_to_the_content(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("op")
    page.goto(live_url + "/admin/pools")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_admin_menu_opens_from_the_keyboard_and_closes_on_escape(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/pools")
    menu = page.locator("details[data-menu]")
    page.locator("details[data-menu] summary").focus()
    page.keyboard.press("Enter")
    assert menu.get_attribute("open") is not None
    links = page.locator(".menu-list a")
    assert links.all_inner_texts() == ["Variables", "Connections", "Pools", "Tokens", "Event log"]
    page.keyboard.press("Escape")
    assert menu.get_attribute("open") is None
    page.locator("details[data-menu] summary").click()
    page.locator(".menu-list a", has_text="Event log").click()
    page.wait_for_url("**/admin/events")


def test_confirm_resolves_false_on_escape_and_true_on_confirm(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("viewer")
    page.goto(live_url + "/admin/pools")
    page.evaluate("() => { window.answer = hw.confirm('Really <b>do</b> it?'); }")
    dialog = page.get_by_role("dialog")
    assert dialog.inner_text().count("Really <b>do</b> it?") == 1  # text, never markup
    page.keyboard.press("Escape")
    assert page.evaluate("window.answer") is False
    page.evaluate("() => { window.answer = hw.confirm('Go?'); }")
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    assert page.evaluate("window.answer") is True
    assert page.get_by_role("dialog").count() == 0


def test_an_api_error_rejects_with_the_detail_and_field_errors(
    page: Any, live_url: str, act_as: ActAs
) -> None:
    act_as("op")
    page.goto(live_url + "/admin/pools")
    error = page.evaluate(
        "hw.api('POST', '/api/v1/pools', {name: 'p', slots: -1})"
        ".then(() => null, e => ({message: e.message, status: e.status, errors: e.errors}))"
    )
    assert error["status"] == 422
    assert error["message"].startswith("body.slots:")
    assert [e["field"] for e in error["errors"]] == ["body.slots"]


def test_a_live_fragment_is_reloaded_from_its_url(page: Any, live_url: str, act_as: ActAs) -> None:
    act_as("viewer")
    page.goto(live_url + "/admin/variables")
    page.evaluate(
        "(() => { const box = document.createElement('div'); box.id = 'live';"
        " box.dataset.liveUrl = '/admin/events'; box.dataset.liveInterval = '500';"
        " box.textContent = 'waiting'; document.querySelector('main').append(box);"
        " hw.live(box); })()"
    )
    page.locator("#live h1", has_text="Event log").wait_for(timeout=10_000)
