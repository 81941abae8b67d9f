"""Pools, variables and connections through the operations (what the REST API will call)."""

from __future__ import annotations

import pytest

from headwater.operations import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    add_connection,
    connection_from_uri,
    delete_connection,
    delete_pool,
    delete_variable,
    get_variable,
    public_connection,
    set_pool,
    set_variable,
)
from headwater.store.base import Connection
from headwater.store.sql import SqlStore


def test_pools(sql_store: SqlStore) -> None:
    assert set_pool(sql_store, "db", 2, "the database").description == "the database"
    pool = set_pool(sql_store, "db", 5)
    assert (pool.slots, pool.description) == (5, "the database")
    with pytest.raises(InvalidRequestError, match="pool 'db': slots must be a whole number"):
        set_pool(sql_store, "db", -2)
    with pytest.raises(InvalidRequestError, match="pool name"):
        set_pool(sql_store, "x" * 251, 1)
    delete_pool(sql_store, "db")
    with pytest.raises(NotFoundError, match="no pool 'db'"):
        delete_pool(sql_store, "db")
    with pytest.raises(ConflictError, match="cannot be deleted"):
        delete_pool(sql_store, "default_pool")


def test_variables(sql_store: SqlStore) -> None:
    row = set_variable(sql_store, "k", '{"a": 1}', "json text")
    assert (row.key, row.value, row.description) == ("k", '{"a": 1}', "json text")
    assert get_variable(sql_store, "k") == '{"a": 1}'
    assert set_variable(sql_store, "k", "2").description == "json text"
    delete_variable(sql_store, "k")
    with pytest.raises(NotFoundError, match="no variable 'k'"):
        get_variable(sql_store, "k")
    with pytest.raises(InvalidRequestError, match="variable key ' ' is not valid"):
        set_variable(sql_store, " ", "v")


def test_connections(sql_store: SqlStore) -> None:
    conn = connection_from_uri("pg", "postgresql://u:p%40ss@h:5432/db")
    assert (conn.login, conn.password, conn.port, conn.schema) == ("u", "p@ss", 5432, "db")
    add_connection(sql_store, conn)
    assert sql_store.get_connection("pg") == conn
    with pytest.raises(ConflictError, match="'pg' already exists"):
        add_connection(sql_store, conn)
    with pytest.raises(InvalidRequestError, match="conn_type is required"):
        add_connection(sql_store, Connection("bare"))
    with pytest.raises(InvalidRequestError, match="port 0 is not 1-65535"):
        add_connection(sql_store, Connection("p0", "http", port=0))
    with pytest.raises(InvalidRequestError, match=r"URI '\*\*\*@host' has no type"):
        connection_from_uri("x", "user:secret@host")
    shown = public_connection(Connection("c", "http", password="pw", extra={"Secret_Key": "s"}))
    assert shown["has_password"] is True and shown["extra"] == {"Secret_Key": "***"}
    assert "pw" not in str(shown)
    delete_connection(sql_store, "pg")
    with pytest.raises(NotFoundError, match="no connection 'pg'"):
        delete_connection(sql_store, "pg")


@pytest.mark.parametrize("slots", [-1, 1_000_001, 10**26, 2**31, True, 2.0])
def test_pool_slots_outside_0_to_a_million_are_refused_and_nothing_is_stored(
    sql_store: SqlStore, slots: object
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        set_pool(sql_store, "db", slots)  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"pool 'db': slots must be a whole number from 0 to 1,000,000, not {slots!r}"
    )
    assert sql_store.get_pool("db") is None
    assert set_pool(sql_store, "db", 1_000_000).slots == 1_000_000  # the bound itself is fine


NAMES = [
    "c\x1b[31mred",  # a colour escape sequence
    "v\x1b[2J",  # clears the screen
    "bell\x07",
    "new\nline",
    "tab\tbed",
    "two words",
    "caf\u00e9",
    "",
    "x" * 251,
]


@pytest.mark.parametrize("name", NAMES)
def test_pool_names_variable_keys_and_conn_ids_are_letters_digits_and_few_signs(
    sql_store: SqlStore, name: str
) -> None:
    """Each is refused before anything is stored, with one message naming the field and
    what it allows, the name escaped (repr), never raw."""
    attempts = [
        ("pool name", lambda: set_pool(sql_store, name, 1)),
        ("variable key", lambda: set_variable(sql_store, name, "v")),
        ("conn_id", lambda: connection_from_uri(name, "http://host")),
        ("conn_id", lambda: add_connection(sql_store, Connection(name, "http"))),
    ]
    for field, attempt in attempts:
        with pytest.raises(InvalidRequestError) as refused:
            attempt()
        message = str(refused.value)
        assert message.startswith(f"{field} '") and message.endswith(
            "is not valid: use 1 to 250 letters, digits, '_', '-' and '.'"
        )
        assert message.isprintable()
    assert [p.name for p in sql_store.list_pools()] == ["default_pool"]
    assert sql_store.list_variables() == [] and sql_store.list_connections() == []


def test_names_may_use_letters_digits_underscores_dashes_and_dots(sql_store: SqlStore) -> None:
    name = "Team-1.reports_db"
    assert set_pool(sql_store, name, 1).name == name
    assert set_variable(sql_store, name, "v").key == name
    assert add_connection(sql_store, connection_from_uri(name, "http://h")).conn_id == name
    assert set_variable(sql_store, "x" * 250, "v").key == "x" * 250


def test_a_shown_connection_hides_secret_keys_at_any_depth() -> None:
    extra = {"headers": {"X-Api-Key": "k1", "Accept": "json"}, "opts": [{"credential": "c"}]}
    shown = public_connection(Connection("h", "http", extra=extra))
    assert shown["extra"] == {
        "headers": {"X-Api-Key": "***", "Accept": "json"},
        "opts": [{"credential": "***"}],
    }
