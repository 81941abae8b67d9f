"""The REST API of DAG runs (``/api/v1/dags/{dag_id}/runs...``): list with filters and
pages, trigger with conf checked against params, detail, delete, clear and mark (with dry
runs), for each role; on the real app, a migrated SQLite database and runs made by the real
engine (``history``: etl succeeded, flaky and partly failed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState
from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import ActAs

JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)


def _add_runs(settings: Settings, dag_id: str, count: int) -> None:
    """``count`` more runs of ``dag_id`` (no task instances), one a day from Jan 2nd, every
    third one failed, every fourth one manual."""
    with open_context(settings) as ctx:
        for day in range(1, count + 1):
            logical = JAN_1 + timedelta(days=day)
            run = DagRun(
                dag_id=dag_id,
                run_id=f"s{day:02d}",
                logical_date=logical,
                data_interval_start=logical - timedelta(days=1),
                data_interval_end=logical,
                run_type="manual" if day % 4 == 0 else "scheduled",
                state=DagRunState.FAILED if day % 3 == 0 else DagRunState.SUCCESS,
            )
            ctx.store.create_dag_run(run, [])


def _run_ids(body: dict) -> list[str]:
    return [item["run_id"] for item in body["items"]]


def test_lists_runs_newest_first_with_filters_and_pages(
    client: TestClient, act_as: ActAs, web_settings: Settings, history: None
) -> None:
    _add_runs(web_settings, "etl", 12)
    act_as("viewer")
    body = client.get("/api/v1/dags/etl/runs", params={"limit": 5}).json()
    assert body["total"] == 13
    assert _run_ids(body) == ["s12", "s11", "s10", "s09", "s08"]
    rest = client.get("/api/v1/dags/etl/runs", params={"limit": 10, "offset": 10}).json()
    assert _run_ids(rest) == ["s02", "s01", "r1"]
    failed = client.get("/api/v1/dags/etl/runs", params={"state": "failed"}).json()
    assert _run_ids(failed) == ["s12", "s09", "s06", "s03"] and failed["total"] == 4
    manual = client.get("/api/v1/dags/etl/runs", params={"run_type": "manual"}).json()
    assert _run_ids(manual) == ["s12", "s08", "s04", "r1"]  # r1: run by hand
    ranged = client.get(
        "/api/v1/dags/etl/runs",
        params={"start": "2024-01-03T00:00:00+00:00", "end": "2024-01-05T00:00:00Z"},
    ).json()
    assert _run_ids(ranged) == ["s04", "s03", "s02"] and ranged["total"] == 3


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"state": "sleeping"}, 400, "state 'sleeping' is not one of"),
        ({"run_type": "cron"}, 400, "run_type 'cron' is not one of"),
        ({"start": "yesterday"}, 422, "query.start"),
        ({"start": "2024-01-03T00:00:00"}, 400, "start 2024-01-03T00:00:00 has no time zone"),
        (
            {"start": "2024-01-05T00:00:00Z", "end": "2024-01-03T00:00:00Z"},
            400,
            "is before start",
        ),
        ({"limit": 0}, 422, "query.limit"),
        (
            {"start": "0001-01-01T00:00:00+14:00"},
            400,
            "start 0001-01-01T00:00:00+14:00 is out of range",
        ),
    ],
)
def test_bad_run_queries_are_refused_naming_the_field(
    client: TestClient, act_as: ActAs, query: dict, status: int, words: str
) -> None:
    act_as("viewer")
    response = client.get("/api/v1/dags/etl/runs", params=query)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_trigger_checks_conf_against_params_and_queues_the_run(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    refused = client.post("/api/v1/dags/etl/runs", json={"conf": {"region": "mars"}})
    assert refused.status_code == 400
    body = refused.json()
    assert body["errors"][0]["field"] == "body.conf.region"
    assert "'mars' is not one of ['eu', 'us']" in body["detail"]
    assert client.get("/api/v1/dags/etl/runs").json()["total"] == 0
    made = client.post(
        "/api/v1/dags/etl/runs",
        json={"conf": {"region": "us"}, "run_id": "by_api", "logical_date": "2024-03-01T10:00:00Z"},
    )
    assert made.status_code == 201
    run = made.json()
    assert (run["run_id"], run["state"], run["run_type"]) == ("by_api", "queued", "manual")
    assert run["conf"] == {"region": "us"}
    assert run["logical_date"] == "2024-03-01T10:00:00+00:00"
    taken = client.post("/api/v1/dags/etl/runs", json={"run_id": "by_api"})
    assert taken.status_code == 409 and "is taken" in taken.json()["detail"]
    naive = client.post("/api/v1/dags/etl/runs", json={"logical_date": "2024-03-01T10:00:00"})
    assert naive.status_code == 400 and "logical_date" in naive.json()["detail"]
    not_a_dict = client.post("/api/v1/dags/etl/runs", json={"conf": ["eu"]})
    assert not_a_dict.status_code == 422
    assert not_a_dict.json()["errors"][0]["field"] == "body.conf"


def test_a_secret_looking_conf_value_is_masked(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    made = client.post(
        "/api/v1/dags/etl/runs", json={"conf": {"region": "eu", "db_password": "hunter2"}}
    ).json()
    assert made["conf"] == {"region": "eu", "db_password": "***"}
    shown = client.get(f"/api/v1/dags/etl/runs/{made['run_id']}").json()
    assert shown["conf"]["db_password"] == "***"
    assert "hunter2" not in client.get("/api/v1/dags/etl/runs").text


def test_detail_has_the_task_instances_and_delete_removes_the_run(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    detail = client.get("/api/v1/dags/flaky/runs/r1").json()
    assert detail["state"] == "failed"
    states = {ti["task_id"]: ti["state"] for ti in detail["task_instances"]}
    assert states == {"start": "success", "boom": "failed", "after": "upstream_failed"}
    assert client.get("/api/v1/dags/flaky/runs/nope").status_code == 404
    deleted = client.delete("/api/v1/dags/flaky/runs/r1")
    assert deleted.status_code == 200 and deleted.json()["run_id"] == "r1"
    assert client.get("/api/v1/dags/flaky/runs/r1").status_code == 404


def test_clear_only_failed_with_a_dry_run_first(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    preview = client.post(
        "/api/v1/dags/flaky/runs/r1/clear", json={"only_failed": True, "dry_run": True}
    ).json()
    assert preview["dry_run"] is True
    assert [ti["task_id"] for ti in preview["task_instances"]] == ["boom", "after"]
    assert client.get("/api/v1/dags/flaky/runs/r1").json()["state"] == "failed"
    cleared = client.post("/api/v1/dags/flaky/runs/r1/clear", json={"only_failed": True}).json()
    assert cleared["dry_run"] is False and cleared["run"]["state"] == "queued"
    assert {ti["task_id"]: ti["state"] for ti in cleared["task_instances"]} == {
        "boom": "none",
        "after": "none",
    }
    states = {
        ti["task_id"]: ti["state"]
        for ti in client.get("/api/v1/dags/flaky/runs/r1").json()["task_instances"]
    }
    assert states == {"start": "success", "boom": "none", "after": "none"}


def test_clear_all_resets_every_instance(client: TestClient, act_as: ActAs, history: None) -> None:
    act_as("op")
    cleared = client.post("/api/v1/dags/etl/runs/r1/clear", json={}).json()
    assert cleared["run"]["state"] == "queued"
    # the mapped task's three instances become one placeholder, to expand again
    assert sorted((ti["task_id"], ti["map_index"]) for ti in cleared["task_instances"]) == [
        ("double", -1),
        ("extract", -1),
        ("load", -1),
        ("report", -1),
    ]
    assert {ti["state"] for ti in cleared["task_instances"]} == {"none"}


def test_mark_a_failed_run_success_and_a_queued_run_failed(
    client: TestClient, act_as: ActAs, history: None, web_settings: Settings
) -> None:
    act_as("op", username="ana")
    preview = client.post(
        "/api/v1/dags/flaky/runs/r1/mark", json={"state": "success", "dry_run": True}
    ).json()
    assert [ti["task_id"] for ti in preview["task_instances"]] == ["boom", "after"]
    assert preview["run"]["state"] == "failed"
    marked = client.post("/api/v1/dags/flaky/runs/r1/mark", json={"state": "success"}).json()
    assert marked["run"]["state"] == "success"
    assert {ti["state"] for ti in marked["task_instances"]} == {"success"}
    with open_context(web_settings) as ctx:
        [event] = ctx.store.list_events(dag_id="flaky", kind="mark")
    assert (event.actor, event.state) == ("ana", "success")
    assert event.detail == "marked run success: boom, after"
    queued = client.post("/api/v1/dags/flaky/runs", json={"run_id": "fresh"}).json()
    assert queued["state"] == "queued"
    failed = client.post("/api/v1/dags/flaky/runs/fresh/mark", json={"state": "failed"}).json()
    assert failed["run"]["state"] == "queued"  # the scheduler ends it (failed) next pass
    assert {ti["state"] for ti in failed["task_instances"]} == {"failed"}
    bad = client.post("/api/v1/dags/flaky/runs/r1/mark", json={"state": "running"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.state"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/dags/etl/runs", {"conf": {"region": "us"}}),
        ("DELETE", "/api/v1/dags/etl/runs/r1", None),
        ("POST", "/api/v1/dags/etl/runs/r1/clear", {"only_failed": False}),
        ("POST", "/api/v1/dags/etl/runs/r1/mark", {"state": "failed"}),
    ],
)
def test_a_viewer_may_not_change_runs(
    client: TestClient, act_as: ActAs, history: None, method: str, path: str, body: dict | None
) -> None:
    act_as("viewer")
    response = client.request(method, path, json=body)
    assert response.status_code == 403
    assert "needs the op level" in response.json()["detail"]
    assert client.get("/api/v1/dags/etl/runs").json()["total"] == 1
    assert client.get("/api/v1/dags/etl/runs/r1").json()["state"] == "success"


def test_runs_need_credentials(client: TestClient) -> None:
    assert client.get("/api/v1/dags/etl/runs").status_code == 401
    assert client.post("/api/v1/dags/etl/runs", json={}).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/dags/etl/runs", None),
        ("GET", "/api/v1/dags/etl/runs/r1", None),
        ("POST", "/api/v1/dags/etl/runs", {}),
        ("DELETE", "/api/v1/dags/etl/runs/r1", None),
        ("POST", "/api/v1/dags/etl/runs/r1/clear", {"dry_run": True}),
        ("POST", "/api/v1/dags/etl/runs/r1/mark", {"state": "failed", "dry_run": True}),
    ],
)
def test_a_role_limited_to_other_tags_finds_no_runs(
    client: TestClient, act_as: ActAs, history: None, method: str, path: str, body: dict | None
) -> None:
    act_as("op", tags={"team-a"})
    response = client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json()["detail"] == "no DAG 'etl'"
    act_as("viewer")
    assert client.get("/api/v1/dags/etl/runs/r1").json()["state"] == "success"
