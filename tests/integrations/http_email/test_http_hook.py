"""HttpHook against a real HTTP server on 127.0.0.1: base URL, auth, retries, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_servers import PASSWORD, TOKEN, USER, HttpApi

from headwater.hooks.http import HttpHook, HttpHookError, HttpResponseError
from headwater.hooks.registry import hook_class
from headwater.masking import forget_secrets
from headwater.secrets import Connection, use_metastore
from headwater.store.memory import MemoryStore


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    with use_metastore(store):
        yield store
    forget_secrets()


def _api_connection(api: HttpApi, conn_id: str = "api", **fields: object) -> Connection:
    values: dict[str, object] = {"conn_type": "http", "host": "127.0.0.1", "port": api.port}
    values.update(fields)
    return Connection(conn_id, **values)  # type: ignore[arg-type]


def test_the_registry_serves_http_connections_with_this_hook() -> None:
    assert hook_class("http") is HttpHook
    assert hook_class("https") is HttpHook


def test_get_sends_data_as_the_query_and_the_connection_headers(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api, extra={"headers": {"X-Team": "data"}}))
    response = HttpHook("GET", "api").run(
        "/echo", data={"day": "2024-01-31"}, headers={"X-Run": "7"}
    )
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/echo", {"day": "2024-01-31"})
    assert seen["headers"]["x-team"] == "data"
    assert seen["headers"]["x-run"] == "7"


def test_post_sends_data_as_the_body_and_json(http_api: HttpApi, store: MemoryStore) -> None:
    store.set_connection(_api_connection(http_api))
    hook = HttpHook("POST", "api")
    assert hook.run("echo", data="raw text").json()["body"] == "raw text"
    assert hook.run("echo", data={"a": "1"}).json()["body"] == "a=1"
    assert hook.run("echo", json={"n": 2}).json()["body"] == '{"n":2}'


def test_a_host_given_as_a_url_and_extra_headers_as_json_text(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(
        Connection("api", "http", host=http_api.url + "/", extra={"headers": '{"X-A": "b"}'})
    )
    seen = HttpHook("GET", "api").run("echo").json()
    assert seen["path"] == "/echo"
    assert seen["headers"]["x-a"] == "b"


def test_basic_auth_from_login_and_password(http_api: HttpApi, store: MemoryStore) -> None:
    store.set_connection(_api_connection(http_api, login=USER, password=PASSWORD))
    assert HttpHook("GET", "api").run("private").json() == {"authorized": True}


def test_bearer_token_from_extra(http_api: HttpApi, store: MemoryStore) -> None:
    store.set_connection(_api_connection(http_api, extra={"token": TOKEN}))
    assert HttpHook("GET", "api").run("private").json() == {"authorized": True}


def test_token_under_a_header_of_its_own(http_api: HttpApi, store: MemoryStore) -> None:
    store.set_connection(
        _api_connection(http_api, extra={"token": TOKEN, "token_header": "X-Api-Key"})
    )
    assert HttpHook("GET", "api").run("private").json() == {"authorized": True}


def test_without_credentials_a_401_raises_with_status_and_body(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api))
    with pytest.raises(
        HttpResponseError,
        match=r"GET http://127\.0\.0\.1:\d+/private answered 401 Unauthorized: \{\"authorized\": false\}",
    ) as raised:
        HttpHook("GET", "api").run("private")
    assert raised.value.status_code == 401


def test_check_response_false_returns_the_failing_answer(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api))
    assert HttpHook("GET", "api", check_response=False).run("status/404").status_code == 404
    response = HttpHook("GET", "api").run("status/404", extra_options={"check_response": False})
    assert response.status_code == 404


def test_an_error_body_is_truncated_and_the_password_masked(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api, login=USER, password=PASSWORD))
    with pytest.raises(HttpResponseError) as raised:
        HttpHook("GET", "api").run("status/500")
    message = str(raised.value)
    assert "answered 500 Internal Server Error: failure 500: password *** xxx" in message
    assert PASSWORD not in message
    assert message.endswith("... (1526 more characters)")
    assert len(message) < 700


def test_retries_on_a_chosen_status_until_it_passes(
    http_api: HttpApi, store: MemoryStore, capfd: pytest.CaptureFixture[str]
) -> None:
    store.set_connection(_api_connection(http_api))
    http_api.state.failures_left["a"] = 2
    response = HttpHook("GET", "api", retry_limit=3, retry_delay=0).run("flaky/a")
    assert response.json() == {"ok": True}
    assert [r["path"] for r in http_api.state.requests] == ["/flaky/a"] * 3
    # Outside an attempt, the retry lines go to stderr.
    lines = [line.split(": ", 1)[1] for line in capfd.readouterr().err.splitlines()]
    assert lines == [
        "status 503; trying again in 0 s (try 2 of 4)",
        "status 503; trying again in 0 s (try 3 of 4)",
    ]


def test_retries_are_bounded_then_the_last_answer_raises(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api))
    http_api.state.failures_left["b"] = 10
    with pytest.raises(HttpResponseError, match="answered 503 Service Unavailable"):
        HttpHook("GET", "api", retry_limit=2, retry_delay=0).run("flaky/b")
    assert len(http_api.state.requests) == 3


def test_a_status_not_chosen_is_not_retried(http_api: HttpApi, store: MemoryStore) -> None:
    store.set_connection(_api_connection(http_api))
    http_api.state.failures_left["c"] = 1
    hook = HttpHook("GET", "api", retry_limit=3, retry_delay=0, retry_on_status=[429])
    with pytest.raises(HttpResponseError, match="503"):
        hook.run("flaky/c")
    assert len(http_api.state.requests) == 1


def test_connection_errors_are_retried_then_named(store: MemoryStore) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    # Nothing listens on the port any more.
    store.set_connection(Connection("down", "http", host="127.0.0.1", port=port))
    hook = HttpHook("GET", "down", retry_limit=1, retry_delay=0)
    with pytest.raises(
        HttpHookError, match=rf"GET http://127\.0\.0\.1:{port}/x failed after 2 tries: ConnectError"
    ):
        hook.run("x")


def test_test_connection_says_whether_the_service_answers(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api))
    assert HttpHook("GET", "api").test_connection() == (
        False,
        f"GET {http_api.url} answered 404 Not Found",
    )
    store.set_connection(Connection("echo", "http", host=http_api.url + "/echo"))
    assert HttpHook("GET", "echo").test_connection() == (
        True,
        f"GET {http_api.url}/echo answered 200 OK",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host": ""}, "connection 'bad': host is empty"),
        ({"schema": "ftp"}, "connection 'bad': schema 'ftp' must be 'http' or 'https'"),
        (
            {"host": "ftp://x"},
            "connection 'bad': host 'ftp://x' must start with http:// or https://",
        ),
        ({"extra": {"header": "x"}}, "connection 'bad': unknown extra field(s) 'header'"),
        ({"extra": {"headers": "{no"}}, "connection 'bad': extra headers is not valid JSON"),
        ({"extra": {"headers": "[1]"}}, "connection 'bad': extra headers must be an object"),
        (
            {"extra": {"verify": "maybe"}},
            "connection 'bad': extra verify must be true or false, got 'maybe'",
        ),
        (
            {"extra": {"timeout": "0"}},
            "connection 'bad': extra timeout must be a number of seconds",
        ),
    ],
)
def test_a_bad_connection_is_named_with_its_field(
    store: MemoryStore, fields: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"conn_type": "http", "host": "example.invalid"}
    values.update(fields)
    store.set_connection(Connection("bad", **values))  # type: ignore[arg-type]
    with pytest.raises(HttpHookError) as raised:
        HttpHook("GET", "bad").run("x")
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "FETCH"}, "method 'FETCH' is not one of GET, POST"),
        ({"retry_limit": 11}, "retry_limit must be an int from 0 to 10, got 11"),
        ({"retry_delay": -1}, "retry_delay must be a number of seconds from 0 to 300, got -1"),
        ({"retry_on_status": [99]}, "retry_on_status must hold HTTP status codes, got 99"),
        ({"timeout": "soon"}, "timeout must be a number of seconds"),
    ],
)
def test_bad_hook_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(HttpHookError, match=message):
        HttpHook(**kwargs)  # type: ignore[arg-type]


def test_unknown_request_options_and_a_body_on_get_are_refused(
    http_api: HttpApi, store: MemoryStore
) -> None:
    store.set_connection(_api_connection(http_api))
    with pytest.raises(
        HttpHookError, match=r"unknown extra_options 'verify'; they may set timeout"
    ):
        HttpHook("GET", "api").run("echo", extra_options={"verify": False})
    with pytest.raises(
        HttpHookError,
        match="data of a GET request goes into the query string, so it must be a dict, got str",
    ):
        HttpHook("GET", "api").run("echo", data="text")
    assert http_api.state.requests == []
