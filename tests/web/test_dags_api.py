"""The REST API of DAGs and import errors (``/api/v1/dags``, ``/api/v1/import-errors``):
on the real app and a migrated SQLite database holding etl (tags none), flaky and partly,
for each role, tag-limited ones included."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from stored_dags import DAGS, scan_here, write_dags
from web_fixtures import ActAs

TAGGED = """
from datetime import UTC, datetime
from headwater import DAG, Param
from headwater.operators import BashOperator

START = datetime(2024, 1, 1, tzinfo=UTC)

with DAG("team_a_load", start_date=START, schedule="0 8 * * *", tags=["team-a", "nightly"],
         description="Loads the orders of team A",
         params={"api_key": Param("s3cret-default", type="string"),
                 "days": Param(3, type="integer", minimum=1, description="how far back")}):
    BashOperator(task_id="load", bash_command="echo load")

with DAG("team_b_report", start_date=START, schedule="*/30 * * * *", tags=["team-b"]):
    BashOperator(task_id="report", bash_command="echo report")
"""


@pytest.fixture
def tagged(web_settings: Settings, dags_folder: Path) -> None:
    """Two more DAGs, tagged team-a and team-b, in a second file of the folder."""
    write_dags(dags_folder, TAGGED, name="teams.py")
    with open_context(web_settings) as ctx:
        report = scan_here(ctx.store, dags_folder)
    assert not report.errors, report


def _ids(body: dict) -> list[str]:
    return [item["dag_id"] for item in body["items"]]


def test_the_list_shows_each_dag_with_schedule_in_words_and_recent_runs(
    client: TestClient, act_as: ActAs, history: None, tagged: None
) -> None:
    act_as("viewer")
    body = client.get("/api/v1/dags").json()
    assert _ids(body) == ["etl", "flaky", "partly", "team_a_load", "team_b_report"]
    assert body["total"] == 5 and body["limit"] == 100 and body["offset"] == 0
    items = {item["dag_id"]: item for item in body["items"]}
    assert items["etl"]["schedule"] == "@daily"
    assert items["etl"]["schedule_words"] == "every day at 00:00 UTC"
    assert items["team_a_load"]["schedule_words"] == "every day at 08:00 UTC"
    assert items["team_b_report"]["schedule_words"] == "every 30 minutes"
    assert items["partly"]["schedule_words"] == "never (manual only)"
    assert items["team_a_load"]["description"] == "Loads the orders of team A"
    assert [(r["run_id"], r["state"]) for r in items["etl"]["recent_runs"]] == [("r1", "success")]
    assert [r["state"] for r in items["flaky"]["recent_runs"]] == ["failed"]
    assert items["team_b_report"]["recent_runs"] == []
    assert items["etl"]["paused"] is False and items["etl"]["active"] is True
    assert items["etl"]["file"].endswith("dags.py")


def test_filters_by_tag_search_and_paused(client: TestClient, act_as: ActAs, tagged: None) -> None:
    act_as("op")
    assert _ids(client.get("/api/v1/dags", params={"tags": ["team-b", "nightly"]}).json()) == [
        "team_a_load",
        "team_b_report",
    ]
    assert _ids(client.get("/api/v1/dags", params={"search": "ORDERS"}).json()) == ["team_a_load"]
    assert _ids(client.get("/api/v1/dags", params={"search": "team-b"}).json()) == ["team_b_report"]
    assert client.patch("/api/v1/dags/flaky", json={"is_paused": True}).json() == {
        "dag_id": "flaky",
        "paused": True,
    }
    paused = client.get("/api/v1/dags", params={"paused": "true"}).json()
    assert _ids(paused) == ["flaky"] and paused["total"] == 1
    assert client.get("/api/v1/dags", params={"paused": "false"}).json()["total"] == 4


def test_pages_through_the_list_with_the_total_of_all_matching(
    client: TestClient, act_as: ActAs, tagged: None
) -> None:
    act_as("viewer")
    first = client.get("/api/v1/dags", params={"limit": 2}).json()
    second = client.get("/api/v1/dags", params={"limit": 2, "offset": 2}).json()
    last = client.get("/api/v1/dags", params={"limit": 2, "offset": 4}).json()
    assert (first["total"], second["total"], last["total"]) == (5, 5, 5)
    assert _ids(first) + _ids(second) + _ids(last) == [
        "etl",
        "flaky",
        "partly",
        "team_a_load",
        "team_b_report",
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 1001}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"paused": "maybe"}, "query.paused"),
    ],
)
def test_bad_list_queries_are_refused_naming_the_field(
    client: TestClient, act_as: ActAs, query: dict, field: str
) -> None:
    act_as("viewer")
    response = client.get("/api/v1/dags", params=query)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_tag_limited_role_sees_only_its_dags(
    client: TestClient, act_as: ActAs, history: None, tagged: None
) -> None:
    act_as("op", tags={"team-a"})
    body = client.get("/api/v1/dags").json()
    assert _ids(body) == ["team_a_load"] and body["total"] == 1
    assert client.get("/api/v1/dags", params={"search": "team"}).json()["total"] == 1
    for path in (
        "/api/v1/dags/etl",
        "/api/v1/dags/etl/source",
        "/api/v1/dags/etl/runs",
        "/api/v1/dags/etl/runs/r1",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "no DAG 'etl'"
    assert client.patch("/api/v1/dags/etl", json={"is_paused": True}).status_code == 404
    assert client.post("/api/v1/dags/etl/runs", json={}).status_code == 404
    assert client.patch("/api/v1/dags/team_a_load", json={"is_paused": True}).status_code == 200


def test_detail_has_structure_params_schema_and_masked_secrets(
    client: TestClient, act_as: ActAs, tagged: None
) -> None:
    act_as("viewer")
    etl = client.get("/api/v1/dags/etl").json()
    assert [t["task_id"] for t in etl["tasks"]] == ["extract", "double", "load", "report"]
    double = next(t for t in etl["tasks"] if t["task_id"] == "double")
    assert double["mapped"] is True and double["retries"] == 2
    assert double["operator"] == "@task"
    assert {(e["source"], e["target"]) for e in etl["edges"]} == {
        ("extract", "double"),
        ("double", "load"),
        ("load", "report"),
    }
    assert etl["params_schema"] == {
        "type": "object",
        "properties": {"region": {"enum": ["eu", "us"], "default": "eu"}},
        "required": [],
    }
    team = client.get("/api/v1/dags/team_a_load").json()
    props = team["params_schema"]["properties"]
    assert props["api_key"]["default"] == "***"
    assert props["days"] == {
        "type": "integer",
        "minimum": 1,
        "description": "how far back",
        "default": 3,
    }
    assert "s3cret-default" not in client.get("/api/v1/dags/team_a_load").text


def test_source_is_the_dag_file(client: TestClient, act_as: ActAs, dags_folder: Path) -> None:
    act_as("viewer")
    body = client.get("/api/v1/dags/etl/source").json()
    assert body["file"] == str(dags_folder / "dags.py")
    assert 'with DAG("etl"' in body["source"] and body["truncated"] is False
    (dags_folder / "dags.py").unlink()
    missing = client.get("/api/v1/dags/etl/source")
    assert missing.status_code == 404
    assert "cannot be read" in missing.json()["detail"]


def test_a_viewer_may_read_but_not_pause(client: TestClient, act_as: ActAs) -> None:
    act_as("viewer")
    response = client.patch("/api/v1/dags/etl", json={"is_paused": True})
    assert response.status_code == 403
    assert "op level" in response.json()["detail"]
    assert client.get("/api/v1/dags/etl").json()["paused"] is False


def test_pause_needs_a_boolean(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    response = client.patch("/api/v1/dags/etl", json={"is_paused": "sometimes"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.is_paused"
    assert client.patch("/api/v1/dags/nope", json={"is_paused": True}).status_code == 404


def test_without_credentials_every_route_is_401(client: TestClient) -> None:
    for method, path in (
        ("GET", "/api/v1/dags"),
        ("GET", "/api/v1/dags/etl"),
        ("PATCH", "/api/v1/dags/etl"),
        ("GET", "/api/v1/dags/etl/source"),
        ("GET", "/api/v1/import-errors"),
    ):
        response = client.request(method, path, json={"is_paused": True})
        assert response.status_code == 401, (method, path)


def test_import_errors_list_file_line_message_and_traceback(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path, tagged: None
) -> None:
    broken_file = "from headwater import DAG\n\nraise RuntimeError('the warehouse is gone')\n"
    write_dags(dags_folder, broken_file, "broken.py")
    write_dags(dags_folder, DAGS + "\nundefined_name\n")  # etl's file breaks too
    with open_context(web_settings) as ctx:
        scan_here(ctx.store, dags_folder)
    act_as("viewer", tags={"team-b"})  # files carry no tags: every role sees them
    body = client.get("/api/v1/import-errors").json()
    assert body["files"] == 2 and body["total"] == 2
    broken = next(e for e in body["items"] if e["filename"].endswith("broken.py"))
    assert broken["line"] == 3
    assert "the warehouse is gone" in broken["message"]
    assert "Traceback" in broken["traceback"] or "RuntimeError" in broken["traceback"]
    act_as("viewer")
    failing = client.get("/api/v1/dags", params={"has_import_error": "true"}).json()
    assert _ids(failing) == ["etl", "flaky", "partly"]
    fine = client.get("/api/v1/dags", params={"has_import_error": "false"}).json()
    assert _ids(fine) == ["team_a_load", "team_b_report"]
    assert client.get("/api/v1/dags/etl").json()["has_import_error"] is True


GROUPED = """
from datetime import UTC, datetime
from headwater import DAG, TaskGroup
from headwater.operators import BashOperator

with DAG("grouped", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None,
         doc_md="# Grouped\\nLoads in **two** steps."):
    start = BashOperator(task_id="start", bash_command="true")
    with TaskGroup("load", tooltip="Loading") as load:
        raw = BashOperator(task_id="raw", bash_command="true")
        with TaskGroup("clean") as clean:
            dedupe = BashOperator(task_id="dedupe", bash_command="true", owner="ana")
        raw >> clean
    start >> load
"""


def test_detail_has_task_groups_as_a_tree(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    write_dags(dags_folder, GROUPED, name="grouped.py")
    with open_context(web_settings) as ctx:
        assert not scan_here(ctx.store, dags_folder).errors
    act_as("viewer")
    body = client.get("/api/v1/dags/grouped").json()
    [load] = body["task_groups"]
    assert (load["group_id"], load["label"], load["tooltip"]) == ("load", "load", "Loading")
    assert load["task_ids"] == ["load.raw"]
    [clean] = load["children"]
    assert (clean["group_id"], clean["label"], clean["task_ids"]) == (
        "load.clean",
        "clean",
        ["load.clean.dedupe"],
    )
    tasks = {t["task_id"]: t for t in body["tasks"]}
    assert tasks["load.clean.dedupe"]["label"] == "dedupe"
    assert tasks["load.clean.dedupe"]["group_id"] == "load.clean"
    assert {(e["source"], e["target"]) for e in body["edges"]} == {
        ("start", "load.raw"),
        ("load.raw", "load.clean.dedupe"),
    }
    assert "ana" in body["owners"]
    assert body["doc_md"] == "# Grouped\nLoads in **two** steps."
