"""``headwater rotate-fernet-key`` re-encrypts every encrypted value with the first key, in
one transaction; ``headwater generate-fernet-key`` makes a key."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography.fernet import Fernet
from sqlalchemy import text

from headwater.store.base import Connection
from headwater.store.sql import SqlStore
from stored_dags import invoke


def _tokens(store: SqlStore) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        connections = conn.execute(
            text("SELECT conn_id, password, extra FROM connections ORDER BY conn_id")
        ).all()
        variables = conn.execute(text("SELECT key, value FROM variables ORDER BY key")).all()
    return [tuple(row) for row in [*connections, *variables]]


def _fill(store: SqlStore) -> None:
    store.set_connection(Connection("db", "postgres", password="pw-db", extra={"k": "v"}))
    store.set_connection(Connection("bare", "http", host="h"))  # nothing secret to encrypt
    store.set_variable("token", "s3cret")


def test_rotation_moves_every_value_to_the_first_key(
    store: SqlStore, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    old, new = new_key(), new_key()
    use_keys(old)
    _fill(store)
    before = _tokens(store)
    use_keys(new, old)
    result = invoke("rotate-fernet-key")
    assert (result.exit_code, result.stdout) == (
        0,
        "Re-encrypted 2 row(s) with the first key (1 connection(s), 1 variable(s))\n",
    )
    after = _tokens(store)
    assert after != before
    rotated_password = next(row[1] for row in after if row[0] == "db")
    assert isinstance(rotated_password, str)
    assert Fernet(new.encode()).decrypt(rotated_password.encode()) == b"pw-db"
    use_keys(new)  # the old key is gone: everything still reads
    assert store.get_connection("db") == Connection(
        "db", "postgres", password="pw-db", extra={"k": "v"}
    )
    assert store.get_variable("token") == "s3cret"
    data = json.loads(invoke("rotate-fernet-key", "-o", "json").stdout)
    assert data == {"connections": 1, "variables": 1, "rows": 2}


def test_a_value_no_key_reads_stops_the_rotation_and_nothing_is_rewritten(
    store: SqlStore, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    first, second, unrelated = new_key(), new_key(), new_key()
    use_keys(first)
    store.set_connection(Connection("a_first", "http", password="one"))
    use_keys(second)
    store.set_variable("v_second", "two")
    before = _tokens(store)
    use_keys(unrelated, second)  # the first key is missing
    result = invoke("rotate-fernet-key")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: connection 'a_first' password was encrypted with a key that is not in "
        "secrets.fernet_key (HEADWATER__SECRETS__FERNET_KEY); add that key after the current "
        "one, then rotate\n"
    )
    assert _tokens(store) == before


def test_rotation_needs_a_key(store: SqlStore, use_keys: Callable[..., None]) -> None:
    use_keys()
    store.set_variable("plain", "x")
    result = invoke("rotate-fernet-key")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: secrets.fernet_key (HEADWATER__SECRETS__FERNET_KEY) is not set: put the new "
        "key first and the old ones after it, comma-separated, then rotate\n"
    )


def test_values_in_clear_are_left_as_they_are(
    store: SqlStore, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    use_keys()
    store.set_variable("plain", "x")
    use_keys(new_key())
    assert invoke("rotate-fernet-key").stdout.startswith("Re-encrypted 0 row(s)")
    assert _tokens(store) == [("plain", "x")]


def test_a_generated_key_is_a_fernet_key_and_new_each_time() -> None:
    first = invoke("generate-fernet-key")
    second = invoke("generate-fernet-key")
    assert first.exit_code == 0
    key = first.stdout.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert key != second.stdout.strip()
    assert "rotate-fernet-key" in invoke("--help").stdout
