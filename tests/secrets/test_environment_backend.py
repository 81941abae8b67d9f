"""The environment backend, and the forms a connection may take in any backend: a URI, a JSON
object in text, an object of fields; bad ones are refused naming where, never the value."""

from __future__ import annotations

import pytest

from headwater.secrets import Connection, EnvironmentBackend, SecretsContentError
from headwater.secrets.connection_values import connection_from_value


def test_a_uri_in_the_environment_is_a_connection() -> None:
    backend = EnvironmentBackend(
        {"HEADWATER_CONN_WAREHOUSE": "postgresql://ann:p%40ss@db.local:5433/sales?sslmode=require"}
    )
    assert backend.get_connection("warehouse") == Connection(
        conn_id="warehouse",
        conn_type="postgres",  # the scheme postgresql is the type postgres
        host="db.local",
        login="ann",
        password="p@ss",
        schema="sales",
        port=5433,
        extra={"sslmode": "require"},
    )
    assert backend.get_connection("other") is None


def test_a_json_object_in_the_environment_is_a_connection() -> None:
    backend = EnvironmentBackend(
        {
            "HEADWATER_CONN_API": '{"conn_type": "http", "host": "api.example.com", '
            '"port": "8443", "password": "tok-999", "extra": {"timeout": 10}}'
        }
    )
    connection = backend.get_connection("api")
    assert connection == Connection(
        conn_id="api",
        conn_type="http",
        host="api.example.com",
        password="tok-999",
        port=8443,
        extra={"timeout": 10},
    )


def test_the_id_and_key_are_upper_cased_and_variables_are_text() -> None:
    backend = EnvironmentBackend(
        {"HEADWATER_VAR_REGION": "eu", "HEADWATER_CONN_MY_DB": "sqlite:///x"}
    )
    assert backend.get_variable("region") == "eu"
    assert backend.get_variable("Region") == "eu"
    assert backend.get_variable("zone") is None
    assert backend.get_connection("my_db") is not None


def test_the_process_environment_is_read_at_each_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = EnvironmentBackend()
    assert backend.get_variable("late") is None
    monkeypatch.setenv("HEADWATER_VAR_LATE", "now set")
    assert backend.get_variable("late") == "now set"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3cr3t-not-a-uri", "not a connection URI"),
        ("postgresql://ann:s3cr3t@db:notaport/x", "the port is not a number"),
        ('{"conn_type": "http", "password": "s3cr3t"', "not valid JSON"),
        ('{"host": "db", "password": "s3cr3t"}', "conn_type is required"),
        ('{"conn_type": "http", "pasword": "s3cr3t"}', "unknown field(s) pasword"),
        ('{"conn_type": "http", "port": 70000, "password": "s3cr3t"}', "from 1 to 65535"),
        (
            '{"conn_type": "http", "extra": [1], "password": "s3cr3t"}',
            "extra must be a JSON object",
        ),
        ('{"conn_type": "http", "host": 5, "password": "s3cr3t"}', "host must be text"),
        ('["s3cr3t"]', "nor a JSON object"),
    ],
)
def test_a_bad_connection_names_the_variable_and_never_shows_the_secret(
    value: str, message: str
) -> None:
    backend = EnvironmentBackend({"HEADWATER_CONN_DB": value})
    with pytest.raises(SecretsContentError) as caught:
        backend.get_connection("db")
    assert str(caught.value).startswith("env HEADWATER_CONN_DB")
    assert message in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_extra_may_be_json_text_and_description_is_accepted() -> None:
    connection = connection_from_value(
        "c",
        {"conn_type": "fs", "extra": '{"path": "/data"}', "description": "the landing area"},
        "test",
    )
    assert connection.extra == {"path": "/data"}
    assert connection.conn_type == "fs"
