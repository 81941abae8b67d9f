"""``GET /api/v1/deadline-misses``: missed deadlines and SLAs, latest first, filtered by DAG,
paged, and seen by a role as it sees runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from headwater.services.context import open_context
from headwater.settings import Settings
from headwater.store.deadlines import DEADLINE, SLA, DeadlinePlan
from web_fixtures import ActAs

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LIMIT_REFUSED = 422
"""FastAPI's answer to a query parameter out of its range, as for every paged list."""


@pytest.fixture
def misses(web_settings: Settings, history: None) -> None:
    """etl r1 missed its deadline at T0+1h, flaky r1 its task SLA at T0+2h (with a secret
    in its reason); partly r1 met its deadline."""
    with open_context(web_settings) as ctx:
        store = ctx.store
        store.plan_deadlines(
            [
                DeadlinePlan("etl", "r1", "two_hours", DEADLINE, T0),
                DeadlinePlan("flaky", "r1", SLA, SLA, T0, task_id="boom"),
                DeadlinePlan("partly", "r1", "two_hours", DEADLINE, T0),
            ],
            T0,
        )
        by_dag = {row.dag_id: row for row in store.due_deadlines(T0)}
        store.record_deadline_miss(
            by_dag["etl"].id, T0 + timedelta(hours=1), "the run is not finished", has_callback=True
        )
        store.record_deadline_miss(
            by_dag["flaky"].id, T0 + timedelta(hours=2), "task boom late", has_callback=False
        )
        store.resolve_deadline(by_dag["partly"].id, T0)


def test_misses_are_listed_latest_first(client: TestClient, act_as: ActAs, misses: None) -> None:
    act_as("viewer")
    body = client.get("/api/v1/deadline-misses").json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 100, 0)
    flaky, etl = body["items"]
    assert (flaky["dag_id"], flaky["task_id"], flaky["kind"], flaky["name"]) == (
        "flaky",
        "boom",
        "sla",
        "sla",
    )
    assert (flaky["missed_at"], flaky["due_at"]) == (
        (T0 + timedelta(hours=2)).isoformat(),
        T0.isoformat(),
    )
    assert (etl["dag_id"], etl["task_id"], etl["name"], etl["status"]) == (
        "etl",
        None,
        "two_hours",
        "missed",
    )
    assert (etl["reason"], etl["callback_state"]) == ("the run is not finished", "pending")


def test_misses_filter_by_dag_and_page(client: TestClient, act_as: ActAs, misses: None) -> None:
    act_as("viewer")
    body = client.get("/api/v1/deadline-misses", params={"dag_id": "etl"}).json()
    assert body["total"] == 1 and [m["dag_id"] for m in body["items"]] == ["etl"]
    body = client.get("/api/v1/deadline-misses", params={"limit": 1, "offset": 1}).json()
    assert body["total"] == 2 and [m["dag_id"] for m in body["items"]] == ["etl"]
    assert client.get("/api/v1/deadline-misses", params={"dag_id": "partly"}).json()["total"] == 0


def test_an_unknown_dag_or_a_bad_page_is_refused(
    client: TestClient, act_as: ActAs, misses: None
) -> None:
    act_as("viewer")
    response = client.get("/api/v1/deadline-misses", params={"dag_id": "nope"})
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    response = client.get("/api/v1/deadline-misses", params={"limit": 0})
    assert response.status_code == LIMIT_REFUSED and "limit" in response.text


def test_a_role_limited_to_tags_sees_the_misses_of_its_dags_only(
    client: TestClient, act_as: ActAs, misses: None
) -> None:
    act_as("viewer", tags={"team-z"})
    assert client.get("/api/v1/deadline-misses").json()["total"] == 0
    response = client.get("/api/v1/deadline-misses", params={"dag_id": "etl"})
    assert response.status_code == 404


def test_logging_in_is_needed(client: TestClient, misses: None) -> None:
    assert client.get("/api/v1/deadline-misses").status_code == 401
