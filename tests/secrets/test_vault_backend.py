"""The vault backend through hvac, against ``vault_kv_server.VaultKvServer``: no Vault server
can be installed where these tests run, so a real HTTP server on 127.0.0.1 implements the KV
version 2 route hvac reads (``GET /v1/<mount>/data/<path>`` with the token in
``X-Vault-Token``; 403 for a wrong token, 404 for a missing secret) the way Vault answers it."""

from __future__ import annotations

import logging
import socket
import sys

import pytest
from vault_kv_server import VaultKvServer

from headwater.secrets import Connection, SecretsBackendError, SecretsContentError, VaultBackend

TOKEN = "s.test-token-123"


def _backend(vault: VaultKvServer, token: str = TOKEN, **kwargs: str) -> VaultBackend:
    return VaultBackend(vault.url, token, **kwargs)


def test_a_connection_from_conn_uri_or_fields(vault: VaultKvServer) -> None:
    vault.put("secret", "connections/warehouse", {"conn_uri": "postgresql://ann:pw@db:5432/sales"})
    vault.put(
        "secret",
        "connections/api",
        {"conn_type": "http", "host": "api.example.com", "password": "tok-9", "port": 443},
    )
    backend = _backend(vault)
    warehouse = backend.get_connection("warehouse")
    assert warehouse is not None
    assert (warehouse.conn_type, warehouse.login, warehouse.password) == ("postgresql", "ann", "pw")
    assert backend.get_connection("api") == Connection(
        conn_id="api", conn_type="http", host="api.example.com", password="tok-9", port=443
    )
    assert [r.path for r in vault.requests] == [
        "/v1/secret/data/connections/warehouse",
        "/v1/secret/data/connections/api",
    ]
    assert {r.token for r in vault.requests} == {TOKEN}


def test_variables_and_missing_secrets(vault: VaultKvServer) -> None:
    vault.put("kv", "team/vars/region", {"value": "eu"})
    backend = _backend(vault, mount_point="kv", variables_path="team/vars")
    assert backend.get_variable("region") == "eu"
    assert backend.get_variable("zone") is None  # 404: not here, the lookup goes on
    assert backend.get_connection("warehouse") is None
    assert vault.requests[-1].path == "/v1/kv/data/connections/warehouse"


def test_a_refused_token_is_an_error_that_never_shows_the_token(
    vault: VaultKvServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = _backend(vault, token="s.wrong-token-456")
    with pytest.raises(SecretsBackendError, match="Vault refused the token") as caught:
        backend.get_connection("warehouse")
    assert vault.requests[-1].token == "s.wrong-token-456"  # it was sent...
    shown = f"{caught.value} {backend!r} {caplog.text}"
    assert "s.wrong-token-456" not in shown  # ...and is nowhere else
    assert vault.url in str(caught.value)


def test_bad_secret_content_names_the_path(vault: VaultKvServer) -> None:
    vault.put("secret", "variables/region", {"val": "eu"})
    vault.put("secret", "connections/db", {"conn_uri": "not a uri"})
    backend = _backend(vault)
    with pytest.raises(
        SecretsContentError, match=r"secret/variables/region: .* under the key 'value'"
    ):
        backend.get_variable("region")
    with pytest.raises(SecretsContentError, match=r"secret/connections/db, key 'conn_uri': not a"):
        backend.get_connection("db")


def test_an_unreachable_vault_is_an_error_naming_it() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = VaultBackend(f"http://127.0.0.1:{port}", TOKEN, timeout_s=5)
    with pytest.raises(SecretsBackendError, match=rf"127\.0\.0\.1:{port}.*could not be reached"):
        backend.get_variable("region")


def test_settings_without_url_or_token_or_hvac_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SecretsBackendError, match=r"needs secrets\.vault_url"):
        VaultBackend("", TOKEN)
    with pytest.raises(SecretsBackendError, match=r"needs a token: set secrets\.vault_token"):
        VaultBackend("http://127.0.0.1:8200", "")
    monkeypatch.setitem(sys.modules, "hvac", None)  # as if not installed
    with pytest.raises(
        SecretsBackendError, match=r"needs the hvac package: pip install 'headwater\[vault\]'"
    ):
        VaultBackend("http://127.0.0.1:8200", TOKEN)
