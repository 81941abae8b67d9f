"""HashiCorp Vault (its KV version 2 secrets engine) as a secrets backend, through ``hvac``
(the ``vault`` extra: ``pip install 'headwater[vault]'``).

A connection ``warehouse`` is the secret ``<connections_path>/warehouse`` of the engine
mounted at ``mount_point``; its data is ``{"conn_uri": "postgresql://..."}`` or the
connection's fields (``conn_type``, ``host``, ...). A variable ``region`` is the secret
``<variables_path>/region`` with data ``{"value": "eu"}``. A missing secret (404) is "not
here", so the lookup goes on to the next backend; any other failure (Vault unreachable, the
token refused) is an error: silently falling back to an older copy elsewhere would hide it.

The token goes to Vault in a request header and nowhere else: not in errors, not in logs,
not in ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection
from headwater.secrets.connection_values import connection_from_fields, connection_from_uri
from headwater.secrets.errors import SecretsBackendError, SecretsContentError


class VaultBackend(SecretsBackend):
    """Connections and variables from Vault's KV v2 engine.

    Example: ``VaultBackend("https://vault.internal:8200", token, mount_point="secret")``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        mount_point: str = "secret",
        connections_path: str = "connections",
        variables_path: str = "variables",
        timeout_s: float = 10.0,
    ) -> None:
        try:
            import hvac
        except ImportError:
            raise SecretsBackendError(
                "the vault secrets backend needs the hvac package: pip install 'headwater[vault]'"
            ) from None
        if not url:
            raise SecretsBackendError("the vault secrets backend needs secrets.vault_url")
        if not token:
            raise SecretsBackendError(
                "the vault secrets backend needs a token: set secrets.vault_token (better in "
                "the environment, HEADWATER__SECRETS__VAULT_TOKEN, than in a file)"
            )
        self.url = url.rstrip("/")
        self.mount_point = mount_point.strip("/")
        self.connections_path = connections_path.strip("/")
        self.variables_path = variables_path.strip("/")
        self._client = hvac.Client(url=self.url, token=token, timeout=timeout_s)

    def get_connection(self, conn_id: str) -> Connection | None:
        path = f"{self.connections_path}/{conn_id}"
        data = self._read(path)
        if data is None:
            return None
        where = f"vault {self.mount_point}/{path}"
        if "conn_uri" in data:
            uri = data["conn_uri"]
            if not isinstance(uri, str):
                raise SecretsContentError(f"{where}: 'conn_uri' must be text")
            return connection_from_uri(conn_id, uri, f"{where}, key 'conn_uri'")
        return connection_from_fields(conn_id, data, where)

    def get_variable(self, key: str) -> str | None:
        path = f"{self.variables_path}/{key}"
        data = self._read(path)
        if data is None:
            return None
        value = data.get("value")
        if not isinstance(value, str):
            raise SecretsContentError(
                f"vault {self.mount_point}/{path}: a variable's secret holds its text under "
                "the key 'value'"
            )
        return value

    def _read(self, path: str) -> Mapping[str, Any] | None:
        """The data of the latest version of secret ``path``, or None if there is none."""
        import hvac.exceptions
        import requests

        where = f"vault at {self.url}, secret {self.mount_point}/{path}"
        try:
            response = self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.mount_point, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise SecretsBackendError(
                f"{where}: Vault refused the token (permission denied); check "
                "secrets.vault_token and its policy"
            ) from None
        except hvac.exceptions.VaultError as exc:
            raise SecretsBackendError(f"{where}: {exc.args[0] or type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise SecretsBackendError(
                f"{where}: Vault could not be reached ({type(exc).__name__})"
            ) from None
        data = response.get("data", {}).get("data") if isinstance(response, dict) else None
        if not isinstance(data, dict):
            raise SecretsContentError(f"{where}: the answer holds no secret data")
        return data

    def __repr__(self) -> str:
        return f"vault at {self.url} ({self.mount_point}/{self.connections_path}, " + (
            f"{self.mount_point}/{self.variables_path})"
        )
