"""A connection: where and how to reach an external system (``conn.<id>`` in templates).

A connection is written three ways, and each converts to the others without losing a part:

* fields (:class:`Connection`'s attributes);
* a URI, ``type://login:password@host:port/schema?key=value`` (:meth:`Connection.from_uri`,
  :meth:`Connection.get_uri`), each part percent-encoded, so a password holding ``@:/?#%``
  survives; the query string is ``extra`` (each value kept as the text given, JSON or not), or
  ``__extra__=<JSON object>`` when some value of ``extra`` is not text;
* Airflow's JSON form, ``{"conn_type": ..., "host": ..., "extra": {...}}``
  (:meth:`Connection.from_json`, :meth:`Connection.to_json`), which secrets backends and
  ``connections import`` read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from headwater.exceptions import HeadwaterError

SCHEME_ALIASES = {"postgresql": "postgres"}
"""URI schemes that name another connection type (SQLAlchemy's ``postgresql`` is ``postgres``)."""

EXTRA_AS_JSON = "__extra__"
"""The query parameter that carries the whole ``extra`` as a JSON object."""

JSON_FIELDS = ("conn_type", "description", "host", "login", "password", "schema", "port", "extra")
"""The keys of a connection's JSON form (Airflow's)."""


class InvalidConnectionError(HeadwaterError, ValueError):
    """A URI or JSON form that does not describe a connection; the message names the part."""


def normalise_conn_type(conn_type: str) -> str:
    """``postgresql`` is ``postgres``, ``google-cloud`` is ``google_cloud`` (as in Airflow)."""
    normalised = conn_type.strip().replace("-", "_")
    return SCHEME_ALIASES.get(normalised, normalised)


@dataclass
class Connection:
    """Where and how to reach an external system; ``conn.<id>`` in templates.

    ``extra`` is a JSON object of the settings the fields do not cover (``sslmode``,
    ``timeout``...). Empty parts are ``None``.

    Example::

        Connection.from_uri("db", "postgresql://etl:p%40ss@db:5432/reports?sslmode=require")
        # Connection(conn_id='db', conn_type='postgres', login='etl', password='p@ss', ...)
    """

    conn_id: str
    conn_type: str = ""
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.extra, dict):
            raise InvalidConnectionError(
                f"connection {self.conn_id!r}: extra must be a JSON object, "
                f"not {type(self.extra).__name__}"
            )

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """``extra`` as a dict (a copy), as Airflow's hooks read it."""
        return json.loads(json.dumps(self.extra))

    # -- URI -----------------------------------------------------------------------------------

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """``postgresql://user:pw@host:5432/db?sslmode=require`` -> Connection; an
        :class:`InvalidConnectionError` names the part that is wrong."""
        scheme, sep, rest = uri.partition("://")
        if not sep or not scheme:
            raise InvalidConnectionError(
                f"connection {conn_id!r}: the URI has no type before ://; "
                "write it as type://login:password@host:port/schema"
            )
        if "#" in rest:
            raise InvalidConnectionError(
                f"connection {conn_id!r}: the URI has a '#' fragment; write a '#' in a "
                "password or value as %23"
            )
        rest, _, query = rest.partition("?")
        netloc, slash, path = rest.partition("/")
        userinfo, at, hostport = netloc.rpartition("@")
        login = password = None
        if at:
            raw_login, colon, raw_password = userinfo.partition(":")
            login = unquote(raw_login) or None
            password = unquote(raw_password) if colon and raw_password else None
        host, port = _split_host_port(conn_id, hostport)
        return cls(
            conn_id=conn_id,
            conn_type=normalise_conn_type(unquote(scheme)),
            host=host,
            login=login,
            password=password,
            schema=unquote(path) if slash and path else None,
            port=port,
            extra=_extra_from_query(conn_id, query),
        )

    def get_uri(self) -> str:
        """The connection as one URI that :meth:`from_uri` reads back to the same fields
        (not ``description``, which a URI has no place for)."""
        scheme = self.conn_type.replace("_", "-")
        auth = ""
        if self.login or self.password:
            auth = _quote(self.login or "")
            if self.password:
                auth += ":" + _quote(self.password)
            auth += "@"
        host = _quote(self.host or "")
        if self.host and ":" in self.host:  # IPv6: [::1], as URIs write it
            host = f"[{quote(self.host, safe=':')}]"
        port = f":{self.port}" if self.port is not None else ""
        path = f"/{_quote(self.schema)}" if self.schema else ""
        query = ""
        if self.extra:
            if all(isinstance(value, str) for value in self.extra.values()):
                query = "?" + urlencode(self.extra, quote_via=quote, safe="")
            else:
                text = json.dumps(self.extra, separators=(",", ":"))
                query = f"?{EXTRA_AS_JSON}={_quote(text)}"
        return f"{scheme}://{auth}{host}{port}{path}{query}"

    # -- JSON ----------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, conn_id: str, value: str | Mapping[str, Any]) -> Connection:
        """A connection from Airflow's JSON form (text or an already parsed object):
        ``{"conn_type": "postgres", "host": "db", "port": 5432, "extra": {...}}``; ``extra``
        may also be a JSON object written as text. An unknown key or a value of the wrong
        type is an :class:`InvalidConnectionError` naming it."""
        where = f"connection {conn_id!r}"
        if isinstance(value, str):
            from headwater.strict_json import InvalidJsonError, loads

            try:
                value = loads(value, where)
            except InvalidJsonError as exc:
                raise InvalidConnectionError(str(exc)) from None
        if not isinstance(value, Mapping):
            raise InvalidConnectionError(
                f"{where}: must be a JSON object of {', '.join(JSON_FIELDS)}, "
                f"not {type(value).__name__}"
            )
        unknown = sorted(str(key) for key in value if key not in JSON_FIELDS)
        if unknown:
            raise InvalidConnectionError(
                f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(JSON_FIELDS)}"
            )
        text: dict[str, str | None] = {}
        for name in ("conn_type", "description", "host", "login", "password", "schema"):
            item = value.get(name)
            if item is not None and not isinstance(item, str):
                raise InvalidConnectionError(
                    f"{where}: {name} must be text, not {type(item).__name__}"
                )
            text[name] = item or None
        if not text["conn_type"]:
            raise InvalidConnectionError(f"{where}: conn_type is required")
        return cls(
            conn_id=conn_id,
            conn_type=normalise_conn_type(text["conn_type"] or ""),
            description=text["description"],
            host=text["host"],
            login=text["login"],
            password=text["password"],
            schema=text["schema"],
            port=_json_port(where, value.get("port")),
            extra=_json_extra(where, value.get("extra")),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form :meth:`from_json` reads back (secrets in clear: for files and
        backends, never for display)."""
        return {
            "conn_type": self.conn_type,
            "description": self.description,
            "host": self.host,
            "login": self.login,
            "password": self.password,
            "schema": self.schema,
            "port": self.port,
            "extra": self.extra_dejson,
        }


def _quote(text: str) -> str:
    return quote(text, safe="")


def _split_host_port(conn_id: str, hostport: str) -> tuple[str | None, int | None]:
    if hostport.startswith("["):  # [::1]:5432
        inside, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise InvalidConnectionError(
                f"connection {conn_id!r}: host {hostport!r} is not a valid [IPv6] address"
            )
        host, raw_port = inside, after[1:]
    else:
        host, _, raw_port = hostport.partition(":")
    port = None
    if raw_port:
        if not raw_port.isascii() or not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise InvalidConnectionError(
                f"connection {conn_id!r}: invalid URI: port {raw_port!r} is not a number "
                "from 1 to 65535"
            )
        port = int(raw_port)
    return unquote(host) or None, port


def _extra_from_query(conn_id: str, query: str) -> dict[str, Any]:
    if not query:
        return {}
    pairs = parse_qsl(query, keep_blank_values=True)
    keys = [key for key, _ in pairs]
    if EXTRA_AS_JSON in keys:
        if len(pairs) != 1:
            raise InvalidConnectionError(
                f"connection {conn_id!r}: the URI's query has {EXTRA_AS_JSON} and other "
                f"parameters; put every extra in {EXTRA_AS_JSON}'s JSON object"
            )
        from headwater.strict_json import InvalidJsonError, loads_object

        try:
            return loads_object(pairs[0][1], f"connection {conn_id!r}: {EXTRA_AS_JSON}")
        except InvalidJsonError as exc:
            raise InvalidConnectionError(str(exc)) from None
    extra: dict[str, Any] = {}
    for key, item in pairs:
        if key in extra:
            raise InvalidConnectionError(
                f"connection {conn_id!r}: the URI's query gives {key!r} twice"
            )
        extra[key] = item
    return extra


def _json_port(where: str, port: Any) -> int | None:
    if port is None or port == "":
        return None
    if isinstance(port, str) and port.isascii() and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise InvalidConnectionError(f"{where}: port {port!r} is not a number from 1 to 65535")
    return port


def _json_extra(where: str, extra: Any) -> dict[str, Any]:
    if extra is None or extra == "":
        return {}
    if isinstance(extra, str):
        from headwater.strict_json import InvalidJsonError, loads_object

        try:
            return loads_object(extra, f"{where}: extra")
        except InvalidJsonError as exc:
            raise InvalidConnectionError(str(exc)) from None
    if not isinstance(extra, Mapping):
        raise InvalidConnectionError(
            f"{where}: extra must be a JSON object, not {type(extra).__name__}"
        )
    return dict(extra)
