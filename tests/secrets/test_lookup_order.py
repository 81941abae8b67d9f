"""The lookup chain the settings build: backends in the order ``secrets.backends`` names
them, the metadata database (a real SQLite or PostgreSQL one here) always last, the first
answer winning; a missing id names every place looked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vault_kv_server import VaultKvServer

from headwater.secrets import (
    Connection,
    ConnectionNotFoundError,
    EnvironmentBackend,
    SecretsBackendError,
    VariableNotFoundError,
    configured_backends,
    get_connection,
    get_variable,
    use_metastore,
)
from headwater.store.sql import SqlStore

TOKEN = "s.test-token-123"


@pytest.fixture
def everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vault: VaultKvServer, db_url: str
) -> Iterator[SqlStore]:
    """The connection ``shared`` and the variable ``where`` in the environment, a file,
    Vault and the database, each place with its own host and value; the settings point the
    file and vault backends at them."""
    monkeypatch.setenv("HEADWATER_CONN_SHARED", "postgres://env-host:5432/d")
    monkeypatch.setenv("HEADWATER_VAR_WHERE", "env")
    (tmp_path / "conns.yaml").write_text("shared: postgres://file-host:5432/d\n")
    (tmp_path / "vars.json").write_text('{"where": "file"}')
    vault.put("secret", "connections/shared", {"conn_uri": "postgres://vault-host:5432/d"})
    vault.put("secret", "variables/where", {"value": "vault"})
    monkeypatch.setenv("HEADWATER__SECRETS__CONNECTIONS_FILE", str(tmp_path / "conns.yaml"))
    monkeypatch.setenv("HEADWATER__SECRETS__VARIABLES_FILE", str(tmp_path / "vars.json"))
    monkeypatch.setenv("HEADWATER__SECRETS__VAULT_URL", vault.url)
    monkeypatch.setenv("HEADWATER__SECRETS__VAULT_TOKEN", TOKEN)
    with SqlStore.from_url(db_url) as store:
        store.set_connection(Connection("shared", "postgres", host="db-host"))
        store.set_connection(Connection("only_db", "postgres", host="db-host"))
        store.set_variable("where", "db")
        with use_metastore(store):
            yield store


@pytest.mark.parametrize(
    ("backends", "host", "value"),
    [
        ("env,file,vault", "env-host", "env"),
        ("file, vault, env", "file-host", "file"),
        ("vault,env,file", "vault-host", "vault"),
    ],
)
def test_the_first_configured_backend_wins(
    everywhere: SqlStore, monkeypatch: pytest.MonkeyPatch, backends: str, host: str, value: str
) -> None:
    monkeypatch.setenv("HEADWATER__SECRETS__BACKENDS", backends)
    assert get_connection("shared").host == host
    assert get_variable("where") == value
    assert get_connection("only_db").host == "db-host"  # none of them has it: the database


def test_the_database_answers_what_no_backend_has(
    everywhere: SqlStore, monkeypatch: pytest.MonkeyPatch, vault: VaultKvServer
) -> None:
    monkeypatch.setenv("HEADWATER__SECRETS__BACKENDS", "vault")
    vault.secrets.clear()
    assert get_connection("shared").host == "db-host"
    assert get_variable("where") == "db"


def test_the_default_chain_is_the_environment_then_the_database(everywhere: SqlStore) -> None:
    chain = configured_backends()
    assert [type(b) for b in chain] == [EnvironmentBackend]
    assert get_connection("shared").host == "env-host"


def test_a_missing_id_names_every_place_looked(
    everywhere: SqlStore, monkeypatch: pytest.MonkeyPatch, vault: VaultKvServer
) -> None:
    monkeypatch.setenv("HEADWATER__SECRETS__BACKENDS", "env,file,vault")
    with pytest.raises(ConnectionNotFoundError) as caught:
        get_connection("nowhere")
    message = str(caught.value)
    assert message.startswith("connection 'nowhere' is not defined (looked in: environment")
    for place in ("HEADWATER_CONN_*", "conns.yaml", f"vault at {vault.url}", "metadata database"):
        assert place in message
    assert message.index("conns.yaml") < message.index("vault at") < message.index("metadata")
    with pytest.raises(VariableNotFoundError, match=r"variable 'nowhere' is not set \(looked in: "):
        get_variable("nowhere")


def test_without_a_store_the_chain_is_the_backends_alone() -> None:
    with pytest.raises(ConnectionNotFoundError) as caught:
        get_connection("nowhere")
    assert "metadata database" not in str(caught.value)
    assert "environment (HEADWATER_CONN_*, HEADWATER_VAR_*)" in str(caught.value)


def test_a_custom_backend_is_built_with_its_kwargs(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "custom_backend:TeamBackend"
    monkeypatch.setenv("HEADWATER__SECRETS__BACKENDS", f"{name},env")
    monkeypatch.setenv(
        "HEADWATER__SECRETS__BACKEND_KWARGS", f'{{"{name}": {{"host": "team-host", "port": 6432}}}}'
    )
    connection = get_connection("team_db")
    assert (connection.host, connection.port) == ("team-host", 6432)
    assert get_variable("team_name") == "team:team_name"
    assert configured_backends() is not configured_backends()  # fresh lists...
    assert configured_backends()[0] is configured_backends()[0]  # ...of the same backends


@pytest.mark.parametrize(
    ("backends", "kwargs", "message"),
    [
        (
            "env,valt",
            "",
            "secrets.backends (env HEADWATER__SECRETS__BACKENDS): unknown backend 'valt'",
        ),
        ("env,env", "", "backend 'env' is named twice"),
        ("file", "", "names 'file', but neither secrets.connections_file nor"),
        ("vault", "", "needs secrets.vault_url"),
        ("no_such_module_xyz:B", "", "cannot import 'no_such_module_xyz'"),
        ("custom_backend:Missing", "", "module 'custom_backend' has no 'Missing'"),
        ("custom_backend:NotABackend", "", "not a subclass of headwater.secrets.SecretsBackend"),
        ("custom_backend:TeamBackend", "", "cannot be built with the arguments"),
        (
            "custom_backend:TeamBackend",
            '{"custom_backend:TeamBackend": {"host": "h", "colour": "red"}}',
            "(colour, host): ",
        ),
        ("env", '{"custom_backend:TeamBackend": {}}', "is not a 'module:Class' backend in"),
        ("custom_backend:TeamBackend", '{"custom_backend:TeamBackend": 1}', "must be an object"),
        ("custom_backend:TeamBackend", "[1]", "must be a JSON object"),
    ],
)
def test_bad_settings_are_clear_errors_at_the_first_lookup(
    monkeypatch: pytest.MonkeyPatch, backends: str, kwargs: str, message: str
) -> None:
    monkeypatch.setenv("HEADWATER__SECRETS__BACKENDS", backends)
    monkeypatch.setenv("HEADWATER__SECRETS__BACKEND_KWARGS", kwargs)
    with pytest.raises(SecretsBackendError) as caught:
        get_connection("any")
    assert message in str(caught.value)
