"""MySqlHook: MySQL and MariaDB through PyMySQL (the ``mysql`` extra).

The connection's host, port, login, password and schema (the database) are used as they are;
``extra`` may set ``charset`` (default ``utf8mb4``) and the PyMySQL options listed in
``EXTRA_OPTIONS`` (timeouts, TLS files, ``init_command``...); any other key is refused by name.
An upsert is ``INSERT ... ON DUPLICATE KEY UPDATE``: MySQL finds the row by any primary key
or unique index, so ``replace_index`` only says which columns not to update.
"""

from __future__ import annotations

from typing import Any, ClassVar

from headwater.hooks.sql import DbApiHook, SqlHookError

EXTRA_OPTIONS = frozenset(
    {
        "charset",
        "connect_timeout",
        "read_timeout",
        "write_timeout",
        "init_command",
        "sql_mode",
        "unix_socket",
        "local_infile",
        "ssl_ca",
        "ssl_cert",
        "ssl_key",
        "ssl_verify_cert",
        "ssl_verify_identity",
    }
)
"""The ``extra`` keys passed to ``pymysql.connect``."""

_INT_OPTIONS = frozenset({"connect_timeout", "read_timeout", "write_timeout"})
_BOOL_OPTIONS = frozenset({"local_infile", "ssl_verify_cert", "ssl_verify_identity"})


class MySqlHook(DbApiHook):
    """A MySQL or MariaDB database. Example: ``MySqlHook("shop").get_first("SELECT NOW()")``."""

    conn_type: ClassVar[str] = "mysql"
    hook_name: ClassVar[str] = "MySQL"
    conn_name_attr: ClassVar[str] = "mysql_conn_id"
    default_conn_name: ClassVar[str] = "mysql_default"
    quote_char: ClassVar[str] = "`"
    backslash_escapes: ClassVar[bool] = True
    upsert_needs_keys: ClassVar[bool] = False

    def connect_kwargs(self) -> dict[str, Any]:
        """What ``pymysql.connect`` gets."""
        conn = self.connection
        kwargs: dict[str, Any] = {
            "host": conn.host or "localhost",
            "port": conn.port or 3306,
            "user": conn.login,
            "password": conn.password or "",
            "database": self.schema or conn.schema,
            "charset": "utf8mb4",
        }
        for key, value in (conn.extra or {}).items():
            if key not in EXTRA_OPTIONS:
                raise SqlHookError(
                    f"connection {self.conn_id!r}: extra field {key!r} is not a MySQL option; "
                    f"known: {', '.join(sorted(EXTRA_OPTIONS))}"
                )
            kwargs[key] = _option(self.conn_id, key, value)
        return {k: v for k, v in kwargs.items() if v is not None}

    def get_conn(self) -> Any:
        try:
            import pymysql
        except ImportError:
            raise SqlHookError(
                "MySqlHook needs PyMySQL, which is not installed: pip install 'headwater[mysql]'"
            ) from None
        try:
            return pymysql.connect(**self.connect_kwargs())
        except pymysql.err.OperationalError as exc:
            raise SqlHookError(f"cannot connect to {self._describe()}: {exc}") from exc

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        conn.autocommit(autocommit)

    def get_uri(self) -> str:
        from sqlalchemy.engine import URL

        kwargs = self.connect_kwargs()
        return URL.create(
            "mysql+pymysql",
            username=kwargs.get("user"),
            password=kwargs.get("password") or None,
            host=kwargs.get("host"),
            port=kwargs.get("port"),
            database=kwargs.get("database"),
            query={"charset": kwargs["charset"]},
        ).render_as_string(hide_password=False)

    def upsert_clause(self, keys: list[str], others: list[str]) -> str:
        # VALUES(col) works on MariaDB and MySQL (where 8.0.20+ prefers a row alias, which
        # MariaDB lacks). With only key columns, a no-op update keeps the row as it is.
        updates = others or keys[:1]
        if not updates:
            raise SqlHookError("an upsert needs target_fields")
        return "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in updates)


def _option(conn_id: str, key: str, value: Any) -> Any:
    if key in _INT_OPTIONS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SqlHookError(
                f"connection {conn_id!r}: extra field {key!r} must be a number of seconds, "
                f"got {value!r}"
            ) from None
    if key in _BOOL_OPTIONS and isinstance(value, str):
        if value.lower() not in {"true", "false", "1", "0"}:
            raise SqlHookError(
                f"connection {conn_id!r}: extra field {key!r} must be true or false, got {value!r}"
            )
        return value.lower() in {"true", "1"}
    return value
