"""The app itself: its OpenAPI spec, security headers, JSON errors and the login redirect."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
