"""``headwater pools | variables | connections``: round trips through a real database."""

from __future__ import annotations

import json

import pytest

from headwater.engine.states import TaskInstanceState
from headwater.store.base import Connection
from headwater.store.sql import SqlStore
from stored_dags import invoke


def test_pools_round_trip(store: SqlStore) -> None:
    result = invoke("pools", "set", "warehouse", "4", "--description", "the reports db")
    assert (result.exit_code, result.stdout) == (0, "Pool warehouse has 4 slot(s)\n")
    data = json.loads(invoke("pools", "set", "warehouse", "6", "-o", "json").stdout)
    assert data == {"name": "warehouse", "slots": 6, "description": "the reports db"}
    pools = json.loads(invoke("pools", "list", "-o", "json").stdout)
    assert pools == [
        {
            "name": "default_pool",
            "slots": 128,
            "used": 0,
            "running": 0,
            "queued": 0,
            "open": 128,
            "description": "Default pool",
        },
        {
            "name": "warehouse",
            "slots": 6,
            "used": 0,
            "running": 0,
            "queued": 0,
            "open": 6,
            "description": "the reports db",
        },
    ]
    assert "warehouse" in invoke("pools", "list").stdout
    assert invoke("pools", "delete", "warehouse").stdout == "Deleted pool warehouse\n"
    assert store.get_pool("warehouse") is None


def test_pools_list_counts_queued_and_running_instances(store: SqlStore) -> None:
    invoke("dags", "trigger", "flaky", "--run-id", "r1")
    tis = store.get_task_instances("flaky", "r1")
    tis[0].state, tis[1].state = TaskInstanceState.RUNNING, TaskInstanceState.QUEUED
    store.save_task_instances(tis[:2])
    [default] = json.loads(invoke("pools", "list", "-o", "json").stdout)
    assert (default["running"], default["queued"], default["open"]) == (1, 1, 126)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["delete", "default_pool"], 1, "'default_pool' cannot be deleted"),
        (["delete", "nope"], 1, "Error: no pool 'nope'"),
        (["set", "p", "--", "-1"], 2, "'SLOTS': -1 is not in the range 0<=x<=1000000"),
        (["set", "p", "many"], 2, "'many' is not a valid integer"),
        (["set", "", "1"], 1, "Error: pool name '' is not valid: use 1 to 250 letters"),
    ],
)
def test_pool_errors(store: SqlStore, args: list[str], code: int, message: str) -> None:
    result = invoke("pools", *args)
    assert result.exit_code == code
    assert message in result.stderr


def test_variables_round_trip(store: SqlStore) -> None:
    assert invoke("variables", "set", "region", "eu", "--description", "where").exit_code == 0
    assert invoke("variables", "get", "region").stdout == "eu\n"
    invoke("variables", "set", "region", "us")  # the description is kept
    data = json.loads(invoke("variables", "list", "-o", "json").stdout)
    assert data == [{"key": "region", "value": "us", "description": "where"}]
    assert json.loads(invoke("variables", "get", "region", "-o", "json").stdout) == {
        "key": "region",
        "value": "us",
    }
    assert store.get_variable("region") == "us"
    assert invoke("variables", "delete", "region").stdout == "Deleted variable region\n"
    result = invoke("variables", "get", "region")
    assert (result.exit_code, result.stderr) == (1, "Error: no variable 'region'\n")
    result = invoke("variables", "delete", "region")
    assert (result.exit_code, result.stderr) == (1, "Error: no variable 'region'\n")
    assert invoke("variables", "list").stdout == "No variables.\n"


def test_connections_round_trip_without_printing_passwords(store: SqlStore) -> None:
    result = invoke(
        "connections", "add", "warehouse",
        "--uri", "postgresql://etl:s3cret@db.example.com:5432/reports?sslmode=require",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added connection warehouse (postgres)\n"
    result = invoke(
        "connections", "add", "api", "--type", "http", "--host", "api.example.com",
        "--password", "hunter2", "--extra", '{"version": 2, "api_token": "abc"}', "-o", "json",
    )  # fmt: skip
    assert "hunter2" not in result.stdout and "abc" not in result.stdout
    stored = store.get_connection("warehouse")
    assert stored == Connection(
        "warehouse",
        "postgres",
        host="db.example.com",
        login="etl",
        password="s3cret",
        schema="reports",
        port=5432,
        extra={"sslmode": "require"},
    )
    assert store.get_connection("api").password == "hunter2"  # type: ignore[union-attr]
    listed = invoke("connections", "list", "-o", "json").stdout
    table = invoke("connections", "list").stdout
    for text in (listed, table):
        assert "s3cret" not in text and "hunter2" not in text and '"abc"' not in text
    data = {c["conn_id"]: c for c in json.loads(listed)}
    assert data["warehouse"] == {
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
    assert data["api"]["extra"] == {"version": 2, "api_token": "***"}
    assert "warehouse" in table and "db.example.com" in table
    assert invoke("connections", "delete", "api").stdout == "Deleted connection api\n"
    assert store.get_connection("api") is None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["w", "--uri", "postgresql://h", "--host", "x"],
            2,
            "--conn-uri cannot be combined with --conn-host",
        ),
        (["w", "--host", "x"], 2, "give --conn-uri, or --conn-type with the other fields"),
        (["w", "--uri", "no-scheme"], 1, "has no type before ://; write it as type://"),
        (["w", "--uri", "http://h:notaport"], 1, "Error: connection 'w': invalid URI"),
        (["w", "--type", "http", "--extra", "[1]"], 2, "Invalid value for --conn-extra"),
        (["w", "--type", "http", "--port", "70000"], 2, "--port"),
    ],
)
def test_connection_errors(store: SqlStore, args: list[str], code: int, message: str) -> None:
    result = invoke("connections", "add", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert store.list_connections() == []


def test_an_existing_connection_is_not_replaced(store: SqlStore) -> None:
    invoke("connections", "add", "w", "--uri", "http://one.example.com")
    result = invoke("connections", "add", "w", "--uri", "http://two.example.com")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: connection 'w' already exists; delete it first to replace it\n"
    )
    assert store.get_connection("w").host == "one.example.com"  # type: ignore[union-attr]
    result = invoke("connections", "delete", "nope")
    assert (result.exit_code, result.stderr) == (1, "Error: no connection 'nope'\n")


@pytest.mark.parametrize("slots", ["99999999999999999999999999", "1000001", "-1"])
def test_pool_slots_out_of_range_are_a_usage_error(store: SqlStore, slots: str) -> None:
    result = invoke("pools", "set", "big", "--", slots)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for 'SLOTS': {slots} is not in the range 0<=x<=1000000."
    )
    assert store.get_pool("big") is None


@pytest.mark.parametrize(
    ("args", "field", "shown"),
    [
        (["connections", "add", "c\x1b[31mred", "--uri", "http://x"], "conn_id", "c\\x1b[31mred"),
        (["variables", "set", "v\x1b[2J", "x"], "variable key", "v\\x1b[2J"),
        (["pools", "set", "p\x1b[2J", "1"], "pool name", "p\\x1b[2J"),
    ],
)
def test_an_id_with_a_terminal_escape_sequence_is_refused_and_never_printed_raw(
    store: SqlStore, args: list[str], field: str, shown: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {field} '{shown}' is not valid: use 1 to 250 letters, digits, '_', '-' and '.'"
    ]
    assert "\x1b" not in result.output
    assert store.list_variables() == [] and store.list_connections() == []
    assert [p.name for p in store.list_pools()] == ["default_pool"]
