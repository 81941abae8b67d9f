"""HttpOperator in DAG runs against a real HTTP server: templates, checks, filters, pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from local_servers import TOKEN, HttpApi

from headwater import DAG
from headwater.exceptions import DagDefinitionError
from headwater.operators import HttpOperator
from headwater.secrets import Connection
from headwater.testing import FakeClock, MemoryStore, run_dag

DAY = datetime(2024, 1, 31, tzinfo=UTC)


def _store(api: HttpApi, **extra: Any) -> MemoryStore:
    store = MemoryStore()
    store.set_connection(Connection("api", "http", host="127.0.0.1", port=api.port, extra=extra))
    return store


def test_templated_request_and_the_text_as_xcom_by_default(http_api: HttpApi) -> None:
    with DAG("calls", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="post",
            http_conn_id="api",
            endpoint="echo/{{ ds_nodash }}",
            method="POST",
            data='{"day": "{{ ds }}"}',
            headers={"X-Day": "{{ ds }}"},
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.succeeded
    [seen] = http_api.state.requests
    assert (seen["method"], seen["path"], seen["body"]) == (
        "POST",
        "/echo/20240131",
        '{"day": "2024-01-31"}',
    )
    assert seen["headers"]["x-day"] == "2024-01-31"
    assert '"path": "/echo/20240131"' in result.xcom("post")
    assert result.rendered("post")["endpoint"] == "echo/20240131"


def test_response_filter_shapes_the_xcom(http_api: HttpApi) -> None:
    with DAG("filtered", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="get",
            http_conn_id="api",
            endpoint="echo",
            method="GET",
            data={"q": "{{ params.q }}"},
            response_filter=lambda response: response.json()["query"],
        )
    result = run_dag(dag, logical_date=DAY, conf={"q": "lyon"}, store=_store(http_api))
    assert result.xcom("get") == {"q": "lyon"}


def test_response_check_false_fails_the_task_with_a_clear_message(http_api: HttpApi) -> None:
    with DAG("checked", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="get",
            http_conn_id="api",
            endpoint="echo",
            method="GET",
            response_check=lambda response: response.json()["query"].get("ok") == "yes",
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.state_of("get") == "failed"
    [attempt] = result.attempts("get")
    assert attempt.error is not None
    assert attempt.error.startswith(
        "HttpOperatorError: response_check returned False for the answer of GET http://127.0.0.1:"
    )
    assert attempt.error.endswith("/echo (status 200)")


def test_an_error_status_fails_the_task_naming_status_and_body(http_api: HttpApi) -> None:
    with DAG("unauthorized", start_date=DAY, schedule=None) as dag:
        HttpOperator(task_id="get", http_conn_id="api", endpoint="private", method="GET")
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.state_of("get") == "failed"
    assert 'answered 401 Unauthorized: {"authorized": false}' in (
        result.attempts("get")[0].error or ""
    )


def test_a_token_from_the_connection_never_shows_in_the_log(http_api: HttpApi) -> None:
    with DAG("logged", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="get",
            http_conn_id="api",
            endpoint="echo",
            method="GET",
            log_response=True,
            response_filter=lambda response: response.json()["path"],
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api, token=TOKEN))
    assert result.xcom("get") == "/echo"
    log = result.log("get")
    assert "Answer 200: {" in log
    assert "Bearer ***" in log
    assert TOKEN not in log


def test_retries_in_the_operator_pass_a_flaky_endpoint(http_api: HttpApi) -> None:
    http_api.state.failures_left["x"] = 2
    with DAG("flaky", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="get",
            http_conn_id="api",
            endpoint="flaky/x",
            method="GET",
            retry_limit=2,
            retry_delay=0,
            response_filter=lambda response: response.json(),
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.xcom("get") == {"ok": True}
    assert "status 503; trying again in 0 s (try 2 of 3)" in result.log("get")


def _next_page(response: httpx.Response) -> dict[str, Any] | None:
    following = response.json()["next"]
    return None if following is None else {"data": {"page": following}}


def test_pagination_follows_pages_and_filters_them_all(http_api: HttpApi) -> None:
    with DAG("paged", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="items",
            http_conn_id="api",
            endpoint="items",
            method="GET",
            data={"page": 1},
            pagination_function=_next_page,
            response_filter=lambda responses: [i for r in responses for i in r.json()["items"]],
        )
        HttpOperator(
            task_id="texts",
            http_conn_id="api",
            endpoint="items",
            method="GET",
            pagination_function=_next_page,
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.xcom("items") == [f"item-{p}-{n}" for p in (1, 2, 3) for n in (0, 1)]
    texts = result.xcom("texts")
    assert [t.count("item-") for t in texts] == [2, 2, 2]
    assert [r["query"].get("page") for r in http_api.state.requests] == [
        "1",
        "2",
        "3",
        None,
        "2",
        "3",
    ]


def test_pagination_is_bounded_by_max_pages(http_api: HttpApi) -> None:
    with DAG("endless", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="items",
            http_conn_id="api",
            endpoint="echo",
            method="GET",
            max_pages=3,
            pagination_function=lambda response: {"params": {"again": "1"}},
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.state_of("items") == "failed"
    assert result.attempts("items")[0].error == (
        "HttpOperatorError: pagination_function still asked for a next page after 3 pages "
        "(max_pages); raise max_pages or make it return None at the end"
    )
    assert len(http_api.state.requests) == 3


def test_a_pagination_function_returning_unknown_arguments_fails_clearly(http_api: HttpApi) -> None:
    with DAG("bad_pages", start_date=DAY, schedule=None) as dag:
        HttpOperator(
            task_id="items",
            http_conn_id="api",
            endpoint="items",
            method="GET",
            pagination_function=lambda response: {"page": 2},
        )
    result = run_dag(dag, logical_date=DAY, store=_store(http_api))
    assert result.attempts("items")[0].error == (
        "HttpOperatorError: pagination_function returned unknown argument(s) 'page'; it may "
        "set endpoint, data, headers, params, json, extra_options"
    )


def test_a_missing_connection_fails_the_task_naming_it() -> None:
    with DAG("no_conn", start_date=DAY, schedule=None) as dag:
        HttpOperator(task_id="get", http_conn_id="nowhere", endpoint="x", method="GET")
    result = run_dag(dag, logical_date=DAY, store=MemoryStore(), clock=FakeClock(DAY))
    assert "connection 'nowhere' is not defined" in (result.attempts("get")[0].error or "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "FETCH"}, "task 'x': method 'FETCH' is not one of"),
        ({"max_pages": 0}, "task 'x': max_pages must be an int from 1 to 1000, got 0"),
        ({"response_check": "yes"}, "task 'x': response_check must be a function of the response"),
        ({"retry_limit": -1}, "task 'x': retry_limit must be an int from 0 to 10, got -1"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_built(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        HttpOperator(task_id="x", endpoint="e", **kwargs)
