"""Connections: where and how tasks reach other systems (``conn.<id>`` in templates).

A password goes in (:class:`ConnectionIn`) but never comes out: :class:`ConnectionOut` says
whether there is one (its ``password`` is ``***`` when set), and hides the values of extras
whose key looks secret (:func:`headwater.masking.is_sensitive_name`). An edit
(:func:`update_connection`) that sends such a ``***`` back keeps the stored secret, so a
form that shows the masked connection can be saved unchanged. The one way out in clear is
:func:`export_connections`, which writes a file only its owner can read, for moving
connections between databases (:func:`import_connections` reads it back).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, field_validator

from headwater.db.models import ID_LENGTH
from headwater.operations._stored import NAME_PATTERN
from headwater.services._schema import Schema

_TEXT = 10_000
"""The longest host, login, schema, description or password the API accepts."""

if TYPE_CHECKING:
    from headwater.hooks.base import BaseHook
    from headwater.services.context import ServiceContext
    from headwater.store.base import Connection


class ConnectionIn(Schema):
    """A connection to add. ``schema`` is named ``schema_`` in Python (pydantic models
    have a ``schema`` method) and ``schema`` in JSON."""

    model_config = ConfigDict(populate_by_name=True)

    conn_id: str
    conn_type: str
    description: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = Field(default=None, repr=False)
    schema_: str | None = Field(default=None, alias="schema")
    port: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_connection(self) -> Connection:
        from headwater.store.base import Connection

        return Connection(
            conn_id=self.conn_id,
            conn_type=self.conn_type,
            description=self.description,
            host=self.host,
            login=self.login,
            password=self.password,
            schema=self.schema_,
            port=self.port,
            extra=dict(self.extra),
        )

    @classmethod
    def of(cls, connection: Connection) -> ConnectionIn:
        return cls(
            conn_id=connection.conn_id,
            conn_type=connection.conn_type,
            description=connection.description,
            host=connection.host,
            login=connection.login,
            password=connection.password,
            schema=connection.schema,
            port=connection.port,
            extra=connection.extra,
        )


class ConnectionCreate(ConnectionIn):
    """A connection to add through the API: each field checked, so an error names it."""

    conn_id: str = Field(min_length=1, max_length=ID_LENGTH, pattern=NAME_PATTERN)
    conn_type: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=_TEXT)
    host: str | None = Field(default=None, max_length=_TEXT)
    login: str | None = Field(default=None, max_length=_TEXT)
    password: str | None = Field(default=None, max_length=_TEXT, repr=False)
    schema_: str | None = Field(default=None, alias="schema", max_length=_TEXT)
    port: int | None = Field(default=None, ge=1, le=65535)
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("extra", mode="before")
    @classmethod
    def _no_extra(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("description", "host", "login", "password", "schema_", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None  # a form's empty field: the part is not set


class ConnectionChange(Schema):
    """What to change in a connection: the fields sent replace the stored ones (null
    empties a field); those left out are kept. A ``password`` of ``***`` keeps the stored
    one, and so does ``***`` as the value of an ``extra`` key that holds a secret."""

    model_config = ConfigDict(populate_by_name=True)

    conn_type: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=_TEXT)
    host: str | None = Field(default=None, max_length=_TEXT)
    login: str | None = Field(default=None, max_length=_TEXT)
    password: str | None = Field(default=None, max_length=_TEXT, repr=False)
    schema_: str | None = Field(default=None, alias="schema", max_length=_TEXT)
    port: int | None = Field(default=None, ge=1, le=65535)
    extra: dict[str, Any] | None = None


class ConnectionOut(Schema):
    """A connection as it may be shown: the password, when there is one, is ``***``."""

    model_config = ConfigDict(populate_by_name=True)

    conn_id: str
    conn_type: str
    description: str | None = None
    host: str | None
    port: int | None
    schema_: str | None = Field(alias="schema")
    login: str | None
    has_password: bool
    password: str | None = None
    """``***`` when the connection has a password, else None: never the password."""
    extra: dict[str, Any]
    """Values of keys that look secret (password, token, key...) are ``***``."""

    @classmethod
    def of(cls, connection: Connection) -> ConnectionOut:
        from headwater.masking import MASK, redact
        from headwater.operations import public_connection

        shown = public_connection(connection)
        # public_connection hides top-level keys; redact also hides nested ones
        # ({"auth": {"password": ...}}) and any value registered as a secret.
        shown["extra"] = redact(shown["extra"])
        shown["description"] = connection.description
        shown["password"] = MASK if connection.password else None
        return cls.model_validate(shown)


class ConnectionDeleted(Schema):
    conn_id: str
    deleted: bool = True


class ConnectionTested(Schema):
    """What ``connections test`` found: whether the hook reached the system, and its words
    (secrets masked)."""

    conn_id: str
    conn_type: str
    ok: bool
    message: str


class ConnectionsExported(Schema):
    path: str
    format: str
    count: int


class ConnectionsImported(Schema):
    path: str
    added: list[str]
    replaced: list[str]


def connection_from_uri(conn_id: str, uri: str) -> ConnectionIn:
    """A connection from a URI such as ``postgresql://user:pw@host:5432/db?sslmode=require``;
    invalid when it has no type or a bad part (the error names it)."""
    from headwater.operations import InvalidRequestError
    from headwater.secrets.connection import Connection, InvalidConnectionError

    try:
        return ConnectionIn.of(Connection.from_uri(conn_id, uri))
    except InvalidConnectionError as exc:
        raise InvalidRequestError(str(exc)) from None


def add_connection(ctx: ServiceContext, request: ConnectionIn) -> ConnectionOut:
    """Store a new connection; conflict when ``conn_id`` exists (delete it first), invalid
    for a bad id, type (the error lists the known ones), port or extra."""
    from headwater.operations import add_connection as add_connection_op

    connection = _checked(request.to_connection())
    return ConnectionOut.of(add_connection_op(ctx.store, connection))


def get_connection(ctx: ServiceContext, conn_id: str) -> ConnectionOut:
    """The stored connection ``conn_id`` (no password); not found when there is none."""
    from headwater.operations import NotFoundError

    connection = ctx.store.get_connection(conn_id)
    if connection is None:
        raise NotFoundError(f"no connection {conn_id!r}")
    return ConnectionOut.of(connection)


def list_connections(ctx: ServiceContext) -> list[ConnectionOut]:
    return [ConnectionOut.of(c) for c in ctx.store.list_connections()]


def update_connection(ctx: ServiceContext, conn_id: str, change: ConnectionChange) -> ConnectionOut:
    """Change the fields of ``conn_id`` that ``change`` sets (see :class:`ConnectionChange`);
    not found when there is no such connection, invalid as :func:`add_connection`."""
    import dataclasses

    from headwater.masking import MASK
    from headwater.operations import NotFoundError
    from headwater.operations import replace_connection as replace_connection_op

    stored = ctx.store.get_connection(conn_id)
    if stored is None:
        raise NotFoundError(f"no connection {conn_id!r}")
    sent = change.model_dump(include=change.model_fields_set)
    fields: dict[str, Any] = {}
    for name, value in sent.items():
        field = "schema" if name == "schema_" else name
        if field == "password":
            fields[field] = stored.password if value == MASK else (value or None)
        elif field == "extra":
            fields[field] = _kept_secrets(value or {}, stored.extra)
        elif field == "conn_type" and value is None:
            continue  # a connection always has a type
        elif field == "port":
            fields[field] = value
        else:
            fields[field] = value or None  # a form's empty field: the part is not set
    changed = _checked(dataclasses.replace(stored, **fields))
    return ConnectionOut.of(replace_connection_op(ctx.store, changed))


def _kept_secrets(sent: Any, stored: Any, depth: int = 0) -> Any:
    """``sent`` with each ``***`` that stands where ``stored`` has a value replaced by it
    (the mask a shown connection carried, sent back unchanged)."""
    from headwater.masking import MASK

    if not isinstance(sent, dict) or not isinstance(stored, dict) or depth > 32:
        return sent
    return {
        key: stored[key]
        if value == MASK and key in stored
        else _kept_secrets(value, stored.get(key), depth + 1)
        for key, value in sent.items()
    }


def connection_types() -> list[str]:
    """The connection types a hook serves, sorted: what a connection's type may be."""
    from headwater.hooks.registry import known_conn_types

    return sorted(known_conn_types())


def delete_connection(ctx: ServiceContext, conn_id: str) -> ConnectionDeleted:
    """Delete ``conn_id``; not found when there is none."""
    from headwater.operations import delete_connection as delete_connection_op

    delete_connection_op(ctx.store, conn_id)
    return ConnectionDeleted(conn_id=conn_id)


def test_connection(ctx: ServiceContext, conn_id: str) -> ConnectionTested:
    """Ask the hook of the connection's type to reach its system. The connection is looked
    up as tasks look it up (secrets backends, then this database). Invalid when no hook can
    test that type (yet); a hook that fails or raises gives ``ok=False`` and its message,
    with the connection's secrets masked."""
    from headwater.masking import mask_secret, redact_text
    from headwater.operations import NotFoundError
    from headwater.secrets import ConnectionNotFoundError, use_metastore
    from headwater.secrets import get_connection as look_up

    with use_metastore(ctx.store):
        try:
            connection = look_up(conn_id)
        except ConnectionNotFoundError as exc:
            raise NotFoundError(str(exc)) from None
        if connection.password:
            mask_secret(connection.password)
        mask_secret(connection.extra, name="extra")
        hook = _testing_hook(connection.conn_type)
        try:
            ok, message = hook(**{hook.conn_name_attr: conn_id}).test_connection()
        except Exception as exc:  # the hook's failure is the answer, not a crash
            ok, message = False, f"{type(exc).__name__}: {exc}"
    return ConnectionTested(
        conn_id=conn_id,
        conn_type=connection.conn_type,
        ok=bool(ok),
        message=redact_text(str(message)),
    )


def export_connections(ctx: ServiceContext, path: Path, fmt: str | None) -> ConnectionsExported:
    """Write every stored connection to ``path`` (JSON or YAML, by ``fmt`` or the extension)
    in Airflow's JSON form, keyed by id, passwords in clear: the file gets mode 0600."""
    from headwater.services.config_files import write_private

    data = {c.conn_id: c.to_json() for c in ctx.store.list_connections()}
    kind = write_private(path, data, fmt)
    return ConnectionsExported(path=str(path), format=kind, count=len(data))


def import_connections(
    ctx: ServiceContext, path: Path, fmt: str | None, *, overwrite: bool = False
) -> ConnectionsImported:
    """Add the connections of a file :func:`export_connections` wrote (or Airflow's: each
    id maps to its JSON form or a URI). Every entry is checked first and every bad one named
    with its id and field; existing ids are a conflict unless ``overwrite``. Then all are
    stored in one transaction, or none."""
    from headwater.operations import ConflictError, InvalidRequestError
    from headwater.services.config_files import bad_entries, read_object

    entries = read_object(path, fmt)
    connections: list[Connection] = []
    problems: list[str] = []
    for conn_id, entry in entries.items():
        try:
            connections.append(_checked(_from_entry(str(conn_id), entry)))
        except InvalidRequestError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidRequestError(bad_entries(path, "connection", problems))
    existing = {c.conn_id for c in ctx.store.list_connections()}
    clashes = sorted(c.conn_id for c in connections if c.conn_id in existing)
    if clashes and not overwrite:
        raise ConflictError(
            f"{path}: connection(s) {', '.join(clashes)} exist already; none imported "
            "(--overwrite replaces them)"
        )
    ctx.store.set_connections(connections)
    return ConnectionsImported(
        path=str(path),
        added=sorted(c.conn_id for c in connections if c.conn_id not in existing),
        replaced=clashes,
    )


def _from_entry(conn_id: str, entry: Any) -> Connection:
    from headwater.operations import InvalidRequestError
    from headwater.secrets.connection import Connection, InvalidConnectionError

    try:
        if isinstance(entry, str):
            return Connection.from_uri(conn_id, entry)
        return Connection.from_json(conn_id, entry)
    except InvalidConnectionError as exc:
        raise InvalidRequestError(str(exc)) from None


def _checked(connection: Connection) -> Connection:
    """``connection`` with a known, normalised type, a valid id, port and extra."""
    import dataclasses

    from headwater.exceptions import HeadwaterError
    from headwater.hooks.registry import check_conn_type
    from headwater.operations import InvalidRequestError
    from headwater.operations._stored import require_name
    from headwater.secrets.connection import normalise_conn_type
    from headwater.strict_json import dumps, require_finite

    require_name(connection.conn_id, "conn_id")
    try:
        conn_type = check_conn_type(normalise_conn_type(connection.conn_type))
    except HeadwaterError as exc:
        raise InvalidRequestError(f"connection {connection.conn_id!r}: {exc}") from None
    if connection.port is not None and not 0 < connection.port < 65536:
        raise InvalidRequestError(
            f"connection {connection.conn_id!r}: port {connection.port} is not 1-65535"
        )
    try:
        require_finite(connection.extra, f"connection {connection.conn_id!r}: extra")
        dumps(connection.extra)
    except HeadwaterError as exc:
        raise InvalidRequestError(str(exc)) from None
    except (TypeError, ValueError) as exc:  # a YAML date, say: JSON has none
        raise InvalidRequestError(
            f"connection {connection.conn_id!r}: extra is not JSON: {exc}"
        ) from None
    return dataclasses.replace(connection, conn_type=conn_type)


def _testing_hook(conn_type: str) -> type[BaseHook]:
    """The hook class that can test ``conn_type``; invalid, in plain words, when there is
    none (yet: its module may not be written or installed)."""
    from headwater.exceptions import HeadwaterError
    from headwater.hooks.base import BaseHook
    from headwater.hooks.registry import check_conn_type, hook_class, known_conn_types
    from headwater.operations import InvalidRequestError
    from headwater.secrets.connection import normalise_conn_type

    try:
        normalised = check_conn_type(normalise_conn_type(conn_type))
    except HeadwaterError as exc:
        raise InvalidRequestError(str(exc)) from None
    module = known_conn_types()[normalised].partition(":")[0]
    not_yet = InvalidRequestError(f"no hook can test connections of type {normalised!r} yet")
    try:
        hook = hook_class(normalised)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise not_yet from None
        raise InvalidRequestError(
            f"the hook for connections of type {normalised!r} ({module}) needs the package "
            f"{exc.name!r}, which is not installed"
        ) from None
    except AttributeError:
        raise not_yet from None
    if hook.test_connection is BaseHook.test_connection:
        raise not_yet
    return hook
