"""Every route of the OpenAPI spec, called by each role with a real bearer token, answers as
the roles promise (docs/security.md): a viewer reads, an op also operates DAGs and manages
pools, variables and connections, only an admin manages users and roles, and a role limited
to DAGs tagged ``team-a`` gets 404 for a DAG outside its tags and 403 for global writes.

The expectation of each route is written out in :data:`RULES`, so a new route must be given
one here (the first test fails until it is): a route nobody thought about cannot slip
through with the wrong permission. Writes carry valid bodies (:data:`BODIES`), so what
answers is the permission check, not the body's validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.clock import FakeClock
from headwater.services.backfills import BackfillRequest, run_backfill
from headwater.services.context import open_context
from headwater.services.tokens import create_token
from headwater.services.users import create_user
from headwater.settings import Settings
from web_fixtures import AppOn

DAG = "DAG"
"""Under /dags/{dag_id}: reads for all, writes from op; a tag-limited role outside: 404."""
READ = "READ"
"""Anyone logged in."""
OWN = "OWN"
"""Anyone logged in, on their own things (tokens, session)."""
GLOBAL_WRITE = "GLOBAL_WRITE"
"""Pools, variables, connections: op or admin, not limited to tags."""
ADMIN = "ADMIN"
"""Users and roles."""
DAG_WRITE_BY_BODY = "DAG_WRITE_BY_BODY"
"""A write naming its DAG in the body or by id (backfills): op on that DAG."""
PUBLIC = "PUBLIC"

RULES: dict[tuple[str, str], str] = {
    ("POST", "/auth/login"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/version"): PUBLIC,
    ("POST", "/auth/logout"): OWN,
    ("GET", "/auth/me"): OWN,
    ("GET", "/tokens"): OWN,
    ("POST", "/tokens"): OWN,
    ("DELETE", "/tokens/{token_id}"): OWN,
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("GET", "/users/{username}"): ADMIN,
    ("PATCH", "/users/{username}"): ADMIN,
    ("DELETE", "/users/{username}"): ADMIN,
    ("POST", "/users/{username}/password"): ADMIN,
    ("GET", "/roles"): ADMIN,
    ("POST", "/roles"): ADMIN,
    ("DELETE", "/roles/{name}"): ADMIN,
    ("GET", "/dags"): READ,
    ("GET", "/import-errors"): READ,
    ("GET", "/events"): READ,
    ("GET", "/deadline-misses"): READ,
    ("GET", "/backfills"): READ,
    ("GET", "/backfills/{backfill_id}"): READ,
    ("POST", "/backfills"): DAG_WRITE_BY_BODY,
    ("POST", "/backfills/{backfill_id}/cancel"): DAG_WRITE_BY_BODY,
    ("GET", "/pools"): READ,
    ("GET", "/pools/{name}"): READ,
    ("POST", "/pools"): GLOBAL_WRITE,
    ("PATCH", "/pools/{name}"): GLOBAL_WRITE,
    ("DELETE", "/pools/{name}"): GLOBAL_WRITE,
    ("GET", "/variables"): READ,
    ("GET", "/variables/{key}"): READ,
    ("POST", "/variables"): GLOBAL_WRITE,
    ("PATCH", "/variables/{key}"): GLOBAL_WRITE,
    ("DELETE", "/variables/{key}"): GLOBAL_WRITE,
    ("GET", "/connections"): READ,
    ("GET", "/connections/{conn_id}"): READ,
    ("POST", "/connections"): GLOBAL_WRITE,
    ("PATCH", "/connections/{conn_id}"): GLOBAL_WRITE,
    ("DELETE", "/connections/{conn_id}"): GLOBAL_WRITE,
    ("POST", "/connections/{conn_id}/test"): GLOBAL_WRITE,
    ("GET", "/assets"): READ,
    ("GET", "/assets/{asset_id}"): READ,
    ("GET", "/assets/graph"): READ,
    ("GET", "/assets/events"): READ,
    ("POST", "/assets/events"): GLOBAL_WRITE,
}
"""Routes not under /dags/{dag_id}, by method and path below /api/v1; those under it are
:data:`DAG` routes."""

PATH_VALUES = {
    "dag_id": "etl",
    "run_id": "r1",
    "task_id": "extract",
    "try_number": "1",
    "token_id": "no-such-token",
    "username": "walker",
    "name": "walk_thing",
    "backfill_id": "1",
    "key": "walk_var",
    "conn_id": "walk_conn",
    "asset_id": "1",
}

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/auth/logout"): {},
    ("POST", "/tokens"): {"name": "walk"},
    ("POST", "/users"): {"username": "walker2", "password": "a long password", "role": "viewer"},
    ("PATCH", "/users/{username}"): {"role": "op"},
    ("POST", "/users/{username}/password"): {"password": "another long password"},
    ("POST", "/roles"): {"name": "walk-role", "level": "viewer", "dag_tags": ["x"]},
    ("POST", "/backfills"): {
        "dag_id": "etl",
        "start": "2024-01-01T00:00:00+00:00",
        "end": "2024-01-02T00:00:00+00:00",
        "dry_run": True,
    },
    ("POST", "/backfills/{backfill_id}/cancel"): {},
    ("POST", "/pools"): {"name": "walk_pool", "slots": 2},
    ("PATCH", "/pools/{name}"): {"slots": 3},
    ("POST", "/variables"): {"key": "walk_var2", "value": "v"},
    ("PATCH", "/variables/{key}"): {"value": "w"},
    ("POST", "/connections"): {"conn_id": "walk_conn2", "conn_type": "http", "host": "127.0.0.1"},
    ("PATCH", "/connections/{conn_id}"): {"host": "127.0.0.2"},
    ("POST", "/connections/{conn_id}/test"): {},
    ("POST", "/assets/events"): {"uri": "s3://walk/asset", "extra": {"by": "walk"}},
    ("PATCH", "/dags/{dag_id}"): {"is_paused": True},
    ("POST", "/dags/{dag_id}/runs"): {"conf": {}},
    ("POST", "/dags/{dag_id}/runs/{run_id}/clear"): {"only_failed": True, "dry_run": True},
    ("POST", "/dags/{dag_id}/runs/{run_id}/mark"): {"state": "success", "dry_run": True},
    ("POST", "/dags/{dag_id}/runs/{run_id}/tasks/clear"): {
        "task_ids": ["extract"],
        "dry_run": True,
    },
    ("POST", "/dags/{dag_id}/runs/{run_id}/tasks/mark"): {
        "task_ids": ["extract"],
        "state": "success",
        "dry_run": True,
    },
}

ROLES = {"viewer": "vera", "op": "olga", "admin": "root", "team-a": "tess"}
"""Each role and its user in ``accounts`` (tests/account_fixtures.py); team-a is op on the
DAGs tagged team-a, and no stored DAG carries that tag."""

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _spec_routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    return [
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _rule(method: str, path: str) -> str:
    if path.startswith("/dags/{dag_id}"):
        return DAG
    return RULES[(method, path)]


def _expected(rule: str, method: str, role: str) -> int | None:
    """The status a role must get (403, 404), or None where it must be let through."""
    level = {"viewer": "viewer", "op": "op", "admin": "admin", "team-a": "op"}[role]
    limited = role == "team-a"
    if rule in (PUBLIC, READ, OWN):
        return None
    if rule == ADMIN:
        return None if level == "admin" else 403
    if rule == GLOBAL_WRITE:
        return None if level in ("op", "admin") and not limited else 403
    if rule == DAG:
        if limited:
            return 404
        return 403 if method in WRITES and level == "viewer" else None
    if rule == DAG_WRITE_BY_BODY:
        if limited:
            return 404
        return 403 if level == "viewer" else None
    raise AssertionError(rule)


@pytest.fixture
def walk_client(
    app_on: AppOn,
    web_settings: Settings,
    history: None,
    clock: FakeClock,
    accounts: dict[str, str],
) -> Iterator[TestClient]:
    with open_context(web_settings, clock=clock) as ctx:
        create_user(ctx, "walker", "a long password", "viewer")
        backfill = BackfillRequest(
            start=datetime(2024, 2, 1, tzinfo=UTC), end=datetime(2024, 2, 2, tzinfo=UTC)
        )
        assert run_backfill(ctx, "etl", backfill).backfill_id == 1  # PATH_VALUES["backfill_id"]
    with TestClient(app_on(web_settings, clock)) as client:
        yield client


def _token(settings: Settings, clock: FakeClock, username: str) -> str:
    with open_context(settings, clock=clock) as ctx:
        return create_token(ctx, username, "walk").token


def test_every_route_has_a_rule(client: TestClient) -> None:
    missing = [
        f"{method} {path}"
        for method, path in _spec_routes(client)
        if not path.startswith("/dags/{dag_id}") and (method, path) not in RULES
    ]
    assert not missing, f"give these routes a rule in RULES: {missing}"
    writes_without_body = [
        f"{method} {path}"
        for method, path in _spec_routes(client)
        if method in ("POST", "PUT", "PATCH")
        and (method, path) not in BODIES
        and (method, path) != ("POST", "/auth/login")
    ]
    assert not writes_without_body, f"give these writes a valid body: {writes_without_body}"


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_gets_what_its_level_allows_on_every_route(
    walk_client: TestClient, web_settings: Settings, clock: FakeClock, role: str
) -> None:
    headers = {"Authorization": f"Bearer {_token(web_settings, clock, ROLES[role])}"}
    wrong = {}
    routes = _spec_routes(walk_client)
    # Deletions last, so that what the other routes need is still there.
    routes.sort(key=lambda route: route[0] == "DELETE")
    for method, path in routes:
        if path == "/auth/logout":
            continue  # a bearer token has no session to end; it would answer for any role
        rule = _rule(method, path)
        if rule == PUBLIC:
            continue
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
        body = BODIES.get((method, path))
        response = walk_client.request(
            method, url, headers=headers, **({"json": body} if body is not None else {})
        )
        expected = _expected(rule, method, role)
        status = response.status_code
        if expected is None:
            if status in (401, 403) or status >= 500:
                wrong[f"{method} {path}"] = f"{status} {response.text[:200]}"
        elif status != expected:
            wrong[f"{method} {path}"] = f"{status}, expected {expected}: {response.text[:200]}"
    assert not wrong, f"role {role}: " + "\n".join(f"{k}: {v}" for k, v in wrong.items())
