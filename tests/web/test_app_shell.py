"""The app itself: its OpenAPI spec, security headers, JSON errors and the login redirect;
one app started again on other settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from headwater.auth.principals import Principal
from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.web.app import build_app, serve_settings
from headwater.web.security import authenticate


def test_the_openapi_spec_is_served_under_the_api_prefix(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "headwater"


def test_every_answer_forbids_inline_scripts(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_unknown_route_answers_json_naming_it(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "errors": []}


def test_one_app_serves_the_settings_it_was_last_pointed_at_when_it_started(
    web_settings: Settings, tmp_path: Path
) -> None:
    other = dataclasses.replace(
        web_settings,
        database=dataclasses.replace(
            web_settings.database, url=f"sqlite:///{tmp_path / 'other.db'}"
        ),
    )
    with open_context(other, migrate=True):
        pass  # migrated, no DAGs
    app = build_app()
    admin = Principal("root", role="admin", level="admin", dag_tags=None, via="token")
    app.dependency_overrides[authenticate] = lambda: admin
    for settings, dag_ids in ((web_settings, ["etl", "flaky", "partly"]), (other, [])):
        serve_settings(app, settings)
        with TestClient(app) as client:
            body = client.get("/api/v1/dags").json()
            assert [item["dag_id"] for item in body["items"]] == dag_ids
            with pytest.raises(RuntimeError, match="the app is serving"):
                serve_settings(app, web_settings)
        assert not hasattr(app.state, "ctx")  # closed with the server
