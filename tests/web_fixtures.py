"""Fixtures of the REST API's, UI's and browser tests (loaded by tests/conftest.py): the app on a
migrated SQLite database in the test's ``HEADWATER_HOME``, holding the DAGs of ``stored_dags`` (etl, flaky, partly), run by
the real engine where a test asks for ``history``.

* ``web_settings``: the settings, with the database migrated (a copy of a SQLite file
  migrated once per process, ``sqlite_template``) and the DAGs stored.
* ``history``: runs ``etl`` (succeeds), ``flaky`` (fails) and ``partly`` (fails) once each.
* ``app`` / ``client``: the app and a ``TestClient`` on it (the store is open).
* ``app_on(settings, clock=None)``: the app on other settings, or with the store's clock
  ``clock`` (start it with ``TestClient``); ``app`` is ``app_on(web_settings)``.
* ``act_as(level, tags=None, username=...)``: makes every request of ``client`` come from
  that principal, skipping authentication (it overrides ``web.security.authenticate``): for tests of what a route does for a role, not
  of how a user logs in (the authentication tests log in for real).

The app is built once per test process (``build_app``) and pointed at each test's settings
(``serve_settings``) before it starts: building one costs about a fifth of a second of CPU
(FastAPI builds every route's models and dependencies per app), paid by hundreds of tests.
What a test changes on it, ``dependency_overrides`` (``act_as``), is undone after the test;
a test can start it only once at a time (a second start raises).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from headwater.auth.principals import Level, Principal
from headwater.clock import Clock
from headwater.db.sqlite_files import sqlite_file
from headwater.private_files import make_private_folders
from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.web.app import build_app, serve_settings
from headwater.web.security import authenticate
from stored_dags import run_now, store_dags


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    return tmp_path / "dags"


@pytest.fixture
def web_settings(settings: Settings, dags_folder: Path, sqlite_template: Path) -> Settings:
    settings.logs_folder.mkdir(parents=True, exist_ok=True)
    copied = _copy_migrated(settings, sqlite_template)
    with open_context(settings, migrate=not copied) as ctx:
        store_dags(ctx.store, dags_folder)
    return settings


def _copy_migrated(settings: Settings, template: Path) -> bool:
    """Put a copy of ``template`` (a SQLite file migrated once per process) where the
    database of ``settings`` is to be, as migrating a new file there would leave it: in a
    private folder, private itself; False (nothing done) unless that is a new SQLite file."""
    path = sqlite_file(settings.database_url)
    if path is None or path.exists():
        return False
    make_private_folders(path.parent)
    shutil.copy2(template, path)  # and its mode: 0600
    return True


@pytest.fixture
def history(web_settings: Settings, dags_folder: Path) -> None:
    with open_context(web_settings) as ctx:
        run_now(ctx.store, dags_folder, "etl", "r1", web_settings)
        run_now(ctx.store, dags_folder, "flaky", "r1", web_settings)
        run_now(ctx.store, dags_folder, "partly", "r1", web_settings)


@pytest.fixture(scope="session")
def _built_apps() -> dict[bool, FastAPI]:
    """This process's apps, by whether they serve ``/metrics`` (built when first asked for)."""
    return {}


AppOn = Callable[..., FastAPI]


@pytest.fixture
def app_on(_built_apps: dict[bool, FastAPI]) -> Iterator[AppOn]:
    used: list[FastAPI] = []

    def point(settings: Settings, clock: Clock | None = None) -> FastAPI:
        metrics = settings.metrics.api_endpoint
        app = _built_apps.get(metrics)
        if app is None:
            app = _built_apps[metrics] = build_app(metrics_endpoint=metrics)
        serve_settings(app, settings, clock=clock)
        used.append(app)
        return app

    yield point
    for app in used:
        app.dependency_overrides.clear()


@pytest.fixture
def app(app_on: AppOn, web_settings: Settings) -> FastAPI:
    return app_on(web_settings)


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
