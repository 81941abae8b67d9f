"""The task-instance routes of /api/v1: the instances of a run, one with its tries, its
rendered fields and XComs (masked), and clear or mark with a dry run, for each role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.engine.records import TaskInstanceKey
from headwater.masking import forget_secrets
from headwater.operations import trigger_run
from headwater.services.context import open_context
from headwater.settings import Settings
from running_attempts import start_attempt
from stored_dags import scan_here, write_dags
from web_fixtures import ActAs

TASKS = "/api/v1/dags/{dag}/runs/{run}/tasks"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_secrets_left() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def tasks_url(dag: str = "flaky", run: str = "r1", rest: str = "") -> str:
    return TASKS.format(dag=dag, run=run) + rest


def states(client: TestClient, dag: str = "flaky", run: str = "r1") -> dict[str, str]:
    items = client.get(tasks_url(dag, run)).json()["items"]
    return {
        (i["task_id"] if i["map_index"] < 0 else f"{i['task_id']}[{i['map_index']}]"): i["state"]
        for i in items
    }


def changed(answer: Any) -> list[tuple[str, int, str, str]]:
    return [
        (c["task_id"], c["map_index"], c["from_state"], c["to_state"])
        for c in answer["task_instances"]
    ]


def test_a_viewer_lists_the_instances_of_a_run_in_dependency_order(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    page = client.get(tasks_url("etl")).json()
    labels = [(i["task_id"], i["map_index"], i["state"], i["operator"]) for i in page["items"]]
    assert labels == [
        ("extract", -1, "success", "@task"),
        ("double", 0, "success", "@task (mapped)"),
        ("double", 1, "success", "@task (mapped)"),
        ("double", 2, "success", "@task (mapped)"),
        ("load", -1, "success", "@task"),
        ("report", -1, "success", "@task"),
    ]
    assert (page["total"], page["limit"], page["offset"]) == (6, 100, 0)
    second = client.get(tasks_url("etl"), params={"limit": 2, "offset": 2}).json()
    assert [(i["task_id"], i["map_index"]) for i in second["items"]] == [
        ("double", 1),
        ("double", 2),
    ]
    assert second["total"] == 6


def test_one_instance_answers_every_try_with_its_error(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    boom = client.get(tasks_url(rest="/boom")).json()
    assert (boom["state"], boom["try_number"], boom["operator"]) == ("failed", 2, "BashOperator")
    assert boom["is_mapped"] is False
    assert [(t["try_number"], t["state"], t["log_available"]) for t in boom["tries"]] == [
        (1, "up_for_retry", True),
        (2, "failed", True),
    ]
    assert boom["tries"][0]["error"] == "BashCommandError: bash command failed: exit code 3"
    assert boom["tries"][0]["hostname"] and boom["tries"][0]["pid"]
    assert boom["map_indexes"] == [{"map_index": -1, "state": "failed", "try_number": 2}]


def test_a_mapped_instance_lists_its_siblings(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    half = client.get(tasks_url("partly", rest="/half"), params={"map_index": 1}).json()
    assert (half["map_index"], half["state"], half["is_mapped"]) == (1, "failed", True)
    assert half["error"] == "ValueError: no halves of two"
    assert [(m["map_index"], m["state"]) for m in half["map_indexes"]] == [
        (0, "success"),
        (1, "failed"),
        (2, "success"),
    ]


def test_a_running_try_shows_its_host_and_no_end(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("viewer")
    start_attempt(web_settings, "flaky", "live", "start")
    start = client.get(tasks_url(run="live", rest="/start")).json()
    assert start["state"] == "running"
    [attempt] = start["tries"]
    assert (attempt["hostname"], attempt["pid"], attempt["end_date"]) == ("worker-1", 4242, None)
    assert attempt["queued_at"] == start["queued_at"] == "2024-06-01T11:59:58+00:00"
    assert attempt["start_date"] == "2024-06-01T12:00:00+00:00"
    assert attempt["log_available"] is True


@pytest.mark.parametrize(
    ("rest", "query", "status", "says"),
    [
        ("/nope", {}, 404, "run 'r1' of DAG 'flaky' has no task 'nope'"),
        ("/boom", {"map_index": 3}, 404, "task 'boom' of run 'r1' has no map index 3"),
        ("/nope/xcoms", {}, 404, "has no task 'nope'"),
        ("/boom/rendered", {"try_number": 5}, 404, "has no try 5; its tries: 1, 2"),
    ],
)
def test_unknown_tasks_map_indexes_and_tries_are_404_naming_them(
    client: TestClient,
    act_as: ActAs,
    history: None,
    rest: str,
    query: dict[str, int],
    status: int,
    says: str,
) -> None:
    act_as("viewer")
    response = client.get(tasks_url(rest=rest), params=query)
    assert response.status_code == status
    assert says in response.json()["detail"]


def test_an_unknown_run_is_404_naming_it(client: TestClient, act_as: ActAs, history: None) -> None:
    act_as("viewer")
    response = client.get(tasks_url(run="nope"))
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize(
    ("rest", "query", "field"),
    [
        ("", {"limit": 0}, "query.limit"),
        ("", {"offset": -1}, "query.offset"),
        ("/boom", {"map_index": -2}, "query.map_index"),
        ("/boom/rendered", {"try_number": 0}, "query.try_number"),
        ("/boom/xcoms", {"map_index": "x"}, "query.map_index"),
    ],
)
def test_bad_query_values_are_422_naming_the_field(
    client: TestClient,
    act_as: ActAs,
    history: None,
    rest: str,
    query: dict[str, Any],
    field: str,
) -> None:
    act_as("viewer")
    response = client.get(tasks_url(rest=rest), params=query)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_rendered_fields_and_xcoms_are_masked(
    client: TestClient, act_as: ActAs, web_settings: Settings, history: None
) -> None:
    act_as("viewer")
    with open_context(web_settings) as ctx:
        ctx.store.set_variable("service_password", "hunter2-secret")
        key = TaskInstanceKey("etl", "r1", "extract")
        ctx.store.set_xcom(key, "connection_info", '{"host": "db", "token": "abc123"}')
        ctx.store.set_xcom(key, "note", '"logged in with hunter2-secret"')
    page = client.get(tasks_url("etl", rest="/extract/xcoms")).json()
    assert {x["key"]: x["value"] for x in page["items"]} == {
        "connection_info": {"host": "db", "token": "***"},
        "note": "logged in with ***",
        "return_value": [1, 2, 3],
    }
    assert page["total"] == 3
    rendered = client.get(tasks_url(rest="/boom/rendered"), params={"try_number": 1}).json()
    assert rendered["rendered_fields"] == {"bash_command": "echo going down; exit 3"}
    assert rendered["try_number"] == 1


def test_clear_dry_run_lists_exactly_the_downstream_set_and_changes_nothing(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    before = states(client)
    answer = client.post(
        tasks_url(rest="/clear"), json={"task_ids": ["boom"], "downstream": True, "dry_run": True}
    ).json()
    assert answer["dry_run"] is True
    assert changed(answer) == [
        ("boom", -1, "failed", "none"),
        ("after", -1, "upstream_failed", "none"),
    ]
    assert states(client) == before
    assert answer["run_state"] == "failed"


def test_clear_puts_the_instances_back_and_queues_the_run(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    answer = client.post(tasks_url(rest="/clear"), json={"task_ids": ["boom"], "downstream": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dry_run"] is False
    assert changed(body) == [
        ("boom", -1, "failed", "none"),
        ("after", -1, "upstream_failed", "none"),
    ]
    assert body["run_state"] == "queued"
    assert states(client) == {"start": "success", "boom": "none", "after": "none"}


def test_clear_upstream_with_only_failed_leaves_the_successful_ones(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    body = {"task_ids": ["after"], "upstream": True, "only_failed": True, "dry_run": True}
    answer = client.post(tasks_url(rest="/clear"), json=body).json()
    assert [c[0] for c in changed(answer)] == ["boom", "after"]
    without = client.post(tasks_url(rest="/clear"), json={**body, "only_failed": False}).json()
    assert [c[0] for c in changed(without)] == ["start", "boom", "after"]


def test_clear_one_map_index_of_a_mapped_task(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    url = tasks_url("partly", rest="/clear")
    preview = client.post(
        url, json={"task_ids": ["half"], "map_index": 1, "downstream": True, "dry_run": True}
    ).json()
    assert changed(preview) == [
        ("half", 1, "failed", "none"),
        ("total", -1, "upstream_failed", "none"),
    ]
    client.post(url, json={"task_ids": ["half"], "map_index": 1})
    assert states(client, "partly") == {
        "numbers": "success",
        "half[0]": "success",
        "half[1]": "none",
        "half[2]": "success",
        "total": "upstream_failed",
    }
    missing = client.post(url, json={"task_ids": ["half"], "map_index": 7})
    assert missing.status_code == 400
    assert missing.json()["detail"] == (
        "map_index: task 'half' has no map index 7; its map indexes: 0, 1, 2"
    )


def test_mark_success_with_downstream_previews_then_marks(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    url = tasks_url(rest="/mark")
    body = {"task_ids": ["boom"], "state": "success", "downstream": True}
    preview = client.post(url, json={**body, "dry_run": True}).json()
    assert changed(preview) == [
        ("boom", -1, "failed", "success"),
        ("after", -1, "upstream_failed", "success"),
    ]
    assert states(client)["boom"] == "failed"
    answer = client.post(url, json=body).json()
    assert changed(answer) == changed(preview)
    assert states(client) == {"start": "success", "boom": "success", "after": "success"}
    assert answer["run_state"] == "success"


def test_mark_failed_leaves_those_already_failed(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    body = {"task_ids": ["start"], "state": "failed", "downstream": True, "dry_run": True}
    answer = client.post(tasks_url(rest="/mark"), json=body).json()
    assert changed(answer) == [
        ("start", -1, "success", "failed"),
        ("after", -1, "upstream_failed", "failed"),
    ]


def test_busy_instances_are_a_conflict(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("op")
    start_attempt(web_settings, "flaky", "live", "start")
    response = client.post(tasks_url(run="live", rest="/clear"), json={"task_ids": ["start"]})
    assert response.status_code == 409
    assert "queued or running: 'start' (running)" in response.json()["detail"]


@pytest.mark.parametrize(
    ("rest", "body", "field"),
    [
        ("/clear", {"task_ids": []}, "body.task_ids"),
        ("/clear", {}, "body.task_ids"),
        ("/clear", {"task_ids": ["boom"], "downstream": "sometimes"}, "body.downstream"),
        ("/mark", {"task_ids": ["boom"], "state": "running"}, "body.state"),
        ("/mark", {"task_ids": ["boom"], "state": "success", "map_index": "x"}, "body.map_index"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient, act_as: ActAs, history: None, rest: str, body: Any, field: str
) -> None:
    act_as("op")
    response = client.post(tasks_url(rest=rest), json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_unknown_task_to_clear_is_404_naming_it(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    response = client.post(tasks_url(rest="/clear"), json={"task_ids": ["nope"], "dry_run": True})
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize("action", ["/clear", "/mark"])
def test_a_viewer_may_not_clear_or_mark(
    client: TestClient, act_as: ActAs, history: None, action: str
) -> None:
    act_as("viewer")
    body = {"task_ids": ["boom"], "state": "success", "dry_run": True}
    response = client.post(tasks_url(rest=action), json=body)
    assert response.status_code == 403
    assert "needs the op level" in response.json()["detail"]
    assert states(client)["boom"] == "failed"


ROUTES = [
    ("GET", "", None),
    ("GET", "/boom", None),
    ("GET", "/boom/rendered", None),
    ("GET", "/boom/xcoms", None),
    ("GET", "/boom/logs/1", None),
    ("POST", "/clear", {"task_ids": ["boom"], "dry_run": True}),
    ("POST", "/mark", {"task_ids": ["boom"], "state": "success", "dry_run": True}),
]


@pytest.mark.parametrize(("method", "rest", "body"), ROUTES)
def test_every_route_needs_a_login(
    client: TestClient, history: None, method: str, rest: str, body: Any
) -> None:
    response = client.request(method, tasks_url(rest=rest), json=body)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "rest", "body"), ROUTES)
def test_a_role_limited_to_other_tags_sees_no_dag(
    client: TestClient, act_as: ActAs, history: None, method: str, rest: str, body: Any
) -> None:
    act_as("admin", tags={"team-a"})
    response = client.request(method, tasks_url(rest=rest), json=body)
    assert response.status_code == 404
    assert response.json()["detail"] == "no DAG 'flaky'"


@pytest.mark.parametrize(("method", "rest", "body"), ROUTES)
def test_an_op_may_use_every_route(
    client: TestClient, act_as: ActAs, history: None, method: str, rest: str, body: Any
) -> None:
    act_as("op")
    response = client.request(method, tasks_url(rest=rest), json=body)
    assert response.status_code == 200, response.text


TEAM_DAG = """
from datetime import UTC, datetime
from headwater import DAG
from headwater.operators import BashOperator

with DAG("team_dag", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None,
         tags=["team-a"]):
    BashOperator(task_id="hello", bash_command="echo hello")
"""


def test_a_role_limited_to_a_tag_the_dag_carries_works_by_its_level(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    with open_context(web_settings) as ctx:
        write_dags(dags_folder, TEAM_DAG, name="team.py")
        assert not scan_here(ctx.store, dags_folder).errors
        trigger_run(ctx.store, "team_dag", run_id="t1", now=NOW)
    url = tasks_url("team_dag", "t1")
    act_as("viewer", tags={"team-a"})
    assert [i["task_id"] for i in client.get(url).json()["items"]] == ["hello"]
    body = {"task_ids": ["hello"], "state": "success", "dry_run": True}
    assert client.post(url + "/mark", json=body).status_code == 403
    act_as("op", tags={"team-a"})
    answer = client.post(url + "/mark", json=body)
    assert answer.status_code == 200
    assert changed(answer.json()) == [("hello", -1, "none", "success")]
    act_as("op", tags={"team-b"})
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("rest", "field"),
    [
        ("/boom?map_index=2147483648", "query.map_index"),
        ("/boom/logs/2147483648", "path.try_number"),
    ],
)
def test_numbers_past_the_database_integer_are_422(
    client: TestClient, act_as: ActAs, history: None, rest: str, field: str
) -> None:
    act_as("viewer")
    response = client.get(tasks_url(rest=rest))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    act_as("op")
    response = client.post(
        tasks_url(rest="/clear"), json={"task_ids": ["boom"], "map_index": 2**40}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.map_index"]
