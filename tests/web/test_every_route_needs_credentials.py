"""Every route of the OpenAPI spec answers 401 to a request without credentials, but for
the few that are public on purpose; and a made-up token or cookie is no better."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/health"), ("GET", "/api/v1/version")}
"""Logging in, and what a load balancer or monitor asks without an account."""


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    routes = [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert routes, "the spec lists no routes"
    return routes


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.mark.parametrize(
    "credentials",
    [{}, {"Authorization": "Bearer hw_made-up"}, {"Cookie": "headwater_session=made-up"}],
    ids=["none", "made-up-token", "made-up-cookie"],
)
def test_every_route_but_the_public_ones_answers_401(
    client: TestClient, credentials: dict[str, str]
) -> None:
    answered = {}
    for method, path in _routes(client):
        if (method, path) in PUBLIC:
            continue
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        response = client.request(method, _filled(path), headers=credentials, **kwargs)
        answered[f"{method} {path}"] = response.status_code
    wrong = {route: status for route, status in answered.items() if status != 401}
    assert not wrong, f"answered without credentials: {wrong}"
    assert "GET /api/v1/users" in answered and "POST /api/v1/tokens" in answered


def test_the_spec_itself_and_the_public_routes_need_none(client: TestClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200
    login = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 8})
    assert login.status_code == 401  # public: it answers, and says the login failed
    assert login.json()["detail"] == "wrong username or password"
