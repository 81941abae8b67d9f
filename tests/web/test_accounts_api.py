"""Users, roles and tokens through the REST API, as an admin and as the others, with the
event log saying who did what (fixtures: tests/account_fixtures.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from account_fixtures import PASSWORD, log_in
from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import ActAs


def _admin(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": log_in(client, "root")["csrf_token"]}


def test_an_admin_adds_a_user_who_then_logs_in(clocked_client: TestClient) -> None:
    csrf = _admin(clocked_client)
    created = clocked_client.post(
        "/api/v1/users",
        json={"username": "nina", "password": "a long secret", "role": "viewer"},
        headers=csrf,
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["username"], body["role"], body["level"], body["disabled"]) == (
        "nina",
        "viewer",
        "viewer",
        False,
    )
    assert clocked_client.get("/api/v1/users/nina").json()["last_login_at"] is None
    clocked_client.cookies.clear()
    assert log_in(clocked_client, "nina", "a long secret")["level"] == "viewer"


def test_bad_users_are_refused_naming_the_field(clocked_client: TestClient) -> None:
    csrf = _admin(clocked_client)

    def create(**fields: str) -> tuple[int, str]:
        body = {"username": "nina", "password": "a long secret", "role": "viewer", **fields}
        answer = clocked_client.post("/api/v1/users", json=body, headers=csrf)
        return answer.status_code, answer.json()["detail"]

    status, detail = create(password="short")
    assert status == 400 and detail.startswith("password must be at least 8 characters")
    status, detail = create(role="wizard")
    assert status == 400 and "role 'wizard' does not exist" in detail
    status, detail = create(username="no spaces please")
    assert status == 400 and detail.startswith("username ")
    status, detail = create(username="vera")
    assert status == 409 and "already exists" in detail
    missing = clocked_client.post("/api/v1/users", json={"username": "x"}, headers=csrf)
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"body.password", "body.role"}


def test_role_changes_password_resets_and_deletes(
    clocked_client: TestClient, web_settings: Settings
) -> None:
    csrf = _admin(clocked_client)
    changed = clocked_client.patch("/api/v1/users/vera", json={"role": "op"}, headers=csrf)
    assert changed.json()["level"] == "op"
    reset = clocked_client.post(
        "/api/v1/users/vera/password", json={"password": "a new secret"}, headers=csrf
    )
    assert reset.status_code == 200
    assert clocked_client.delete("/api/v1/users/olga", headers=csrf).json() == {
        "username": "olga",
        "deleted": True,
    }
    assert clocked_client.get("/api/v1/users/olga").status_code == 404
    # The last admin stays.
    last = clocked_client.delete("/api/v1/users/root", headers=csrf)
    assert last.status_code == 409 and "only enabled admin" in last.json()["detail"]
    clocked_client.cookies.clear()
    refused = clocked_client.post(
        "/api/v1/auth/login", json={"username": "vera", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert log_in(clocked_client, "vera", "a new secret")["role"] == "op"
    with open_context(web_settings) as ctx:
        events = [(e.kind, e.actor, e.detail) for e in ctx.store.list_events(kind=None)]
    assert ("update_user", "root", "user vera role=op") in events
    assert ("reset_password", "root", "user vera") in events
    assert ("delete_user", "root", "user olga") in events


def test_roles_limited_to_tags(clocked_client: TestClient) -> None:
    csrf = _admin(clocked_client)
    made = clocked_client.post(
        "/api/v1/roles",
        json={"name": "team-b", "level": "viewer", "dag_tags": ["b", "shared"]},
        headers=csrf,
    )
    assert made.status_code == 201
    assert made.json() == {
        "name": "team-b",
        "level": "viewer",
        "dag_tags": ["b", "shared"],
        "built_in": False,
        "users": 0,
    }
    roles = clocked_client.get("/api/v1/roles").json()
    assert [r["name"] for r in roles["items"]] == ["admin", "op", "viewer", "team-a", "team-b"]
    assert roles["items"][3]["users"] == 1
    admin_level = clocked_client.post(
        "/api/v1/roles", json={"name": "boss", "level": "admin"}, headers=csrf
    )
    assert admin_level.status_code == 422 and admin_level.json()["errors"][0]["field"] == (
        "body.level"
    )
    in_use = clocked_client.delete("/api/v1/roles/team-a", headers=csrf)
    assert in_use.status_code == 409 and "in use by tess" in in_use.json()["detail"]
    built_in = clocked_client.delete("/api/v1/roles/viewer", headers=csrf)
    assert built_in.status_code == 409
    assert clocked_client.delete("/api/v1/roles/team-b", headers=csrf).status_code == 200
    assert clocked_client.delete("/api/v1/roles/team-b", headers=csrf).status_code == 404


def test_people_see_and_revoke_only_their_own_tokens(clocked_client: TestClient) -> None:
    vera = {"X-CSRF-Token": log_in(clocked_client, "vera")["csrf_token"]}
    mine = clocked_client.post("/api/v1/tokens", json={"name": "vera's"}, headers=vera).json()
    for_other = clocked_client.post(
        "/api/v1/tokens", json={"name": "x", "username": "olga"}, headers=vera
    )
    assert for_other.status_code == 403
    olga = {"X-CSRF-Token": log_in(clocked_client, "olga")["csrf_token"]}
    clocked_client.post("/api/v1/tokens", json={"name": "olga's"}, headers=olga)
    listed = clocked_client.get("/api/v1/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["olga's"]
    assert clocked_client.get("/api/v1/tokens?username=vera").status_code == 403
    not_hers = clocked_client.delete(f"/api/v1/tokens/{mine['id']}", headers=olga)
    assert not_hers.status_code == 404
    root = _admin(clocked_client)
    everyone = clocked_client.get("/api/v1/tokens").json()
    assert {t["username"] for t in everyone["items"]} == {"vera", "olga"}
    assert clocked_client.get("/api/v1/tokens?username=vera").json()["total"] == 1
    assert clocked_client.delete(f"/api/v1/tokens/{mine['id']}", headers=root).status_code == 200
    revoked = clocked_client.get("/api/v1/tokens?username=vera").json()["items"][0]
    assert revoked["active"] is False and revoked["revoked_at"] is not None
    made_for = clocked_client.post(
        "/api/v1/tokens", json={"name": "for olga", "username": "olga"}, headers=root
    )
    assert made_for.status_code == 201 and made_for.json()["username"] == "olga"


def test_lists_are_pages(clocked_client: TestClient) -> None:
    _admin(clocked_client)
    page = clocked_client.get("/api/v1/users?limit=2&offset=1").json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 1
    assert [u["username"] for u in page["items"]] == ["root", "tess"]
    bad = clocked_client.get("/api/v1/users?limit=0")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


def test_the_actor_of_a_request_is_its_user_whoever_authenticated_it(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("admin", username="boss")
    made = client.post("/api/v1/roles", json={"name": "team-c", "level": "viewer"})
    assert made.status_code == 201
    act_as("admin", username="other")
    assert client.delete("/api/v1/roles/team-c").status_code == 200
    with open_context(web_settings) as ctx:
        events = [(e.kind, e.actor) for e in ctx.store.list_events()]
    assert events == [("create_role", "boss"), ("delete_role", "other")]


ADMIN_ROUTES = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"username": "x1", "password": "long enough", "role": "viewer"}),
    ("GET", "/api/v1/users/root", None),
    ("PATCH", "/api/v1/users/root", {"role": "viewer"}),
    ("DELETE", "/api/v1/users/root", None),
    ("POST", "/api/v1/users/root/password", {"password": "long enough"}),
    ("GET", "/api/v1/roles", None),
    ("POST", "/api/v1/roles", {"name": "r", "level": "viewer"}),
    ("DELETE", "/api/v1/roles/team-a", None),
    ("GET", "/api/v1/tokens?username=root", None),
    ("POST", "/api/v1/tokens", {"name": "t", "username": "root"}),
]


def test_every_admin_route_is_forbidden_to_every_other_role(
    client: TestClient, act_as: ActAs, accounts: dict[str, str], web_settings: Settings
) -> None:
    for level, tags in (("viewer", None), ("op", None), ("op", {"team-a"}), ("viewer", {"a"})):
        act_as(level, tags)
        for method, path, body in ADMIN_ROUTES:
            answer = client.request(method, path, json=body)
            assert answer.status_code == 403, (level, tags, method, path, answer.text)
    with open_context(web_settings) as ctx:
        assert ctx.store.get_user("root") is not None and ctx.store.get_user("x1") is None
        assert ctx.store.list_events(kind="update_user") == []
