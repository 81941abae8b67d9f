"""Logging in and out through the login form in real Chromium, against a real server
(users: tests/account_fixtures.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from account_fixtures import PASSWORD


def test_log_in_through_the_form_land_on_next_and_log_out(
    page: Any, live_url: str, accounts: dict[str, str], screenshot: Callable[[Any, str], Path]
) -> None:
    page.goto(f"{live_url}/admin/tokens")
    # Not logged in: sent to the login page, which remembers where we were going.
    assert page.url == f"{live_url}/login?next=/admin/tokens"
    username = page.get_by_label("Username")
    assert username.evaluate("element => element === document.activeElement")
    username.fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/admin/tokens")
    assert page.get_by_role("heading", name="API tokens", level=1).is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "headwater_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    # Scripts of the page cannot read the session cookie.
    assert "headwater_session" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_url}/login")
    page.goto(f"{live_url}/admin/tokens")
    assert page.url == f"{live_url}/login?next=/admin/tokens"


def test_a_wrong_password_shows_the_error(
    page: Any, live_url: str, accounts: dict[str, str], screenshot: Callable[[Any, str], Path]
) -> None:
    page.goto(f"{live_url}/login")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "Wrong username or password."
    assert page.get_by_label("Username").input_value() == "vera"
    screenshot(page, "login-failed")
    assert not [c for c in page.context.cookies() if c["name"] == "headwater_session"]


def test_an_admin_sees_the_users_and_tokens_pages(
    page: Any, live_url: str, accounts: dict[str, str], screenshot: Callable[[Any, str], Path]
) -> None:
    page.goto(f"{live_url}/login?next=/admin/users")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/admin/users")
    users = page.locator("#users-table tbody tr")
    assert users.count() == len(accounts)
    assert page.get_by_label("Role of tess").input_value() == "team-a"
    # The add-user form goes through the API (app.js sends it as JSON with the CSRF token).
    page.locator("#new-username").fill("nina")
    page.locator("#new-password").fill("a long secret")
    page.locator("#new-role").select_option("op")
    page.get_by_role("button", name="Add user").click()
    page.locator('tr[data-username="nina"]').wait_for()
    assert page.get_by_label("Role of nina").input_value() == "op"
    screenshot(page, "admin-users")
    page.goto(f"{live_url}/admin/tokens")
    assert page.get_by_role("heading", name="All tokens").is_visible()
    assert not page.locator("#new-token-error").is_visible()
    # A new token is shown once, as text, in the page; the list shows its first characters.
    page.get_by_label("Name").fill("nightly report")
    page.get_by_role("button", name="Make token").click()
    shown = page.locator("#new-token-value")
    shown.wait_for()
    token = shown.inner_text()
    assert token.startswith("hw_") and len(token) > 40
    screenshot(page, "admin-tokens")
    page.reload()
    assert token not in page.content()
    assert page.locator("#tokens-table").get_by_text("nightly report").is_visible()
    assert page.locator("#tokens-table").get_by_text(f"{token[:8]}…").is_visible()
