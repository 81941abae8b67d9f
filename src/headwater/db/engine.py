"""Creating the SQLAlchemy engine for a metadata database URL.

Two databases are supported:

* **SQLite** (``sqlite:///path/to/headwater.db``), the embedded default. The scheduler, the
  worker processes (which write XComs and attempt rows) and the CLI may all write to the
  same file at once, so every connection is set up for that:

  - ``journal_mode=WAL``: readers never block the writer, nor the writer the readers;
  - ``synchronous=NORMAL``: safe with WAL (a power cut may lose the last commits, never
    corrupt the file) and much faster than ``FULL``;
  - ``foreign_keys=ON``: SQLite ignores foreign keys (and so ``ON DELETE CASCADE``) unless
    asked;
  - a 30 second busy timeout: a writer waits for the lock instead of failing at once;
  - write transactions start with ``BEGIN IMMEDIATE``. A plain (deferred) ``BEGIN`` takes
    the write lock only at the first write; if another process wrote in between, SQLite
    cannot wait (the transaction's snapshot is stale) and fails with "database is locked"
    whatever the busy timeout. Taking the lock at ``BEGIN`` makes writers queue instead.
    pysqlite's own transaction handling is turned off and SQLAlchemy's ``begin`` event
    emits the ``BEGIN``, the recipe of SQLAlchemy's SQLite documentation. Connections
    marked with :data:`READ_ONLY` begin with a plain ``BEGIN`` so that reads never wait.

* **PostgreSQL** (``postgresql+psycopg://user:password@host:5432/db``) through psycopg 3,
  with ``pool_pre_ping`` so that a connection the server dropped is replaced, not used.
  ``postgresql://`` and ``postgres://`` mean the same (psycopg 3 is the driver installed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError

from headwater import strict_json
from headwater.db.errors import DatabaseError

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for another process's write to end before failing."""

READ_ONLY = "headwater_read_only"
"""Execution option for a connection that only reads: on SQLite it begins with a plain
``BEGIN`` (a consistent snapshot, no write lock) instead of ``BEGIN IMMEDIATE``::

    with engine.connect().execution_options(**{READ_ONLY: True}) as conn: ...
"""

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``, set up for headwater's use of that database.

    Example::

        engine = create_db_engine("sqlite:////home/me/headwater/headwater.db")

    The folder of a SQLite file is created if missing. ``kwargs`` go to
    :func:`sqlalchemy.create_engine` (``echo=True`` to log SQL). An unsupported scheme
    raises :class:`~headwater.db.DatabaseError` naming it.
    """
    parsed = _parse(url)
    # Values in JSON columns that JSON cannot hold (a datetime in a run's conf, say) are
    # stored as their str() rather than failing the write. NaN and infinity are refused on
    # both databases alike: PostgreSQL rejects them, and SQLite would store text that is
    # not JSON. Inputs are checked before they get here; this is the last guard.
    kwargs.setdefault("json_serializer", _json_dumps)
    if parsed.drivername in _SQLITE_SCHEMES:
        return _sqlite_engine(parsed, **kwargs)
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise DatabaseError(
        f"unsupported database URL scheme {parsed.drivername!r}: use "
        "'sqlite:///path/to/headwater.db' or 'postgresql+psycopg://user@host:5432/dbname'"
    )


def _json_dumps(value: Any) -> str:
    return strict_json.dumps(value, default=str)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        # The message names only the scheme: the rest of the URL may hold a password.
        scheme = url.split("://", 1)[0] if "://" in url else url[:20]
        raise DatabaseError(
            f"cannot parse the database URL (scheme {scheme!r}); expected "
            "'sqlite:///path/to/headwater.db' or 'postgresql+psycopg://user@host:5432/dbname'"
        ) from None


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Turn off pysqlite's own BEGIN (it begins lazily, before the first write only);
        # _on_begin below emits ours. COMMIT and ROLLBACK still go through pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
