"""/api/v1/backfills: create (and dry-run), list, detail and cancel, for each role."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from web_fixtures import ActAs

JAN_1 = "2024-01-01T00:00:00+00:00"
JAN_3 = "2024-01-03T00:00:00+00:00"
DAYS = [JAN_1, "2024-01-02T00:00:00+00:00", JAN_3]


def _body(**changes: Any) -> dict[str, Any]:
    return {"dag_id": "etl", "start": JAN_1, "end": JAN_3, **changes}


def _runs(settings: Settings) -> list[tuple[str, str]]:
    with open_context(settings) as ctx:
        return sorted((r.run_id, r.state.value) for r in ctx.store.list_dag_runs("etl"))


def test_a_dry_run_answers_the_plan_and_creates_nothing(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("op")
    response = client.post("/api/v1/backfills", json=_body(dry_run=True))
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["dry_run"] is True
    assert [(i["logical_date"], i["action"], i["reason"]) for i in plan["items"]] == [
        (day, "create", "no run yet") for day in DAYS
    ]
    assert _runs(web_settings) == []
    assert client.get("/api/v1/backfills").json()["total"] == 0


def test_a_backfill_is_created_listed_and_shown_with_its_runs(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("op", username="ann")
    body = _body(max_active_runs=2, conf={"region": "us"}, run_backwards=True)
    response = client.post("/api/v1/backfills", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    backfill_id = created["backfill_id"]
    assert created["created"] == [f"backfill__{day}" for day in DAYS]
    assert (created["max_active_runs"], created["run_backwards"]) == (2, True)
    with open_context(web_settings) as ctx:
        assert {r.conf["region"] for r in ctx.store.list_dag_runs("etl")} == {"us"}

    listed = client.get("/api/v1/backfills", params={"dag_id": "etl"}).json()
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 100, 0)
    [item] = listed["items"]
    assert item["id"] == backfill_id
    assert (item["state"], item["total_runs"], item["finished_runs"]) == ("running", 3, 0)
    assert item["run_states"] == {"queued": 3}
    assert (item["created_by"], item["run_backwards"]) == ("ann", True)
    with open_context(web_settings) as ctx:
        [event] = ctx.store.list_events(kind="backfill")
    assert event.actor == "ann"

    shown = client.get(f"/api/v1/backfills/{backfill_id}").json()
    assert [(r["logical_date"], r["state"]) for r in shown["runs"]] == [
        (day, "queued") for day in DAYS
    ]
    assert (shown["start"], shown["end"], shown["reprocess"]) == (JAN_1, JAN_3, "failed")


def test_the_list_is_paged_newest_first(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    ids = [
        client.post("/api/v1/backfills", json=_body(start=day, end=day)).json()["backfill_id"]
        for day in DAYS
    ]
    page = client.get("/api/v1/backfills", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 3
    assert [b["id"] for b in page["items"]] == [ids[1], ids[0]]
    assert client.get("/api/v1/backfills", params={"limit": 0}).status_code == 422


def test_cancel_fails_the_queued_runs_once(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("op", username="bob")
    backfill_id = client.post("/api/v1/backfills", json=_body()).json()["backfill_id"]
    response = client.post(f"/api/v1/backfills/{backfill_id}/cancel")
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["completed_at"] is not None
    assert cancelled["not_started"] == [f"backfill__{day}" for day in DAYS]
    assert cancelled["run_states"] == {"failed": 3}
    assert {state for _, state in _runs(web_settings)} == {"failed"}
    again = client.post(f"/api/v1/backfills/{backfill_id}/cancel")
    assert again.status_code == 409
    assert "already completed" in again.json()["detail"]
    with open_context(web_settings) as ctx:
        [event] = ctx.store.list_events(kind="backfill_cancel")
    assert event.actor == "bob"


def test_a_viewer_reads_but_may_not_create_or_cancel(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("op")
    backfill_id = client.post("/api/v1/backfills", json=_body()).json()["backfill_id"]
    act_as("viewer")
    assert client.get("/api/v1/backfills").json()["total"] == 1
    assert client.get(f"/api/v1/backfills/{backfill_id}").status_code == 200
    for response in (
        client.post("/api/v1/backfills", json=_body()),
        client.post("/api/v1/backfills", json=_body(dry_run=True)),
        client.post(f"/api/v1/backfills/{backfill_id}/cancel"),
    ):
        assert response.status_code == 403, response.text
        assert "needs the op level" in response.json()["detail"]
    assert {state for _, state in _runs(web_settings)} == {"queued"}


def test_a_tag_limited_role_sees_no_backfill_outside_its_tags(
    client: TestClient, act_as: ActAs
) -> None:
    act_as("op")
    backfill_id = client.post("/api/v1/backfills", json=_body()).json()["backfill_id"]
    act_as("op", tags={"team-a"})  # etl has no tags
    assert client.get("/api/v1/backfills").json() == {
        "items": [],
        "total": 0,
        "limit": 100,
        "offset": 0,
    }
    for response in (
        client.get("/api/v1/backfills", params={"dag_id": "etl"}),
        client.get(f"/api/v1/backfills/{backfill_id}"),
        client.post(f"/api/v1/backfills/{backfill_id}/cancel"),
        client.post("/api/v1/backfills", json=_body(dry_run=True)),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["detail"] in ("no DAG 'etl'", f"no backfill {backfill_id}")


def test_without_credentials_every_route_is_401(client: TestClient) -> None:
    for method, path in (
        ("GET", "/api/v1/backfills"),
        ("POST", "/api/v1/backfills"),
        ("GET", "/api/v1/backfills/1"),
        ("POST", "/api/v1/backfills/1/cancel"),
    ):
        assert client.request(method, path, json=_body()).status_code == 401


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"start": JAN_3, "end": JAN_1}, 400, "start"),
        ({"start": "2024-01-01T00:00:00"}, 422, "body.start"),
        ({"end": "not a date"}, 422, "body.end"),
        ({"reprocess": "some"}, 422, "body.reprocess"),
        ({"max_active_runs": 0}, 422, "body.max_active_runs"),
        ({"conf": {"region": "mars"}}, 400, "body.conf.region"),
        ({"conf": "eu"}, 422, "body.conf"),
        ({"dag_id": "nope"}, 404, "nope"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    client: TestClient,
    act_as: ActAs,
    web_settings: Settings,
    changes: dict[str, Any],
    status: int,
    field: str,
) -> None:
    act_as("op")
    for dry_run in (True, False):
        response = client.post("/api/v1/backfills", json=_body(dry_run=dry_run, **changes))
        assert response.status_code == status, response.text
        error = response.json()
        fields = [e["field"] for e in error["errors"]]
        named_in_detail = (
            status != 422 and not field.startswith("body.") and field in error["detail"]
        )
        assert field in fields or named_in_detail, error
    assert _runs(web_settings) == []


def test_an_unknown_backfill_is_not_found(client: TestClient, act_as: ActAs) -> None:
    act_as("admin")
    assert client.get("/api/v1/backfills/4242").json()["detail"] == "no backfill 4242"
    assert client.post("/api/v1/backfills/4242/cancel").status_code == 404
    assert client.get("/api/v1/backfills/x").status_code == 422
    for too_big in ("2147483648", "99999999999999999999"):
        assert client.get(f"/api/v1/backfills/{too_big}").status_code == 422
        assert client.post(f"/api/v1/backfills/{too_big}/cancel").status_code == 422


def test_a_date_with_no_utc_time_is_refused(client: TestClient, act_as: ActAs) -> None:
    act_as("op")
    for changes, field in (
        ({"start": "0001-01-01T00:00:00+05:00"}, "start"),
        ({"end": "9999-12-31T23:59:59-05:00"}, "end"),
    ):
        for dry_run in (True, False):
            response = client.post("/api/v1/backfills", json=_body(dry_run=dry_run, **changes))
            assert response.status_code == 400
            assert response.json()["detail"].startswith(f"{field} ")
            assert "outside years 1 to 9999 in UTC" in response.json()["detail"]
