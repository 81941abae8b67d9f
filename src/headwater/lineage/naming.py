"""OpenLineage dataset names: an asset URI, or a SQL connection's table, as (namespace, name).

Following OpenLineage's naming conventions (and Airflow's provider), the namespace names the
system and the name the dataset within it:

====================================  ===============================  ====================
Asset URI                             namespace                        name
====================================  ===============================  ====================
``s3://bucket/path/key``              ``s3://bucket``                  ``path/key``
``gs://bucket/key`` (``gcs://``)      ``gs://bucket``                  ``key``
``file:///data/orders.csv``           ``file``                         ``/data/orders.csv``
``postgres://host:5432/db/sch/tab``   ``postgres://host:5432``         ``db.sch.tab``
``postgres://host/db.sch.tab``        ``postgres://host:5432``         ``db.sch.tab``
``mysql://host/db/table``             ``mysql://host:3306``            ``db.table``
``bigquery://project/dataset/table``  ``bigquery``                     ``project.dataset.table``
``scheme://authority/path``           ``scheme://authority``           ``path``
``orders`` (no scheme)                ``[lineage] namespace``          ``orders``
====================================  ===============================  ====================

``postgresql://`` is written ``postgres://``; a missing port is the system's default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from headwater.secrets import Connection

DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
_SCHEMES = {"postgresql": "postgres", "gcs": "gs", "mariadb": "mysql"}
_TABLE_SCHEMES = {"postgres", "mysql"}
"""URI schemes whose path is a table's qualified name, written with dots."""


def asset_dataset(uri: str, default_namespace: str) -> tuple[str, str]:
    """The OpenLineage (namespace, name) of the asset ``uri`` (see the module's table)."""
    if "://" not in uri:
        return default_namespace, uri
    parts = urlsplit(uri)
    scheme = _SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    path = unquote(parts.path)
    if scheme == "file":
        return ("file" if not parts.netloc else f"file://{parts.netloc}"), path or "/"
    if scheme == "bigquery":
        return "bigquery", ".".join(p for p in [parts.netloc, *path.split("/")] if p)
    if scheme in _TABLE_SCHEMES:
        name = ".".join(p for p in path.split("/") if p)
        return f"{scheme}://{_host_port(parts.hostname or '', parts.port, scheme)}", name
    return f"{scheme}://{parts.netloc}", path.lstrip("/") or parts.netloc


def _host_port(host: str, port: int | None, scheme: str) -> str:
    port = port or DEFAULT_PORTS.get(scheme)
    return f"{host}:{port}" if port else host


def connection_namespace(connection: Connection) -> str:
    """The namespace of the tables a SQL connection reaches: ``postgres://host:port``,
    ``mysql://host:port``, ``sqlite://<absolute path of the file>``,
    ``<type>://host:port`` for other types."""
    kind = _SCHEMES.get(connection.conn_type, connection.conn_type)
    if kind == "sqlite":
        import os

        path = connection.host or connection.schema or ""
        return f"sqlite://{os.path.abspath(path) if path else ''}"
    return f"{kind}://{_host_port(connection.host or 'localhost', connection.port, kind)}"


def table_name(kind: str, database: str | None, schema: str | None, table: str) -> str:
    """A table's dataset name within its connection's namespace: ``database.schema.table``
    on PostgreSQL (schema ``public`` when the SQL names none), ``database.table`` on MySQL
    (the SQL's schema is the database), ``schema.table`` or ``table`` elsewhere."""
    kind = _SCHEMES.get(kind, kind)
    if kind == "postgres":
        return ".".join(p for p in (database, schema or "public", table) if p)
    if kind == "mysql":
        return ".".join(p for p in (schema or database, table) if p)
    return ".".join(p for p in (schema, table) if p)
