"""The login and logout pages and the accounts pages, through the app with real users
(fixtures: tests/account_fixtures.py); the browser test drives the same pages in Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from account_fixtures import PASSWORD, log_in
from headwater.clock import FakeClock
from headwater.settings import Settings
from headwater.web.ui.login import safe_next


def _form_login(client: TestClient, username: str, password: str, next_url: str = "/") -> object:
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next_url},
        follow_redirects=False,
    )


def test_the_login_page_is_a_labelled_form(clocked_client: TestClient) -> None:
    page = clocked_client.get("/login?next=/dags/etl")
    assert page.status_code == 200
    html = page.text
    assert '<label for="login-username">Username</label>' in html
    assert '<label for="login-password">Password</label>' in html
    assert "autofocus" in html and 'name="next" value="/dags/etl"' in html


def test_logging_in_sets_the_cookie_and_goes_on_to_next(clocked_client: TestClient) -> None:
    answer = _form_login(clocked_client, "vera", PASSWORD, "/admin/tokens?x=1")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/admin/tokens?x=1"  # type: ignore[attr-defined]
    assert "HttpOnly" in answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert clocked_client.get("/admin/tokens").status_code == 200
    # Logged in already: the login page sends the browser on.
    again = clocked_client.get("/login?next=/admin/tokens", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/admin/tokens"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "evil", "", "/\x00x"],
)
def test_next_only_leads_to_a_path_of_this_site(target: str) -> None:
    assert safe_next(target) == "/"
    assert safe_next("/dags/etl?run_id=a") == "/dags/etl?run_id=a"


def test_a_login_with_a_foreign_next_lands_home(clocked_client: TestClient) -> None:
    answer = _form_login(clocked_client, "vera", PASSWORD, "//evil.example/")
    assert answer.headers["location"] == "/"  # type: ignore[attr-defined]


def test_a_wrong_password_shows_the_error_and_keeps_the_name(clocked_client: TestClient) -> None:
    answer = _form_login(clocked_client, "vera", "not the password")
    assert answer.status_code == 401  # type: ignore[attr-defined]
    html = answer.text  # type: ignore[attr-defined]
    assert "Wrong username or password." in html and 'value="vera"' in html
    assert "set-cookie" not in answer.headers  # type: ignore[attr-defined]


def test_too_many_failures_show_how_long_to_wait(
    clocked_client: TestClient, web_settings: Settings, clock: FakeClock
) -> None:
    for _ in range(web_settings.api.login_max_failures):
        _form_login(clocked_client, "vera", "not the password")
    answer = _form_login(clocked_client, "vera", PASSWORD)
    assert answer.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed logins. Try again in 300 second(s)." in answer.text  # type: ignore[attr-defined]
    clock.advance(timedelta(seconds=web_settings.api.login_lockout_s))
    assert _form_login(clocked_client, "vera", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_logout_needs_the_form_token_and_ends_the_session(clocked_client: TestClient) -> None:
    csrf_token = log_in(clocked_client, "vera")["csrf_token"]
    assert clocked_client.post("/logout", follow_redirects=False).status_code == 403
    answer = clocked_client.post("/logout", data={"csrf_token": csrf_token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert clocked_client.get("/api/v1/auth/me").status_code == 401
    page = clocked_client.get("/admin/tokens", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/tokens"
    # Logging out again (another tab) just lands on the login page.
    again = clocked_client.post("/logout", data={"csrf_token": csrf_token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/login"


def test_the_users_page_is_for_admins(clocked_client: TestClient) -> None:
    log_in(clocked_client, "vera")
    assert clocked_client.get("/admin/users").status_code == 403
    log_in(clocked_client, "root")
    page = clocked_client.get("/admin/users")
    assert page.status_code == 200
    for username in ("olga", "root", "tess", "vera"):
        assert f'data-username="{username}"' in page.text
    assert 'data-api-form="POST /api/v1/users"' in page.text
    assert '<span class="tag">team-a</span>' in page.text
    assert "$argon2" not in page.text


def test_the_tokens_page_lists_only_your_own_and_never_a_token(clocked_client: TestClient) -> None:
    csrf = {"X-CSRF-Token": log_in(clocked_client, "olga")["csrf_token"]}
    olgas = clocked_client.post("/api/v1/tokens", json={"name": "olga-ci"}, headers=csrf).json()
    csrf = {"X-CSRF-Token": log_in(clocked_client, "vera")["csrf_token"]}
    veras = clocked_client.post("/api/v1/tokens", json={"name": "vera-ci"}, headers=csrf).json()
    page = clocked_client.get("/admin/tokens").text
    assert "vera-ci" in page and "olga-ci" not in page
    assert veras["token"] not in page and veras["prefix"] in page
    log_in(clocked_client, "root")
    page = clocked_client.get("/admin/tokens").text
    assert "vera-ci" in page and "olga-ci" in page and olgas["token"] not in page
