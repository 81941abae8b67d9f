"""Connections, variables and where they are looked up: secrets backends in the order the
settings give, then the metadata database (docs/connections.md)."""

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection
from headwater.secrets.environment import EnvironmentBackend
from headwater.secrets.errors import SecretsBackendError, SecretsContentError
from headwater.secrets.local_file import LocalFileBackend
from headwater.secrets.lookup import (
    ConnectionNotFoundError,
    VariableNotFoundError,
    configured_backends,
    get_connection,
    get_variable,
    lookup_chain,
    use_backends,
    use_metastore,
)
from headwater.secrets.mapping import MappingBackend
from headwater.secrets.vault import VaultBackend

__all__ = [
    "Connection",
    "ConnectionNotFoundError",
    "EnvironmentBackend",
    "LocalFileBackend",
    "MappingBackend",
    "SecretsBackend",
    "SecretsBackendError",
    "SecretsContentError",
    "VariableNotFoundError",
    "VaultBackend",
    "configured_backends",
    "get_connection",
    "get_variable",
    "lookup_chain",
    "use_backends",
    "use_metastore",
]
