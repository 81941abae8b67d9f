"""Reading a connection from what a secrets backend holds: a URI
(``postgresql://ann:pw@db:5432/sales``), a JSON object in text, or an object already parsed
(a YAML mapping, a Vault secret) with the connection's fields.

Every backend reads connections here, so every one accepts the same forms and refuses bad
ones the same way: with an error naming where the value came from (a variable, a file and
key, a Vault path) and the field at fault, never the value itself, which may hold a password.

The object form (Airflow's JSON connection form)::

    {"conn_type": "postgres", "host": "db", "port": 5432, "login": "ann",
     "password": "pw", "schema": "sales", "extra": {"sslmode": "require"}}

``extra`` is an object or a JSON object in text; every field but ``conn_type`` may be left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from headwater.secrets.connection import JSON_FIELDS, Connection, InvalidConnectionError
from headwater.secrets.errors import SecretsContentError
from headwater.strict_json import InvalidJsonError, loads_object


def connection_from_value(conn_id: str, value: Any, source: str) -> Connection:
    """The connection ``conn_id`` from ``value``: a URI, a JSON object in text, or a mapping.

    ``source`` says where the value came from (``env HEADWATER_CONN_DB``,
    ``conns.yaml, key 'db' (line 3)``), for the error raised when it is not a connection.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = loads_object(text, source)
            except InvalidJsonError as exc:
                reason = f"{exc}; a connection is a URI or a JSON object"
                raise SecretsContentError(reason) from None
        else:
            return connection_from_uri(conn_id, text, source)
    if not isinstance(value, Mapping):
        raise SecretsContentError(
            f"{source}: a connection is a URI string or an object of fields "
            f"({', '.join(JSON_FIELDS)}), not {type(value).__name__}"
        )
    return connection_from_fields(conn_id, value, source)


def connection_from_uri(conn_id: str, uri: str, source: str) -> Connection:
    """The connection ``conn_id`` from ``uri``; the error never shows the URI (a password)."""
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    if not scheme:
        raise SecretsContentError(
            f"{source}: not a connection URI (expected type://login:password@host:port/schema) "
            "nor a JSON object"
        )
    try:
        return Connection.from_uri(conn_id, uri)
    except ValueError as exc:
        # urllib's message names the port, not the password; still, say it in our words.
        reason = "the port is not a number from 0 to 65535" if "port" in str(exc) else "malformed"
        raise SecretsContentError(f"{source}: connection URI is {reason}") from None


def connection_from_fields(conn_id: str, fields: Mapping[Any, Any], source: str) -> Connection:
    """The connection ``conn_id`` from an object of its fields (see the module docstring):
    :meth:`Connection.from_json`, its error prefixed with where the object came from."""
    try:
        return Connection.from_json(conn_id, fields)
    except InvalidConnectionError as exc:
        raise SecretsContentError(f"{source}: {exc}") from None
