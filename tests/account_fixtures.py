"""Accounts for the authentication tests: real users with real passwords in the app's
database, and an app whose clock is the test's fake clock (session ends and lockouts).

* ``accounts``: users ``root`` (admin), ``olga`` (op), ``vera`` (viewer) and ``tess`` (role
  ``team-a``: op on DAGs tagged ``team-a``), each with password :data:`PASSWORD`.
* ``clocked_client``: a ``TestClient`` on the app with the fake clock.
* ``log_in(client, username)``: logs in through ``POST /api/v1/auth/login``; returns the
  answer's JSON (with the CSRF token).

Every test hashes and checks passwords in this process with Argon2id at its lowest cost
(:data:`TEST_HASHER`: one pass over 1 MiB, one lane): the same algorithm, code and hash
format, but 3 ms of CPU for a hash and its check where argon2-cffi's recommended parameters
(what headwater uses) take half a second, on every login of hundreds of tests. A test marked
``real_password_cost`` keeps headwater's own parameters; processes the tests start always do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from headwater.auth import passwords
from headwater.clock import FakeClock
from headwater.services.context import open_context
from headwater.services.users import create_role, create_user
from headwater.settings import Settings
from web_fixtures import AppOn

PASSWORD = "correct horse battery"
USERS = {"root": "admin", "olga": "op", "vera": "viewer", "tess": "team-a"}


TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_password_cost") is None:
        monkeypatch.setattr(passwords, "_hasher", lambda: TEST_HASHER)


@pytest.fixture
def accounts(web_settings: Settings, clock: FakeClock) -> dict[str, str]:
    with open_context(web_settings, clock=clock) as ctx:
        create_role(ctx, "team-a", "op", ["team-a"])
        for username, role in USERS.items():
            create_user(ctx, username, PASSWORD, role)
    return USERS


@pytest.fixture
def clocked_client(
    app_on: AppOn, web_settings: Settings, clock: FakeClock, accounts: dict[str, str]
) -> Iterator[TestClient]:
    with TestClient(app_on(web_settings, clock)) as test_client:
        yield test_client


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer
