"""A connection keeps every part through a URI and through Airflow's JSON form."""

from __future__ import annotations

import json
import random
import string

import pytest

from headwater.secrets.connection import Connection, InvalidConnectionError

SPECIALS = "@:/?#%&=+ ;,[]{}\"'\\~!$*()|^`<>é€"
"""Characters that mean something in a URI (and a few that are not ASCII)."""
ALPHABET = string.ascii_letters + string.digits + SPECIALS


def _text(rng: random.Random) -> str | None:
    if rng.random() < 0.2:
        return None
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))


def _extra(rng: random.Random) -> dict[str, object]:
    kind = rng.random()
    if kind < 0.3:
        return {}
    keys = {"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))) for _ in range(3)}
    if kind < 0.7:  # text values: the query string itself
        return {key: _text(rng) or "" for key in keys}
    # values JSON keeps but a query string cannot: carried as __extra__
    values: list[object] = [1, 2.5, True, None, ["a", 1], {"nested": "x@y"}, "text"]
    return {key: rng.choice(values) for key in keys}


def _connection(seed: int) -> Connection:
    rng = random.Random(seed)
    return Connection(
        conn_id=f"c{seed}",
        conn_type=rng.choice(["postgres", "http", "google_cloud_platform", "fs", "mysql"]),
        host=_text(rng),
        login=_text(rng),
        password=_text(rng),
        schema=_text(rng),
        port=rng.choice([None, 1, 5432, 65535]),
        extra=_extra(rng),
    )


@pytest.mark.parametrize("seed", range(400))
def test_every_part_survives_a_uri_round_trip(seed: int) -> None:
    connection = _connection(seed)
    uri = connection.get_uri()
    assert Connection.from_uri(connection.conn_id, uri) == connection, uri
    assert uri.count("#") == 0 and uri.count("@") <= 1


@pytest.mark.parametrize("seed", range(100))
def test_every_part_survives_a_json_round_trip(seed: int) -> None:
    connection = _connection(seed)
    connection.description = _text(random.Random(seed))
    as_text = json.dumps(connection.to_json())
    assert Connection.from_json(connection.conn_id, as_text) == connection
    assert Connection.from_json(connection.conn_id, json.loads(as_text)) == connection


def test_a_password_with_every_uri_delimiter_round_trips() -> None:
    connection = Connection("db", "postgres", host="db.example.com", login="etl", port=5432)
    connection.password = "p@ss:w/o?r#d%25&="
    uri = connection.get_uri()
    assert uri == "postgres://etl:p%40ss%3Aw%2Fo%3Fr%23d%2525%26%3D@db.example.com:5432"
    assert Connection.from_uri("db", uri).password == "p@ss:w/o?r#d%25&="


def test_the_parts_of_a_written_uri() -> None:
    connection = Connection.from_uri(
        "warehouse",
        "postgresql://etl:s%40cret@db.example.com:5432/reports"
        "?sslmode=require&options=%7B%22a%22%3A%201%7D&empty=",
    )
    assert connection == Connection(
        conn_id="warehouse",
        conn_type="postgres",
        host="db.example.com",
        login="etl",
        password="s@cret",
        schema="reports",
        port=5432,
        # A value that is JSON stays the text it was given.
        extra={"sslmode": "require", "options": '{"a": 1}', "empty": ""},
    )
    assert connection.extra_dejson == connection.extra
    assert connection.extra_dejson is not connection.extra


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://h", "postgres"),
        ("postgres://h", "postgres"),
        ("google-cloud-platform://", "google_cloud_platform"),
        ("http://h", "http"),
    ],
)
def test_the_scheme_names_the_type(uri: str, expected: str) -> None:
    connection = Connection.from_uri("c", uri)
    assert connection.conn_type == expected
    assert Connection.from_uri("c", connection.get_uri()).conn_type == expected


def test_extra_that_is_not_all_text_travels_as_one_json_object() -> None:
    connection = Connection("api", "http", host="api", extra={"timeout": 30, "verify": False})
    uri = connection.get_uri()
    assert uri == "http://api?__extra__=%7B%22timeout%22%3A30%2C%22verify%22%3Afalse%7D"
    assert Connection.from_uri("api", uri).extra == {"timeout": 30, "verify": False}


def test_parts_that_are_absent_are_none() -> None:
    assert Connection.from_uri("c", "fs://") == Connection("c", "fs")
    only_password = Connection("c", "http", password="pw", host="h")
    assert only_password.get_uri() == "http://:pw@h"
    assert Connection.from_uri("c", only_password.get_uri()) == only_password
    ipv6 = Connection.from_uri("c", "postgres://[::1]:5432/db")
    assert (ipv6.host, ipv6.port, ipv6.schema) == ("::1", 5432, "db")
    assert Connection.from_uri("c", ipv6.get_uri()) == ipv6
    assert ipv6.get_uri() == "postgres://[::1]:5432/db"  # in brackets, as other tools read it


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("no-scheme", "connection 'bad': the URI has no type before ://"),
        ("://h", "connection 'bad': the URI has no type before ://"),
        ("http://h:notaport", "port 'notaport' is not a number from 1 to 65535"),
        ("http://h:0", "port '0' is not a number from 1 to 65535"),
        ("http://h:70000", "port '70000' is not a number from 1 to 65535"),
        ("http://u:p#w@h", "has a '#' fragment; write a '#' in a password or value as %23"),
        ("http://h?a=1&a=2", "the URI's query gives 'a' twice"),
        ("http://h?__extra__=%7B%7D&a=1", "has __extra__ and other parameters"),
        ("http://h?__extra__=%5B1%5D", "__extra__"),
        ("http://[::1", "host '[::1' is not a valid [IPv6] address"),
    ],
)
def test_a_bad_uri_names_the_part(uri: str, message: str) -> None:
    with pytest.raises(InvalidConnectionError, match="connection 'bad'") as caught:
        Connection.from_uri("bad", uri)
    assert message in str(caught.value)


def test_airflows_json_form_is_read() -> None:
    connection = Connection.from_json(
        "api",
        {
            "conn_type": "http",
            "description": "the reports API",
            "host": "api.example.com",
            "login": "me",
            "password": "pw",
            "port": "8443",
            "extra": '{"timeout": 30}',
        },
    )
    assert connection == Connection(
        "api",
        "http",
        host="api.example.com",
        login="me",
        password="pw",
        port=8443,
        extra={"timeout": 30},
        description="the reports API",
    )
    assert Connection.from_json("pg", '{"conn_type": "postgresql"}').conn_type == "postgres"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"host": "h"}, "connection 'x': conn_type is required"),
        ({"conn_type": "http", "hots": "h"}, "connection 'x': unknown field(s) hots; known:"),
        ({"conn_type": "http", "port": "eighty"}, "port 'eighty' is not a number from 1"),
        ({"conn_type": "http", "port": True}, "port True is not a number from 1"),
        ({"conn_type": "http", "extra": [1]}, "extra must be a JSON object, not list"),
        ({"conn_type": "http", "extra": "{nope"}, "connection 'x': extra"),
        ({"conn_type": 5}, "conn_type must be text, not int"),
        ("[1]", "must be a JSON object of conn_type"),
        ('{"conn_type": "http", "conn_type": "fs"}', "given twice"),
    ],
)
def test_a_bad_json_form_names_the_field(value: object, message: str) -> None:
    with pytest.raises(InvalidConnectionError) as caught:
        Connection.from_json("x", value)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_extra_must_be_an_object() -> None:
    with pytest.raises(InvalidConnectionError, match="connection 'c': extra must be a JSON"):
        Connection("c", "http", extra=["a"])  # type: ignore[arg-type]


def test_the_password_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(Connection("c", "http", password="hunter2"))
