"""The environment as a secrets backend: ``HEADWATER_CONN_<CONN_ID>`` holds a connection (a URI
or a JSON object) and ``HEADWATER_VAR_<KEY>`` a variable, the id or key upper-cased.

It is the default backend (``secrets.backends`` empty): a container or a CI job can hand a
task its connections without a database. The environment is read at each lookup, so a
variable set after the process started is seen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection
from headwater.secrets.connection_values import connection_from_value

CONNECTION_PREFIX = "HEADWATER_CONN_"
VARIABLE_PREFIX = "HEADWATER_VAR_"


class EnvironmentBackend(SecretsBackend):
    """Connections and variables from environment variables (the process's by default).

    Example: ``HEADWATER_CONN_WAREHOUSE=postgresql://ann:pw@db:5432/sales`` is the connection
    ``warehouse``; ``HEADWATER_VAR_REGION=eu`` is the variable ``region``.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def _get(self, name: str) -> str | None:
        environ = os.environ if self._environ is None else self._environ
        return environ.get(name)

    def get_connection(self, conn_id: str) -> Connection | None:
        name = connection_variable(conn_id)
        value = self._get(name)
        if value is None:
            return None
        return connection_from_value(conn_id, value, f"env {name}")

    def get_variable(self, key: str) -> str | None:
        return self._get(variable_variable(key))

    def __repr__(self) -> str:
        return f"environment ({CONNECTION_PREFIX}*, {VARIABLE_PREFIX}*)"


def connection_variable(conn_id: str) -> str:
    """The environment variable of connection ``conn_id``: ``HEADWATER_CONN_MY_DB``."""
    return CONNECTION_PREFIX + conn_id.upper()


def variable_variable(key: str) -> str:
    """The environment variable of variable ``key``: ``HEADWATER_VAR_REGION``."""
    return VARIABLE_PREFIX + key.upper()
