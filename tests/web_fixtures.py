"""Fixtures of the REST API's, UI's and browser tests (loaded by tests/conftest.py): the app on a
migrated SQLite database in the test's ``HEADWATER_HOME``, holding the DAGs of ``stored_dags`` (etl, flaky, partly), run by
the real engine where a test asks for ``history``.

* ``web_settings``: the settings, with the database migrated and the DAGs stored.
* ``history``: runs ``etl`` (succeeds), ``flaky`` (fails) and ``partly`` (fails) once each.
* ``app`` / ``client``: the app and a ``TestClient`` on it (the store is open).
* ``act_as(level, tags=None, username=...)``: makes every request of ``client`` come from
  that principal, skipping authentication (it overrides ``web.security.authenticate``): for tests of what a route does for a role, not
  of how a user logs in (the authentication tests log in for real).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from headwater.auth.principals import Level, Principal
from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.web.app import create_app
from headwater.web.security import authenticate
from stored_dags import run_now, store_dags


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    return tmp_path / "dags"


@pytest.fixture
def web_settings(settings: Settings, dags_folder: Path) -> Settings:
    settings.logs_folder.mkdir(parents=True, exist_ok=True)
    with open_context(settings, migrate=True) as ctx:
        store_dags(ctx.store, dags_folder)
    return settings


@pytest.fixture
def history(web_settings: Settings, dags_folder: Path) -> None:
    with open_context(web_settings) as ctx:
        run_now(ctx.store, dags_folder, "etl", "r1", web_settings)
        run_now(ctx.store, dags_folder, "flaky", "r1", web_settings)
        run_now(ctx.store, dags_folder, "partly", "r1", web_settings)


@pytest.fixture
def app(web_settings: Settings) -> FastAPI:
    return create_app(web_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


ActAs = Callable[..., Principal]


@pytest.fixture
def act_as(app: FastAPI) -> ActAs:
    def act(level: Level, tags: set[str] | None = None, username: str = "tester") -> Principal:
        principal = Principal(
            username,
            role=level if tags is None else f"{level}-limited",
            level=level,
            dag_tags=frozenset(tags) if tags is not None else None,
            via="token",
        )
        app.dependency_overrides[authenticate] = lambda: principal
        return principal

    return act
