"""Connections, variables and where they are looked up: secrets backends in the order the
settings give, then the metadata database (docs/connections.md)."""

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection
from headwater.secrets.lookup import (
    ConnectionNotFoundError,
    VariableNotFoundError,
    get_connection,
    get_variable,
    use_metastore,
)

__all__ = [
    "Connection",
    "ConnectionNotFoundError",
    "SecretsBackend",
    "VariableNotFoundError",
    "get_connection",
    "get_variable",
    "use_metastore",
]
