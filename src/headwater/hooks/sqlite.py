"""SqliteHook: a SQLite database file through the standard library's ``sqlite3``.

The connection's host (or, if it has none, its schema) is the file's path; a missing file is
created, as ``sqlite3`` does, but a missing folder is an error. ``:memory:`` is a new, empty
database for each ``get_conn()``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from headwater.hooks.sql import DbApiHook, SqlHookError


class SqliteHook(DbApiHook):
    """A SQLite file. Example: ``SqliteHook("local_db").run("VACUUM", autocommit=True)``."""

    conn_type: ClassVar[str] = "sqlite"
    hook_name: ClassVar[str] = "SQLite"
    conn_name_attr: ClassVar[str] = "sqlite_conn_id"
    default_conn_name: ClassVar[str] = "sqlite_default"
    placeholder: ClassVar[str] = "?"

    @property
    def path(self) -> str:
        """The database file named by the connection."""
        conn = self.connection
        path = self.schema or conn.host or conn.schema
        if not path:
            raise SqlHookError(
                f"connection {self.conn_id!r} names no SQLite file: set its host to the path"
            )
        return path

    def get_conn(self) -> Any:
        import sqlite3

        path = self.path
        if path != ":memory:":
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise SqlHookError(
                    f"connection {self.conn_id!r}: the folder of SQLite file {path!r} "
                    "does not exist"
                )
        try:
            return sqlite3.connect(path)
        except sqlite3.Error as exc:
            raise SqlHookError(
                f"cannot open SQLite file {path!r} ({self.conn_id!r}): {exc}"
            ) from exc

    def test_connection(self) -> tuple[bool, str]:
        """Like every SQL hook's, but a file that does not exist fails the test: opening it
        would create an empty database, and a mistyped path would look like a working one."""
        path = self.path
        if path != ":memory:" and not os.path.isfile(path):
            return False, f"SQLite file {path!r} does not exist"
        return super().test_connection()

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        # sqlite3 opens a transaction before a write unless isolation_level is None.
        conn.isolation_level = None if autocommit else ""

    def get_uri(self) -> str:
        path = self.path
        return "sqlite://" if path == ":memory:" else f"sqlite:///{os.path.abspath(path)}"

    def _describe(self) -> str:
        return f"connection {self.conn_id!r} (sqlite file {self.path!r})"
