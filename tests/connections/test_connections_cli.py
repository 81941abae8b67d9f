"""``headwater connections add | get | list | delete | test`` on a real database: passwords
never printed, bad input named, hooks that reach real servers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from headwater.hooks import registry
from headwater.store.base import Connection
from headwater.store.sql import SqlStore
from stored_dags import invoke

PASSWORD = "p@ss:w/o?r#d%&="
URI = "postgresql://etl:p%40ss%3Aw%2Fo%3Fr%23d%25%26%3D@db.example.com:5432/reports?sslmode=require"


def test_add_from_a_uri_then_get_list_and_delete(store: SqlStore) -> None:
    result = invoke("connections", "add", "warehouse", "--conn-uri", URI)
    assert (result.exit_code, result.stdout) == (0, "Added connection warehouse (postgres)\n")
    assert store.get_connection("warehouse") == Connection(
        "warehouse",
        "postgres",
        host="db.example.com",
        login="etl",
        password=PASSWORD,
        schema="reports",
        port=5432,
        extra={"sslmode": "require"},
    )
    shown = invoke("connections", "get", "warehouse")
    assert shown.exit_code == 0
    lines = [line.split() for line in shown.stdout.splitlines()]
    assert ["│", "password", "│", "***", "│"] in lines
    assert ["│", "host", "│", "db.example.com", "│"] in lines
    data = json.loads(invoke("connections", "get", "warehouse", "-o", "json").stdout)
    assert data == {
        "conn_id": "warehouse",
        "conn_type": "postgres",
        "description": None,
        "host": "db.example.com",
        "port": 5432,
        "schema": "reports",
        "login": "etl",
        "has_password": True,
        "password": "***",
        "extra": {"sslmode": "require"},
    }
    for output in (shown.stdout, invoke("connections", "list").stdout):
        assert "p@ss" not in output and "warehouse" in output
    assert invoke("connections", "delete", "warehouse").stdout == "Deleted connection warehouse\n"
    result = invoke("connections", "get", "warehouse")
    assert (result.exit_code, result.stderr) == (1, "Error: no connection 'warehouse'\n")


def test_add_from_fields_hides_secret_extras(store: SqlStore) -> None:
    result = invoke(
        "connections", "add", "api", "--conn-type", "http", "--conn-host", "api.example.com",
        "--conn-login", "me", "--conn-password", "hunter2", "--conn-port", "8443",
        "--conn-schema", "v2", "--conn-description", "the reports API",
        "--conn-extra", '{"timeout": 30, "auth": {"client_secret": "abc123"}, "api_key": "k99"}',
        "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    assert added["extra"] == {"timeout": 30, "auth": {"client_secret": "***"}, "api_key": "***"}
    assert added["description"] == "the reports API"
    stored = store.get_connection("api")
    assert stored is not None
    assert (stored.password, stored.port, stored.extra["auth"]) == (
        "hunter2",
        8443,
        {"client_secret": "abc123"},
    )
    for args in (["get", "api"], ["get", "api", "-o", "json"], ["list"], ["list", "-o", "json"]):
        output = invoke("connections", *args).stdout
        assert "hunter2" not in output and "abc123" not in output and "k99" not in output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["w", "--conn-uri", "http://h", "--conn-host", "x", "--conn-port", "1"],
            2,
            "Error: --conn-uri cannot be combined with --conn-host, --conn-port\n",
        ),
        (["w", "--conn-host", "x"], 2, "give --conn-uri, or --conn-type with the other fields"),
        (["w", "--conn-uri", "http://h:99999"], 1, "port '99999' is not a number from 1"),
        (["w", "--conn-uri", "http://h?a=1&a=2"], 1, "the URI's query gives 'a' twice"),
        (
            ["w", "--conn-type", "nosuchdb"],
            1,
            "Error: connection 'w': unknown connection type 'nosuchdb'; known types: ",
        ),
        (["w", "--conn-uri", "nosuchdb://h"], 1, "unknown connection type 'nosuchdb'"),
        (["w", "--conn-type", "http", "--conn-extra", "[1]"], 2, "--conn-extra"),
        (["w", "--conn-type", "http", "--conn-port", "0"], 2, "--conn-port"),
        (["bad id", "--conn-type", "http"], 1, "conn_id 'bad id' is not valid"),
    ],
)
def test_bad_input_is_named_and_nothing_is_stored(
    store: SqlStore, args: list[str], code: int, message: str
) -> None:
    result = invoke("connections", "add", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert store.list_connections() == []


def test_a_type_is_normalised(store: SqlStore) -> None:
    assert invoke("connections", "add", "a", "--conn-type", "postgresql").exit_code == 0
    assert invoke("connections", "add", "b", "--conn-uri", "postgres://h").exit_code == 0
    assert {c.conn_type for c in store.list_connections()} == {"postgres"}


def test_every_command_has_help() -> None:
    for command in ("add", "get", "list", "delete", "test", "export", "import"):
        result = invoke("connections", command, "--help")
        assert result.exit_code == 0 and "Example:" in result.stdout, command
    assert "mode 0600" in invoke("connections", "export", "--help").stdout


# -- connections test --------------------------------------------------------------------------


@pytest.fixture
def probe_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection types whose hooks live in this folder (or nowhere yet)."""
    for conn_type, target in {
        "tcp_probe": "probe_hooks:TcpProbeHook",
        "leaky": "probe_hooks:LeakyHook",
        "future_db": "headwater.hooks.future_db:FutureDbHook",
        "needs_client": "hook_needing_a_package:ClientHook",
    }.items():
        monkeypatch.setitem(registry._BUILT_IN, conn_type, target)


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A real TCP server on 127.0.0.1 (the kernel completes connections to it)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield server.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed: nothing listens there any more


def test_a_hook_that_reaches_its_server(
    store: SqlStore, probe_types: None, listening_port: int
) -> None:
    store.set_connection(Connection("up", "tcp_probe", host="127.0.0.1", port=listening_port))
    result = invoke("connections", "test", "up")
    assert (result.exit_code, result.stdout) == (
        0,
        f"Connection up (tcp_probe) works: reached 127.0.0.1:{listening_port}\n",
    )
    assert json.loads(invoke("connections", "test", "up", "-o", "json").stdout) == {
        "conn_id": "up",
        "conn_type": "tcp_probe",
        "ok": True,
        "message": f"reached 127.0.0.1:{listening_port}",
    }


def test_a_hook_that_cannot_reach_its_server_exits_1(store: SqlStore, probe_types: None) -> None:
    port = _closed_port()
    store.set_connection(Connection("down", "tcp_probe", host="127.0.0.1", port=port))
    result = invoke("connections", "test", "down")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Connection down (tcp_probe) failed: cannot reach 127.0.0.1:{port}: Connection refused\n"
    )


def test_a_hook_that_raises_fails_with_the_password_masked(
    store: SqlStore, probe_types: None
) -> None:
    store.set_connection(Connection("leak", "leaky", password="s3cret-pw"))
    result = invoke("connections", "test", "leak", "-o", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["message"] == "RuntimeError: login failed for password ***"
    assert "s3cret-pw" not in result.output


def test_a_type_whose_hook_is_not_written_yet_says_so(store: SqlStore, probe_types: None) -> None:
    store.set_connection(Connection("soon", "future_db", host="h"))
    result = invoke("connections", "test", "soon")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no hook can test connections of type 'future_db' yet\n",
    )
    store.set_connection(Connection("plain", "generic", host="h"))
    result = invoke("connections", "test", "plain")
    assert result.stderr == "Error: no hook can test connections of type 'generic' yet\n"


def test_a_hook_whose_client_is_not_installed_names_it(store: SqlStore, probe_types: None) -> None:
    store.set_connection(Connection("c", "needs_client", host="h"))
    result = invoke("connections", "test", "c")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: the hook for connections of type 'needs_client' (hook_needing_a_package) needs "
        "the package 'headwater_test_no_such_client', which is not installed\n",
    )


def test_testing_an_unknown_connection_names_where_it_looked(store: SqlStore) -> None:
    result = invoke("connections", "test", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: connection 'nope' is not defined (looked in: ")
    assert result.stderr.endswith("metadata database)\n")


def test_an_unknown_type_lists_the_known_ones(store: SqlStore) -> None:
    result = invoke("connections", "add", "w", "--conn-type", "nosuchdb")
    known = result.stderr.rstrip("\n").partition("known types: ")[2].split(", ")
    assert {"postgres", "http", "sqlite", "generic"} <= set(known)
    assert known == sorted(known)


def test_a_connection_from_a_secrets_backend_is_tested_too(
    store: SqlStore, probe_types: None, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_CONN_FROM_ENV", f"tcp-probe://127.0.0.1:{listening_port}")
    result = invoke("connections", "test", "from_env")
    assert (result.exit_code, result.stdout) == (
        0,
        f"Connection from_env (tcp_probe) works: reached 127.0.0.1:{listening_port}\n",
    )
    assert store.list_connections() == []
