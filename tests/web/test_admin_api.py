"""The REST API of pools, variables, connections and the event log: each route for each
role, bad input answered 4xx naming the field, and secrets that never come out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import scan_here
from web_fixtures import ActAs

WRITES = [
    ("POST", "/api/v1/pools", {"name": "p1", "slots": 2}),
    ("PATCH", "/api/v1/pools/default_pool", {"slots": 3}),
    ("DELETE", "/api/v1/pools/default_pool", None),
    ("POST", "/api/v1/variables", {"key": "k", "value": "v"}),
    ("PATCH", "/api/v1/variables/region", {"value": "us"}),
    ("DELETE", "/api/v1/variables/region", None),
    ("POST", "/api/v1/connections", {"conn_id": "c", "conn_type": "http"}),
    ("PATCH", "/api/v1/connections/warehouse", {"host": "x"}),
    ("DELETE", "/api/v1/connections/warehouse", None),
    ("POST", "/api/v1/connections/warehouse/test", None),
]
READS = [
    "/api/v1/pools",
    "/api/v1/pools/default_pool",
    "/api/v1/variables",
    "/api/v1/variables/region",
    "/api/v1/connections",
    "/api/v1/connections/warehouse",
    "/api/v1/events",
]


def call(client: TestClient, method: str, url: str, body: Any = None) -> Any:
    return client.request(method, url, json=body)


@pytest.fixture
def seeded(client: TestClient, web_settings: Settings) -> TestClient:
    """A variable, a secret variable and a connection with a password and a secret extra."""
    from headwater.store.base import Connection

    with open_context(web_settings) as ctx:
        ctx.store.set_variable("region", "eu", "where reports go")
        ctx.store.set_variable("db_password", "hunter2-very-secret", None)
        ctx.store.set_connection(
            Connection(
                "warehouse",
                "postgres",
                host="db.example.com",
                login="etl",
                password="s3cret-pw-42",
                port=5432,
                extra={"sslmode": "require", "api_token": "tok-123456"},
            )
        )
    return client


@pytest.mark.parametrize("url", READS)
def test_every_route_needs_a_login(seeded: TestClient, url: str) -> None:
    response = seeded.get(url)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("log in")


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_writes_need_a_login(seeded: TestClient, method: str, url: str, body: Any) -> None:
    assert call(seeded, method, url, body).status_code == 401


@pytest.mark.parametrize("level", ["viewer", "op", "admin"])
@pytest.mark.parametrize("url", READS)
def test_every_role_reads(seeded: TestClient, act_as: ActAs, level: str, url: str) -> None:
    act_as(level)
    assert seeded.get(url).status_code == 200


@pytest.mark.parametrize("url", READS)
def test_a_tag_limited_role_reads_too(seeded: TestClient, act_as: ActAs, url: str) -> None:
    act_as("op", tags={"team-a"})
    assert seeded.get(url).status_code == 200


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_a_viewer_may_not_write(
    seeded: TestClient, act_as: ActAs, method: str, url: str, body: Any
) -> None:
    act_as("viewer")
    response = call(seeded, method, url, body)
    assert response.status_code == 403
    assert "needs the op level" in response.json()["detail"]


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_a_tag_limited_op_may_not_write(
    seeded: TestClient, act_as: ActAs, method: str, url: str, body: Any
) -> None:
    act_as("op", tags={"team-a"})
    response = call(seeded, method, url, body)
    assert response.status_code == 403
    assert "limited to DAGs tagged team-a" in response.json()["detail"]


# -- pools -------------------------------------------------------------------------------------


def test_pools_round_trip(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    created = client.post(
        "/api/v1/pools", json={"name": "warehouse", "slots": 4, "description": "db"}
    )
    assert created.status_code == 201
    assert created.json() == {
        "name": "warehouse",
        "slots": 4,
        "used": 0,
        "running": 0,
        "queued": 0,
        "open": 4,
        "description": "db",
    }
    again = client.post("/api/v1/pools", json={"name": "warehouse", "slots": 1})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    changed = client.patch("/api/v1/pools/warehouse", json={"slots": 9}).json()
    assert (changed["slots"], changed["description"]) == (9, "db")
    page = client.get("/api/v1/pools", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert [p["name"] for p in page["items"]] == ["warehouse"]
    assert client.delete("/api/v1/pools/warehouse").json() == {
        "name": "warehouse",
        "deleted": True,
    }
    assert client.get("/api/v1/pools/warehouse").status_code == 404
    assert client.patch("/api/v1/pools/warehouse", json={"slots": 1}).status_code == 404
    assert client.delete("/api/v1/pools/warehouse").status_code == 404


def test_default_pool_cannot_be_deleted(client: TestClient, act_as: ActAs) -> None:
    act_as("admin")
    response = client.delete("/api/v1/pools/default_pool")
    assert response.status_code == 409
    assert "'default_pool' cannot be deleted" in response.json()["detail"]
    assert client.get("/api/v1/pools/default_pool").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "p", "slots": -1}, "body.slots"),
        ({"name": "p", "slots": 10**12}, "body.slots"),
        ({"name": "p", "slots": "many"}, "body.slots"),
        ({"name": "p", "slots": True}, "body.slots"),
        ({"name": "<script>", "slots": 1}, "body.name"),
        ({"name": "a" * 251, "slots": 1}, "body.name"),
        ({"name": "../etc", "slots": 1}, "body.name"),
        ({"slots": 1}, "body.name"),
    ],
)
def test_bad_pools_are_refused_naming_the_field(
    client: TestClient, act_as: ActAs, body: dict[str, Any], field: str
) -> None:
    act_as("op")
    response = client.post("/api/v1/pools", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert [p["name"] for p in client.get("/api/v1/pools").json()["items"]] == ["default_pool"]


# -- variables ---------------------------------------------------------------------------------


def test_variables_round_trip(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    created = client.post(
        "/api/v1/variables", json={"key": "region", "value": "eu", "description": "where"}
    )
    assert created.status_code == 201
    assert created.json() == {"key": "region", "value": "eu", "description": "where"}
    assert client.post("/api/v1/variables", json={"key": "region", "value": "x"}).status_code == (
        409
    )
    changed = client.patch("/api/v1/variables/region", json={"value": "us"}).json()
    assert changed == {"key": "region", "value": "us", "description": "where"}
    assert client.get("/api/v1/variables/region").json()["value"] == "us"
    assert client.delete("/api/v1/variables/region").json() == {"key": "region", "deleted": True}
    for method in ("GET", "PATCH", "DELETE"):
        body = {"value": "x"} if method == "PATCH" else None
        response = call(client, method, "/api/v1/variables/region", body)
        assert response.status_code == 404
        assert response.json()["detail"] == "no variable 'region'"


def test_variables_search_and_pages(seeded: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    everything = seeded.get("/api/v1/variables").json()
    assert [v["key"] for v in everything["items"]] == ["db_password", "region"]
    found = seeded.get("/api/v1/variables", params={"search": "REPORTS"}).json()
    assert [v["key"] for v in found["items"]] == ["region"]
    # Values are never searched: a search must not tell what a secret holds.
    assert seeded.get("/api/v1/variables", params={"search": "hunter2"}).json()["total"] == 0
    second = seeded.get("/api/v1/variables", params={"limit": 1, "offset": 1}).json()
    assert (second["total"], [v["key"] for v in second["items"]]) == (2, ["region"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 1001}, "query.limit"),
        ({"offset": -1}, "query.offset"),
    ],
)
def test_bad_paging_is_refused_naming_the_field(
    client: TestClient, act_as: ActAs, query: dict[str, int], field: str
) -> None:
    act_as("viewer")
    for url in ("/api/v1/variables", "/api/v1/pools", "/api/v1/connections", "/api/v1/events"):
        response = client.get(url, params=query)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_secret_variable_is_masked_for_every_role(seeded: TestClient, act_as: ActAs) -> None:
    for level in ("viewer", "op", "admin"):
        act_as(level)
        listed = seeded.get("/api/v1/variables")
        one = seeded.get("/api/v1/variables/db_password")
        assert one.json() == {"key": "db_password", "value": "***", "description": None}
        assert "hunter2" not in listed.text + one.text


def test_sending_the_mask_back_keeps_a_secret_variable(
    seeded: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("op")
    answer = seeded.patch(
        "/api/v1/variables/db_password", json={"value": "***", "description": "the db"}
    )
    assert answer.json() == {"key": "db_password", "value": "***", "description": "the db"}
    with open_context(web_settings) as ctx:
        assert ctx.store.get_variable("db_password") == "hunter2-very-secret"
    created = seeded.post("/api/v1/variables", json={"key": "api_token", "value": "tok-9"})
    assert created.json()["value"] == "***"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "a b", "value": "x"}, "body.key"),
        ({"key": "<img src=x onerror=alert(1)>", "value": "x"}, "body.key"),
        ({"key": "", "value": "x"}, "body.key"),
        ({"key": "k", "value": "x" * 1_000_001}, "body.value"),
        ({"key": "k", "value": {"not": "text"}}, "body.value"),
        ({"key": "k"}, "body.value"),
    ],
)
def test_bad_variables_are_refused_naming_the_field(
    client: TestClient, act_as: ActAs, body: dict[str, Any], field: str
) -> None:
    act_as("op")
    response = client.post("/api/v1/variables", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/api/v1/variables").json()["total"] == 0


def test_a_body_that_is_not_json_is_a_422(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    response = client.post(
        "/api/v1/variables", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body")


# -- connections -------------------------------------------------------------------------------


def test_connections_never_answer_a_secret(seeded: TestClient, act_as: ActAs) -> None:
    for level in ("viewer", "op", "admin"):
        act_as(level)
        listed = seeded.get("/api/v1/connections")
        one = seeded.get("/api/v1/connections/warehouse")
        assert one.json() == {
            "conn_id": "warehouse",
            "conn_type": "postgres",
            "description": None,
            "host": "db.example.com",
            "port": 5432,
            "schema": None,
            "login": "etl",
            "has_password": True,
            "password": "***",
            "extra": {"sslmode": "require", "api_token": "***"},
        }
        for text in (listed.text, one.text):
            assert "s3cret-pw-42" not in text and "tok-123456" not in text


def test_connections_round_trip(client: TestClient, act_as: ActAs, web_settings: Settings) -> None:
    act_as("admin")
    body = {
        "conn_id": "api",
        "conn_type": "http",
        "host": "example.com",
        "password": "pw-1",
        "extra": {"timeout": 5, "auth": {"client_secret": "cs-1"}},
    }
    created = client.post("/api/v1/connections", json=body)
    assert created.status_code == 201
    shown = created.json()
    assert (shown["password"], shown["extra"]) == (
        "***",
        {"timeout": 5, "auth": {"client_secret": "***"}},
    )
    assert client.post("/api/v1/connections", json=body).status_code == 409
    # The edit form sends the masked values back: the stored secrets stay.
    edited = client.patch(
        "/api/v1/connections/api",
        json={"host": "api.example.com", "password": "***", "extra": shown["extra"]},
    )
    assert edited.status_code == 200
    assert edited.json()["host"] == "api.example.com"
    with open_context(web_settings) as ctx:
        stored = ctx.store.get_connection("api")
        assert stored is not None
        assert stored.password == "pw-1"
        assert stored.extra == {"timeout": 5, "auth": {"client_secret": "cs-1"}}
    cleared = client.patch("/api/v1/connections/api", json={"password": None, "port": 8443})
    assert (cleared.json()["password"], cleared.json()["port"]) == (None, 8443)
    assert client.delete("/api/v1/connections/api").json() == {"conn_id": "api", "deleted": True}
    assert client.get("/api/v1/connections/api").status_code == 404
    assert client.patch("/api/v1/connections/api", json={"host": "x"}).status_code == 404
    assert client.delete("/api/v1/connections/api").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conn_id": "c/d", "conn_type": "http"}, "body.conn_id"),
        ({"conn_id": "<script>alert(1)</script>", "conn_type": "http"}, "body.conn_id"),
        ({"conn_id": "c", "conn_type": "http", "port": 70000}, "body.port"),
        ({"conn_id": "c", "conn_type": "http", "extra": "{bad json"}, "body.extra"),
        ({"conn_id": "c", "conn_type": "http", "extra": [1, 2]}, "body.extra"),
        ({"conn_id": "c", "conn_type": "http", "host": "h" * 20_000}, "body.host"),
        ({"conn_id": "c"}, "body.conn_type"),
    ],
)
def test_bad_connections_are_refused_naming_the_field(
    client: TestClient, act_as: ActAs, body: dict[str, Any], field: str
) -> None:
    act_as("op")
    response = client.post("/api/v1/connections", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/api/v1/connections").json()["total"] == 0


def test_an_unknown_connection_type_is_a_400_listing_the_known(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    response = client.post("/api/v1/connections", json={"conn_id": "c", "conn_type": "nope"})
    assert response.status_code == 400
    assert "unknown connection type 'nope'" in response.json()["detail"]
    assert "postgres" in response.json()["detail"]
    seeded = client.post("/api/v1/connections", json={"conn_id": "c", "conn_type": "http"})
    assert seeded.status_code == 201
    changed = client.patch("/api/v1/connections/c", json={"conn_type": "nope"})
    assert changed.status_code == 400
    assert client.get("/api/v1/connections/c").json()["conn_type"] == "http"


def test_testing_a_connection_answers_what_the_hook_found(
    client: TestClient, act_as: ActAs, tmp_path: Path
) -> None:
    act_as("op")
    missing = tmp_path / "missing.db"
    client.post(
        "/api/v1/connections",
        json={"conn_id": "lite", "conn_type": "sqlite", "host": str(missing)},
    )
    tested = client.post("/api/v1/connections/lite/test")
    assert tested.status_code == 200
    assert (tested.json()["conn_id"], tested.json()["ok"]) == ("lite", False)
    assert not missing.exists()
    assert client.post("/api/v1/connections/nope/test").status_code == 404


# -- events ------------------------------------------------------------------------------------


@pytest.fixture
def events(client: TestClient, web_settings: Settings, dags_folder: Path) -> TestClient:
    """Events of etl and flaky, and of a DAG tagged team-a, stored by its file."""
    from stored_dags import write_dags

    with open_context(web_settings) as ctx:
        write_dags(
            dags_folder,
            "from headwater import DAG\nfrom headwater.operators import EmptyOperator\n"
            "with DAG('team_dag', tags=['team-a'], schedule=None) as d:\n"
            "    EmptyOperator(task_id='t')\n",
            name="team.py",
        )
        scan_here(ctx.store, dags_folder)
        now = ctx.now()
        ctx.store.record_event("trigger", at=now, dag_id="etl", run_id="r1")
        ctx.store.record_event("clear", at=now, dag_id="flaky", run_id="r1", detail="by hand")
        ctx.store.record_event("pause", at=now, dag_id="team_dag", state="paused", actor="ada")
    return client


def test_events_newest_first_with_filters(events: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    page = events.get("/api/v1/events").json()
    assert [e["kind"] for e in page["items"]] == ["pause", "clear", "trigger"]
    assert page["total"] == 3
    first = page["items"][1]
    assert (first["dag_id"], first["run_id"], first["detail"], first["actor"]) == (
        "flaky",
        "r1",
        "by hand",
        None,
    )
    assert events.get("/api/v1/events", params={"dag_id": "etl"}).json()["total"] == 1
    assert events.get("/api/v1/events", params={"kind": "clear"}).json()["total"] == 1
    by_ada = events.get("/api/v1/events", params={"actor": "ada"}).json()
    assert [(e["kind"], e["actor"]) for e in by_ada["items"]] == [("pause", "ada")]
    paged = events.get("/api/v1/events", params={"limit": 1, "offset": 2}).json()
    assert [e["kind"] for e in paged["items"]] == ["trigger"]


def test_a_tag_limited_role_sees_only_the_events_of_its_dags(
    events: TestClient, act_as: ActAs
) -> None:
    act_as("viewer", tags={"team-a"})
    page = events.get("/api/v1/events").json()
    assert [e["dag_id"] for e in page["items"]] == ["team_dag"]
    assert events.get("/api/v1/events", params={"dag_id": "etl"}).json()["total"] == 0
