"""Passwords, connection extras and variables are encrypted in the database when a Fernet key
is set: the raw rows (and, on SQLite, the file's bytes) never hold them in clear."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from headwater.secrets.fernet import FernetKeyError, SecretCipher, UnreadableSecretError
from headwater.store.base import Connection
from headwater.store.memory import MemoryStore
from headwater.store.sql import SqlStore


def _secrets() -> tuple[str, str, str]:
    mark = uuid.uuid4().hex
    return f"pw-{mark}", f"tok-{mark}", f"var-{mark}"


def _store_secrets(store: SqlStore | MemoryStore) -> tuple[str, str, str]:
    password, token, value = _secrets()
    store.set_connection(
        Connection(
            "warehouse",
            "postgres",
            host="db",
            login="etl",
            password=password,
            extra={"api_token": token, "timeout": 5},
        )
    )
    store.set_variable("region_key", value, "kept secret")
    return password, token, value


def _raw(store: SqlStore) -> tuple[dict[str, object], dict[str, object]]:
    with store.engine.connect() as conn:
        connection = conn.execute(text("SELECT * FROM connections")).mappings().one()
        variable = conn.execute(text("SELECT * FROM variables")).mappings().one()
    return dict(connection), dict(variable)


def _database_bytes(store: SqlStore) -> bytes:
    path = Path(store.engine.url.database or "")
    store.engine.dispose()  # the last connection folds the WAL into the file
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()
    )


def test_secrets_are_encrypted_in_the_rows(
    store: SqlStore, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    use_keys(new_key())
    password, token, value = _store_secrets(store)
    connection, variable = _raw(store)
    assert connection["is_encrypted"] and connection["is_extra_encrypted"]
    assert variable["is_encrypted"]
    for stored in (connection["password"], connection["extra"], variable["value"]):
        assert isinstance(stored, str) and stored.startswith("gAAAA")
    raw = f"{connection} {variable}"
    assert password not in raw and token not in raw and value not in raw
    # The fields that are not secret stay readable (and queryable).
    assert (connection["host"], connection["login"], variable["description"]) == (
        "db",
        "etl",
        "kept secret",
    )
    # Callers see clear values.
    stored_connection = store.get_connection("warehouse")
    assert stored_connection is not None
    assert (stored_connection.password, stored_connection.extra) == (
        password,
        {"api_token": token, "timeout": 5},
    )
    assert store.get_variable("region_key") == value
    assert [(v.key, v.value) for v in store.list_variables()] == [("region_key", value)]
    assert [c.password for c in store.list_connections()] == [password]


def test_the_sqlite_file_never_holds_a_secret_in_clear(
    sqlite_url: str, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    use_keys(new_key())
    with SqlStore.from_url(sqlite_url) as store:
        secrets = _store_secrets(store)
        data = _database_bytes(store)
    assert b"warehouse" in data and b"kept secret" in data  # the grep does find text
    for secret in secrets:
        assert secret.encode() not in data


def test_without_a_key_the_sqlite_file_holds_them_in_clear(
    sqlite_url: str, use_keys: Callable[..., None]
) -> None:
    """The other side of the test above: the same grep finds the secrets when no key is set."""
    use_keys()
    with SqlStore.from_url(sqlite_url) as store:
        secrets = _store_secrets(store)
        data = _database_bytes(store)
    for secret in secrets:
        assert secret.encode() in data


def test_rows_written_without_a_key_stay_readable_once_one_is_set(
    store: SqlStore, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    use_keys()
    password, token, value = _store_secrets(store)
    connection, variable = _raw(store)
    assert token in str(connection["extra"])
    assert not connection["is_encrypted"] and not variable["is_encrypted"]
    assert connection["password"] == password
    use_keys(new_key())
    assert store.get_connection("warehouse").password == password  # type: ignore[union-attr]
    assert store.get_variable("region_key") == value
    store.set_variable("region_key", value)  # written again: now encrypted
    assert _raw(store)[1]["is_encrypted"]
    assert store.get_variable("region_key") == value


def test_a_value_without_its_key_is_an_error_naming_it_and_the_setting(
    store: SqlStore, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    use_keys(new_key())
    _store_secrets(store)
    use_keys()
    with pytest.raises(UnreadableSecretError) as caught:
        store.get_connection("warehouse")
    assert str(caught.value) == (
        "connection 'warehouse' password is stored encrypted, but no key is configured: set "
        "secrets.fernet_key (HEADWATER__SECRETS__FERNET_KEY) to the key it was encrypted with"
    )
    use_keys(new_key())  # another key: not the one it was encrypted with
    with pytest.raises(UnreadableSecretError) as caught:
        store.get_variable("region_key")
    assert str(caught.value) == (
        "variable 'region_key' was encrypted with a key that is not in secrets.fernet_key "
        "(HEADWATER__SECRETS__FERNET_KEY); add that key after the current one"
    )
    with pytest.raises(UnreadableSecretError, match="connection 'warehouse' password"):
        store.list_connections()


def test_no_key_is_said_once_loudly(
    store: SqlStore,
    use_keys: Callable[..., None],
    fresh_warning: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_keys()
    with caplog.at_level(logging.WARNING, logger="headwater.secrets.fernet"):
        _store_secrets(store)
        store.set_variable("another", "value")
    records = [r for r in caplog.records if r.name == "headwater.secrets.fernet"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert [r.getMessage() for r in records] == [
        "secrets.fernet_key is not set: connection passwords, extras and variables are stored "
        "in the metadata database in clear. Make a key with `headwater generate-fernet-key` "
        "and set HEADWATER__SECRETS__FERNET_KEY (or [secrets] fernet_key in headwater.toml)"
    ]


def test_with_a_key_nothing_is_said(
    store: SqlStore,
    use_keys: Callable[..., None],
    new_key: Callable[[], str],
    fresh_warning: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_keys(new_key())
    with caplog.at_level(logging.WARNING, logger="headwater.secrets.fernet"):
        _store_secrets(store)
    assert [r for r in caplog.records if r.name == "headwater.secrets.fernet"] == []


def test_the_memory_store_keeps_values_as_given(use_keys: Callable[..., None]) -> None:
    use_keys()
    store = MemoryStore()
    password, token, value = _store_secrets(store)
    connection = store.get_connection("warehouse")
    assert connection is not None
    assert (connection.password, connection.extra) == (password, {"api_token": token, "timeout": 5})
    assert store.get_variable("region_key") == value


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("not-a-key", "key 1 of 1 is not a Fernet key"),
        ("{good},short", "key 2 of 2 is not a Fernet key"),
        ("{good},", "key 2 of 2 is not a Fernet key"),
        ("ключ", "key 1 of 1 is not a Fernet key"),
    ],
)
def test_a_bad_key_setting_names_the_key_by_position_never_by_value(
    setting: str, message: str, new_key: Callable[[], str]
) -> None:
    with pytest.raises(FernetKeyError) as caught:
        SecretCipher.from_setting(setting.replace("{good}", new_key()))
    assert message in str(caught.value)
    assert "secrets.fernet_key (HEADWATER__SECRETS__FERNET_KEY)" in str(caught.value)
    assert "short" not in str(caught.value) and "not-a-key" not in str(caught.value)


def test_too_many_keys_are_refused(new_key: Callable[[], str]) -> None:
    with pytest.raises(FernetKeyError, match="lists 101 keys; at most 100"):
        SecretCipher.from_setting(",".join(new_key() for _ in range(101)))


def test_a_bad_key_setting_stops_a_write(store: SqlStore, use_keys: Callable[..., None]) -> None:
    use_keys("not-a-key")
    with pytest.raises(FernetKeyError, match="key 1 of 1 is not a Fernet key"):
        store.set_variable("v", "x")
    use_keys()
    assert store.list_variables() == []
