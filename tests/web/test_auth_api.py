"""Logging in, sessions, CSRF, bearer tokens and the login rate limit, through the REST API
with real users, real Argon2 hashes and the fake clock (fixtures: tests/account_fixtures.py)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient

from account_fixtures import PASSWORD, log_in
from headwater.clock import FakeClock
from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import AppOn


def test_login_sets_an_httponly_samesite_cookie_and_answers_the_csrf_token(
    clocked_client: TestClient,
) -> None:
    response = clocked_client.post(
        "/api/v1/auth/login", json={"username": "vera", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "vera" and body["role"] == "viewer" and body["level"] == "viewer"
    assert body["dag_tags"] is None and len(body["csrf_token"]) >= 32
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("headwater_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # auto: the test client speaks plain HTTP
    me = clocked_client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json() == body


def test_secure_cookies_always_marks_the_cookie_secure(
    app_on: AppOn, web_settings: Settings, clock: FakeClock, accounts: dict[str, str]
) -> None:
    api = dataclasses.replace(web_settings.api, secure_cookies="always")
    with TestClient(app_on(dataclasses.replace(web_settings, api=api), clock)) as client:
        response = client.post(
            "/api/v1/auth/login", json={"username": "vera", "password": PASSWORD}
        )
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    clocked_client: TestClient,
) -> None:
    wrong = clocked_client.post(
        "/api/v1/auth/login", json={"username": "vera", "password": "x" * 9}
    )
    unknown = clocked_client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password", "errors": []}
    assert "set-cookie" not in wrong.headers
    assert clocked_client.get("/api/v1/auth/me").status_code == 401


def test_a_cookie_write_needs_the_csrf_token(clocked_client: TestClient) -> None:
    csrf_token = log_in(clocked_client, "vera")["csrf_token"]
    refused = clocked_client.post("/api/v1/tokens", json={"name": "ci"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = clocked_client.post(
        "/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": "not-it"}
    )
    assert wrong.status_code == 403
    accepted = clocked_client.post(
        "/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf_token}
    )
    assert accepted.status_code == 201
    # Reads need none.
    assert clocked_client.get("/api/v1/tokens").json()["total"] == 1


def test_a_bearer_token_works_without_csrf_and_is_shown_once_stored_hashed(
    clocked_client: TestClient, web_settings: Settings
) -> None:
    csrf_token = log_in(clocked_client, "olga")["csrf_token"]
    created = clocked_client.post(
        "/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf_token}
    ).json()
    token = created["token"]
    assert token.startswith("hw_") and created["prefix"] == token[:8]
    listed = clocked_client.get("/api/v1/tokens").json()["items"]
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    with open_context(web_settings) as ctx:
        row = ctx.store.get_token(created["id"])
    assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)

    clocked_client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert clocked_client.get("/api/v1/auth/me", headers=bearer).json()["csrf_token"] is None
    # A write with the token needs no CSRF token: a browser never sends the header itself.
    second = clocked_client.post("/api/v1/tokens", json={"name": "more"}, headers=bearer)
    assert second.status_code == 201


def test_a_revoked_or_expired_token_answers_401(
    clocked_client: TestClient, clock: FakeClock
) -> None:
    csrf = {"X-CSRF-Token": log_in(clocked_client, "olga")["csrf_token"]}
    kept = clocked_client.post("/api/v1/tokens", json={"name": "a"}, headers=csrf).json()
    brief = clocked_client.post(
        "/api/v1/tokens", json={"name": "b", "expires_in_days": 1}, headers=csrf
    ).json()
    revoked = clocked_client.delete(f"/api/v1/tokens/{kept['id']}", headers=csrf)
    assert revoked.status_code == 200
    clocked_client.cookies.clear()

    def me(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return clocked_client.get("/api/v1/auth/me", headers=headers).status_code

    assert me(kept["token"]) == 401
    assert me(brief["token"]) == 200
    clock.advance(timedelta(days=1))
    assert me(brief["token"]) == 401
    assert me("hw_made-up") == 401
    assert me("") == 401


def test_passwords_are_stored_as_argon2id_hashes(
    clocked_client: TestClient, web_settings: Settings
) -> None:
    with open_context(web_settings) as ctx:
        user = ctx.store.get_user("vera")
    assert user is not None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_only_admins_manage_users_and_roles(clocked_client: TestClient) -> None:
    for username in ("vera", "olga", "tess"):
        log_in(clocked_client, username)
        for path in ("/api/v1/users", "/api/v1/roles", "/api/v1/users/root"):
            response = clocked_client.get(path)
            assert response.status_code == 403, (username, path)
            assert "admin level" in response.json()["detail"]
    log_in(clocked_client, "root")
    users = clocked_client.get("/api/v1/users").json()
    assert [u["username"] for u in users["items"]] == ["olga", "root", "tess", "vera"]
    assert all("password" not in key for u in users["items"] for key in u)


def test_failed_logins_are_locked_out_then_recover_after_the_lockout(
    clocked_client: TestClient, clock: FakeClock, web_settings: Settings
) -> None:
    limit = web_settings.api.login_max_failures
    for _ in range(limit):
        answer = clocked_client.post(
            "/api/v1/auth/login", json={"username": "vera", "password": "wrong-password"}
        )
        assert answer.status_code == 401
    locked = clocked_client.post(
        "/api/v1/auth/login", json={"username": "vera", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == int(web_settings.api.login_lockout_s)
    assert "too many failed logins" in locked.json()["detail"]
    clock.advance(timedelta(seconds=web_settings.api.login_lockout_s - 1))
    still = clocked_client.post(
        "/api/v1/auth/login", json={"username": "vera", "password": PASSWORD}
    )
    assert still.status_code == 429 and still.headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert log_in(clocked_client, "vera")["username"] == "vera"


def test_failures_from_one_address_lock_it_whatever_the_user_names(
    clocked_client: TestClient, web_settings: Settings
) -> None:
    for number in range(web_settings.api.login_max_failures):
        clocked_client.post(
            "/api/v1/auth/login", json={"username": f"guess{number}", "password": "whatever1"}
        )
    answer = clocked_client.post(
        "/api/v1/auth/login", json={"username": "olga", "password": PASSWORD}
    )
    assert answer.status_code == 429


def test_logout_ends_the_session(clocked_client: TestClient) -> None:
    csrf_token = log_in(clocked_client, "vera")["csrf_token"]
    cookie = clocked_client.cookies.get("headwater_session")
    assert clocked_client.post("/api/v1/auth/logout").status_code == 403  # no CSRF token
    answer = clocked_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf_token})
    assert answer.status_code == 200 and answer.json() == {"logged_out": True}
    assert clocked_client.get("/api/v1/auth/me").status_code == 401
    # The old cookie, sent again, is dead too.
    clocked_client.cookies.set("headwater_session", cookie or "")
    assert clocked_client.get("/api/v1/auth/me").status_code == 401


def test_a_session_slides_while_used_and_ends_when_idle(
    clocked_client: TestClient, clock: FakeClock, web_settings: Settings
) -> None:
    lifetime = timedelta(seconds=web_settings.api.session_lifetime_s)
    log_in(clocked_client, "vera")
    clock.advance(lifetime - timedelta(minutes=1))
    assert clocked_client.get("/api/v1/auth/me").status_code == 200  # used: moved on
    clock.advance(lifetime - timedelta(minutes=1))
    assert clocked_client.get("/api/v1/auth/me").status_code == 200
    clock.advance(lifetime)
    assert clocked_client.get("/api/v1/auth/me").status_code == 401


def test_a_disabled_user_loses_their_session_and_tokens(clocked_client: TestClient) -> None:
    csrf = {"X-CSRF-Token": log_in(clocked_client, "vera")["csrf_token"]}
    token = clocked_client.post("/api/v1/tokens", json={"name": "t"}, headers=csrf).json()["token"]
    admin_csrf = {"X-CSRF-Token": log_in(clocked_client, "root")["csrf_token"]}
    answer = clocked_client.patch("/api/v1/users/vera", json={"disabled": True}, headers=admin_csrf)
    assert answer.status_code == 200 and answer.json()["disabled"] is True
    clocked_client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert clocked_client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    refused = clocked_client.post(
        "/api/v1/auth/login", json={"username": "vera", "password": PASSWORD}
    )
    assert refused.status_code == 401


def test_a_tag_limited_role_says_so(clocked_client: TestClient) -> None:
    me = log_in(clocked_client, "tess")
    assert (me["role"], me["level"], me["dag_tags"]) == ("team-a", "op", ["team-a"])
