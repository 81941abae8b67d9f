"""The attempt page as the server renders it: what each role gets, the metadata fragment
that live updates ask for, values escaped and masked, errors naming what is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from headwater.engine.records import TaskInstanceKey
from headwater.masking import forget_secrets
from headwater.services.context import open_context
from headwater.settings import Settings
from running_attempts import start_attempt
from stored_dags import run_now, scan_here, write_dags
from web_fixtures import ActAs

BOOM = "/dags/flaky/runs/r1/tasks/boom"


@pytest.fixture(autouse=True)
def no_secrets_left() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_without_a_session_the_page_sends_to_the_login(client: TestClient, history: None) -> None:
    response = client.get(BOOM + "?try_number=1", follow_redirects=False)
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/login?next=/dags/flaky/runs/r1/tasks/boom%3Ftry_number%3D1"
    )


def test_a_viewer_reads_the_attempt_without_actions(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    html = client.get(BOOM).text
    assert "Log of try 2" in html
    assert "Marking as failed (attempt 2 of 2)" in html
    assert "BashCommandError: bash command failed: exit code 3" in html
    assert "data-tasks-action" not in html
    assert "tasks-clear-dialog" not in html
    assert 'href="/dags/flaky/runs/r1/tasks/boom?map_index=-1&amp;try_number=1"' in html


def test_an_operator_gets_the_clear_and_mark_actions(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    html = client.get(BOOM).text
    assert 'data-tasks-action="clear" data-tasks-url="/api/v1/dags/flaky/runs/r1/tasks"' in html
    assert html.count('data-tasks-action="mark"') == 2
    assert 'id="tasks-clear-dialog"' in html and 'id="tasks-mark-dialog"' in html


def test_an_ended_attempt_stops_the_live_metadata(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    assert "data-live-url" not in client.get(BOOM).text
    fragment = client.get(BOOM, params={"fragment": "meta"}).text
    assert "<html" not in fragment
    assert "data-live-done" in fragment
    assert "try 2 of 2" in fragment


def test_a_running_attempt_keeps_its_metadata_live(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("viewer")
    live = start_attempt(web_settings, "flaky", "live", "start")
    live.write("hello\n")
    url = "/dags/flaky/runs/live/tasks/start"
    html = client.get(url).text
    assert (
        'data-live-url="/dags/flaky/runs/live/tasks/start?map_index=-1&amp;try_number=1'
        '&amp;fragment=meta"' in html
    )
    assert 'data-log-complete="false"' in html
    assert 'data-log-offset="6"' in html
    assert '<dt>Queued</dt><dd><time datetime="2024-06-01T11:59:58+00:00">' in html
    assert "data-live-done" not in client.get(url, params={"fragment": "meta"}).text
    live.end()
    assert "data-live-done" in client.get(url, params={"fragment": "meta"}).text


def test_values_are_escaped_and_masked(
    client: TestClient, act_as: ActAs, web_settings: Settings, history: None
) -> None:
    act_as("viewer")
    with open_context(web_settings) as ctx:
        ctx.store.set_variable("db_password", "letmein-42")
        key = TaskInstanceKey("etl", "r1", "extract")
        ctx.store.set_xcom(key, "markup", '"<script>alert(1)</script>"')
        ctx.store.set_xcom(key, "leak", '"password is letmein-42"')
    html = client.get("/dags/etl/runs/r1/tasks/extract").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "password is ***" in html
    assert "letmein-42" not in html


def test_a_mapped_instance_lists_its_map_indexes(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    html = client.get("/dags/partly/runs/r1/tasks/half", params={"map_index": 1}).text
    assert "Map indexes of half" in html
    for index in (0, 1, 2):
        assert f'href="/dags/partly/runs/r1/tasks/half?map_index={index}"' in html
    assert "ValueError: no halves of two" in html


def test_an_instance_that_has_not_run_says_so(
    client: TestClient, act_as: ActAs, web_settings: Settings
) -> None:
    act_as("viewer")
    start_attempt(web_settings, "flaky", "live", "start")
    html = client.get("/dags/flaky/runs/live/tasks/boom").text
    assert "This task instance has not run yet (none)." in html
    assert "No log yet" in html


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (BOOM + "?try_number=7", "try_number: task instance 'boom' of run 'r1' has no try 7"),
        ("/dags/flaky/runs/r1/tasks/nope", "has no task 'nope'"),
        ("/dags/flaky/runs/r9/tasks/boom", "r9"),
        ("/dags/nope/runs/r1/tasks/boom", "no DAG 'nope'"),
    ],
)
def test_what_is_missing_is_404_naming_it(
    client: TestClient, act_as: ActAs, history: None, url: str, says: str
) -> None:
    act_as("viewer")
    response = client.get(url)
    assert response.status_code == 404
    assert says in response.json()["detail"]


def test_a_bad_query_value_is_422_naming_the_field(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("viewer")
    response = client.get(BOOM, params={"try_number": 0})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.try_number"]


def test_a_cleared_instance_keeps_the_page_of_its_latest_try_live(
    client: TestClient, act_as: ActAs, history: None
) -> None:
    act_as("op")
    client.post("/api/v1/dags/flaky/runs/r1/tasks/clear", json={"task_ids": ["boom"]})
    latest = client.get(BOOM).text
    assert 'data-live-url="/dags/flaky/runs/r1/tasks/boom?map_index=-1&amp;try_number=2' in latest
    assert 'data-tasks-shown-try="2"' in latest
    assert 'data-tasks-latest-url="/dags/flaky/runs/r1/tasks/boom?map_index=-1"' in latest
    # an earlier try that ended does not change: no live updates, no following
    earlier = client.get(BOOM, params={"try_number": 1}).text
    assert "data-live-url" not in earlier
    assert "data-tasks-shown-try" not in earlier


POLICY_DAG = """
from datetime import UTC, datetime
from headwater import DAG, ExceptionRetryPolicy, RetryAction, RetryRule
from headwater.operators import PythonOperator

def refuse():
    raise PermissionError("denied")

with DAG("guarded", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule=None):
    PythonOperator(task_id="call", python_callable=refuse, retries=3, retry_policy=ExceptionRetryPolicy(
        rules=[RetryRule(exception=PermissionError, action=RetryAction.FAIL,
                         reason="<no access> to the API")]))
"""


def test_the_retry_policys_reason_is_shown_with_the_try(
    client: TestClient, act_as: ActAs, web_settings: Settings, dags_folder: Path
) -> None:
    with open_context(web_settings) as ctx:
        write_dags(dags_folder, POLICY_DAG, name="guarded.py")
        scan_here(ctx.store, dags_folder)
        run_now(ctx.store, dags_folder, "guarded", "r1", web_settings)
    act_as("viewer")
    html = client.get("/dags/guarded/runs/r1/tasks/call").text
    assert (
        "<dt>Retry policy</dt><dd data-tasks-retry-reason>&lt;no access&gt; to the API</dd>" in html
    )
    assert "Retry policy: fail: &lt;no access&gt; to the API" in html  # its log line too
